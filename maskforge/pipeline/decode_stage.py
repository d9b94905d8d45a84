"""The decode stage: read and decode a shard's files, rejecting bad ones with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DecodeError
from ..io.decode import decode_with_info, encode_image
from ..io.sources import SourceSample, read_sample_bytes
from .records import RejectRow

_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}


@dataclass
class Decoded:
    """A decoded input: pixels plus what is needed to store the original unchanged."""

    sample: SourceSample
    pixels: np.ndarray
    raw: bytes
    info: dict[str, Any]

    def original_bytes(self, fallback_format: str = "png") -> tuple[bytes, str]:
        """The image as stored for the ``original`` variant: the file's own bytes when they show
        exactly :attr:`pixels`, else a lossless re-encoding."""
        if self.info.get("as_is"):
            return self.raw, _FORMATS[self.info["format"]]
        return encode_image(self.pixels, fallback_format), fallback_format


def reject_row(sample: SourceSample, stage: str, reason: str, detail: str = "") -> RejectRow:
    """A row of the rejects table."""
    return {
        "sample_id": sample.sample_id,
        "source_path": sample.source_path,
        "identity": sample.identity,
        "stage": stage,
        "reason": reason,
        "detail": detail,
    }


def decode_samples(
    samples: Sequence[SourceSample], *, max_pixels: int, min_side: int
) -> tuple[list[Decoded], list[RejectRow]]:
    """Decode every sample; return the decoded ones and a reject row for each failure."""
    decoded: list[Decoded] = []
    rejects: list[RejectRow] = []
    for sample in samples:
        try:
            raw = read_sample_bytes(sample)
            pixels, info = decode_with_info(raw, max_pixels=max_pixels, min_side=min_side)
        except DecodeError as exc:
            rejects.append(reject_row(sample, "decode", exc.reason, exc.detail))
            continue
        decoded.append(Decoded(sample, pixels, raw, info))
    return decoded, rejects


def decode_shard(ctx: Any, index: int) -> tuple[Any, list[Decoded], list[RejectRow]]:
    """Decode the samples of shard ``index`` of ``ctx`` (a :class:`~.context.RunContext`) under
    its ``[source]`` limits: ``(shard, decoded, rejects)``, as :func:`decode_samples`."""
    shard = ctx.shard(index).shard
    source = ctx.recipe.source
    decoded, rejects = decode_samples(shard.samples, max_pixels=source.max_pixels, min_side=source.min_side)
    return shard, decoded, rejects
