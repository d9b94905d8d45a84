"""Identity hygiene over a dataset: :func:`sample_signature` per image (runs where the image is
decoded, e.g. in a shard) and :func:`run_hygiene` once over every sample's embedding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..clean.keep import KeepList, read_keep
from .config import HygieneConfig
from .decide import HygieneResult, decide
from .exact import bytes_hash, pixel_hash
from .phash import phash
from .search import EvalEmbeddings, HygieneInput, find


def sample_signature(
    data: bytes | None, image: np.ndarray | None
) -> tuple[str | None, str | None, int]:
    """``(file hash, pixel hash, pHash)`` of one image: its encoded bytes and/or its decoded RGB
    uint8 pixels (None where not available: hash None, pHash 0)."""
    fh = bytes_hash(data) if data is not None else None
    if image is None:
        return fh, None, 0
    return fh, pixel_hash(image), phash(image)


def run_hygiene(
    inp: HygieneInput,
    config: HygieneConfig | None = None,
    evals: Sequence[EvalEmbeddings] = (),
    keep: KeepList | None = None,
) -> HygieneResult:
    """Find and decide (see :mod:`.search` and :mod:`.decide`); ``keep`` defaults to
    ``config.keep`` read as a keep.csv."""
    config = config or HygieneConfig()
    findings, centres = find(inp, config, evals)
    keep = keep if keep is not None else read_keep(config.keep)
    result = decide(inp, findings, centres, config.action, keep)
    result.extra["identities"] = len(centres.names)
    return result
