"""Configuration of identity hygiene (the recipe's ``[hygiene]`` table, key for key).

Thresholds left absent take the values calibrated for the embedder (:data:`DEFAULTS`, see
docs/cleaning.md "Identity hygiene"); :meth:`HygieneConfig.limits` resolves them once.
:func:`cache_key` covers every key that decides the output (not ``device`` nor ``memory_mb``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from ..config import Device, Table
from ..embed.factory import EMBEDDERS
from ..errors import RecipeError

Action = Literal["report", "remove", "merge"]
Search = Literal["auto", "exact", "probe"]
#: The embedders a ``[hygiene]`` table may name (the ``[embed]`` table's choices).
EmbedderName = Literal["auto", "facenet-vggface2", "dlib-resnet", "dlib-resnet-native"]
ACTIONS: tuple[str, ...] = get_args(Action)
SEARCHES: tuple[str, ...] = get_args(Search)
assert set(get_args(EmbedderName)) == set(EMBEDDERS), "keep EmbedderName in step with EMBEDDERS"

#: A cosine similarity between unit vectors.
_Cosine = Annotated[float, Field(ge=-1.0, le=1.0)]

#: embedder -> calibrated thresholds (cosines; ``phash_bits`` a Hamming distance of 64 bits).
#: Calibrated on half of lfw-dev's identities with planted cases (benchmarks/calibrate_hygiene.py).
DEFAULTS: dict[str, dict[str, float]] = {
    "dlib-resnet": {
        "near_cosine": 0.965,
        "phash_bits": 6,
        "crop_cosine": 0.996,
        "crop_phash_bits": 26,
        "same_person_cosine": 0.983,
        "overlap_cosine": 0.964,
        "name_cosine": 0.906,
    },
}
#: Embedders that make the same vectors share defaults.
SAME_VECTORS = {"dlib-resnet-native": "dlib-resnet"}


class ExcludeSpec(Table):
    """One evaluation set to exclude: a folder of identity folders, an LFW-style ``pairs.txt``
    (with ``images``: its image folder, default the pairs file's folder), or (once supported) a
    ``.bin`` verification set."""

    table_name = "hygiene.exclude"

    path: str = Field(description="a folder of identity folders, a pairs.txt, or a .bin file")
    images: str | None = Field(None, description="image folder of a pairs file")
    name: str | None = Field(None, description="label of the set in reports (default: path)")


@dataclass(frozen=True)
class Limits:
    """Resolved thresholds (cosines; ``phash_bits`` Hamming)."""

    near_cosine: float
    phash_bits: int
    crop_cosine: float
    crop_phash_bits: int
    same_person_cosine: float
    overlap_cosine: float
    name_cosine: float


class HygieneConfig(Table):
    """Duplicate images, one person under two identities, overlap with evaluation sets (see
    docs/cleaning.md "Identity hygiene"). A frozen model; a bad value raises RecipeError."""

    table_name = "hygiene"

    action: Action = Field(
        "report",
        description="`report` (default: change nothing), `remove` (duplicates, overlaps and the "
        "smaller identity of a same-person pair leave) or `merge` (as remove, but same-person "
        "identities get one label)",
    )
    exact: bool = Field(True, description="find exact duplicates (file bytes, decoded pixels)")
    near: bool = Field(True, description="find near duplicates (embedding + perceptual hash)")
    same_person: bool = Field(True, description="find identity pairs that are one person")
    near_cosine: _Cosine | None = Field(
        None, description="a pair is a near duplicate when its embedding cosine reaches this and "
        "its pHash distance is at most `phash_bits` (a re-encode, a resize; absent: calibrated)",
    )  # fmt: skip
    phash_bits: int | None = Field(
        None, ge=0, le=64, description="see `near_cosine`: pHash Hamming distance of 64 bits "
        "(absent: calibrated)",
    )  # fmt: skip
    crop_cosine: _Cosine | None = Field(
        None, description="a pair is also a near duplicate when its cosine reaches this and its "
        "pHash distance is at most `crop_phash_bits` (a crop moves the hash more; a pair without "
        "hashes needs only this cosine; absent: calibrated)",
    )  # fmt: skip
    crop_phash_bits: int | None = Field(
        None, ge=0, le=64, description="see `crop_cosine` (absent: calibrated)"
    )
    same_person_cosine: _Cosine | None = Field(
        None, description="identity-centre cosine above which two identities are flagged as "
        "one person (absent: calibrated)",
    )  # fmt: skip
    evidence: int = Field(3, ge=1, le=20, description="closest image pairs kept as evidence")
    min_images: int = Field(
        3, ge=2, description="identities with fewer images use a plain mean as centre"
    )
    exclude: list[str | ExcludeSpec] = Field(
        default_factory=list,
        description="evaluation sets to exclude: folders of identity folders, or tables "
        '`{path = "pairs.txt", images = "lfw/"}`',
    )
    overlap_cosine: _Cosine | None = Field(
        None, description="centre cosine between a training identity and an evaluation "
        "identity above which they overlap (absent: calibrated)",
    )  # fmt: skip
    name_cosine: _Cosine | None = Field(
        None, description="a same-name identity overlaps when its centre cosine reaches this "
        "(absent: calibrated); below it the name match is only reported",
    )  # fmt: skip
    embedder: EmbedderName = Field(
        "dlib-resnet", description="the embedder of the vectors (selects calibrated defaults)"
    )
    search: Search = Field(
        "auto", description="cross-identity search: `exact` (blocked all pairs), `probe` (the "
        "lists of the nearest identity centres) or `auto` (exact up to `exact_max` images)",
    )  # fmt: skip
    exact_max: int = Field(100_000, ge=0, description="see `search`")
    nprobe: int = Field(8, ge=1, description="probe search: identity centres searched per image")
    keep: str | None = Field(
        None, description="keep.csv: sample paths (or identity names) never removed or merged"
    )
    memory_mb: int = Field(256, gt=0, description="working memory of one search block (MB)")
    device: Device = Field("auto", description="torch device of the search")

    @classmethod
    def from_dict(cls, table: Mapping[str, Any] | None) -> HygieneConfig:
        """Build from a recipe ``[hygiene]`` table (None: the defaults)."""
        return cls.parse(table or {})

    def exclude_specs(self) -> list[ExcludeSpec]:
        """``exclude`` with plain paths turned into :class:`ExcludeSpec`."""
        return [ExcludeSpec.parse({"path": e}) if isinstance(e, str) else e for e in self.exclude]

    def limits(self) -> Limits:
        """The thresholds, calibrated defaults filled in; RecipeError for an embedder without
        calibrated defaults when a threshold is absent."""
        table = DEFAULTS.get(SAME_VECTORS.get(self.embedder, self.embedder))

        def pick(key: str) -> float:
            value = getattr(self, key)
            if value is not None:
                return float(value)
            if table is None:
                raise RecipeError(
                    f"no calibrated hygiene.{key} for embedder={self.embedder!r}; set "
                    f"hygiene.{key} or use dlib-resnet"
                )
            return table[key]

        return Limits(
            near_cosine=pick("near_cosine"),
            phash_bits=int(pick("phash_bits")),
            crop_cosine=pick("crop_cosine"),
            crop_phash_bits=int(pick("crop_phash_bits")),
            same_person_cosine=pick("same_person_cosine"),
            overlap_cosine=pick("overlap_cosine"),
            name_cosine=pick("name_cosine"),
        )


#: Keys that do not change the output.
_NOT_IN_KEY = frozenset({"device", "memory_mb"})


def cache_key(config: HygieneConfig) -> str:
    """A hex key over every key that decides hygiene's output (thresholds resolved, so a changed
    calibrated default changes the key); ``device`` and ``memory_mb`` are left out."""
    data = {k: v for k, v in config.to_dict().items() if k not in _NOT_IN_KEY}
    try:
        data["limits"] = config.limits().__dict__
    except RecipeError:
        data["limits"] = None
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
