"""The recipe's small tables: ``[source]``, ``[encode]``, ``[select]``, ``[split]``,
``[occlude]`` and ``[ray]`` (the stage tables live with their stages)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..config import Table
from ..occlude.look import PhotoLook
from ..vocab import InFront


class SourceTable(Table):
    """How the input is listed, guarded and sharded."""

    table_name = "source"

    shard_size: int | Literal["auto"] = Field(
        "auto",
        description=(
            "target images per shard (whole identities), or `auto`: from the number of images "
            "only, about 1024 shards of 32 to 1000 images (docs/pipeline.md)"
        ),
    )
    max_pixels: int = Field(40_000_000, gt=0, description="decompression-bomb guard (pixels)")
    min_side: int = Field(1, gt=0, description="reject images smaller than this (pixels)")
    limit_identities: int | None = Field(
        None, gt=0, description="only the first N identities by name (for trials)"
    )


    @field_validator("shard_size", mode="before")
    @classmethod
    def _size_or_auto(cls, v: object) -> object:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            return v
        raise ValueError('must be a number of images > 0, or "auto"')


class EncodeTable(Table):
    """How dataset images are stored."""

    table_name = "encode"

    image_format: Literal["jpeg", "png", "webp"] = Field(
        "jpeg", description="encoding of the images in the shards"
    )
    quality: int = Field(95, ge=1, le=100, description="JPEG/WebP quality")


class SelectTable(Table):
    """Select-N: uniform without replacement, seeded (docs/augmentation.md)."""

    table_name = "select"

    per_identity: int | None = Field(
        None, gt=0, description="images kept per identity (N); absent: all"
    )
    min_images: int = Field(1, gt=0, description="drop identities with fewer images")
    max_identities: int | None = Field(
        None, gt=0, description="keep at most this many identities (a seeded choice)"
    )


class SplitTable(Table):
    """Train/validation split, seeded."""

    table_name = "split"

    val_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="fraction held out for validation"
    )
    by: Literal["identity", "image"] = Field(
        "identity", description="split unit: `identity` puts whole identities in `val`"
    )


class OccludeTable(Table):
    """Where occluder assets come from (docs/occluders.md)."""

    table_name = "occlude"

    asset_dirs: list[str] | None = Field(
        None, description="folders of your own occluder assets, searched after the bundled ones"
    )
    look: PhotoLook = Field(
        default_factory=PhotoLook,
        description="how masks take on the photograph: light, colour, blur, noise, JPEG "
        "(docs/occluders.md, \"Photographic look\")",
    )
    in_front: InFront = Field(
        "keep",
        description="a hand or another object (microphone, ball, dark hair) in front of the lower "
        "face: `keep` draws the mask behind it (one hiding most of the lower face, or a merely dark "
        "object whose outline is unsure, rejects the face), `skip` rejects the face, `off` does "
        "not look (docs/occluders.md, \"In front of the face\", \"Other objects in front\")",
    )


class RayTable(Table):
    """The Ray cluster (the CLI flags override these)."""

    table_name = "ray"

    num_cpus: int | None = Field(None, gt=0, description="CPUs for the embedded Ray")
    num_gpus: int | None = Field(None, ge=0, description="GPUs for the embedded Ray")
    address: str | None = Field(
        None, description="join an existing cluster (`auto` or `ray://host:port`)"
    )
