"""Train/validation splits (the recipe's ``[split]``): seeded, stable, independent of order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import RecipeError
from ..seeding import SPLIT, derive_seed
from .select import group_by_identity

SPLIT_BY = ("identity", "image")


def _ranked(keys: Sequence[str], seed: int) -> list[str]:
    """``keys`` in a seeded pseudo-random order that depends only on each key (so adding or
    removing one key does not reorder the others)."""
    return sorted(keys, key=lambda k: (derive_seed(seed, SPLIT, k), k))


def _val_count(n: int, fraction: float) -> int:
    if n < 2 or fraction == 0:
        return 0
    return min(max(1, round(fraction * n)), n - 1)


def assign_splits(
    sample_ids: Sequence[str],
    identities: Sequence[str],
    val_fraction: float = 0.1,
    by: str = "identity",
    seed: int = 0,
) -> dict[str, str]:
    """``{sample_id: "train" | "val"}``.

    - ``by="identity"`` (open-set validation): ``round(val_fraction * identities)`` whole
      identities go to val (at least 1 when ``val_fraction > 0`` and there are >= 2
      identities, never all of them).
    - ``by="image"`` (closed-set validation): stratified per identity; ``round(val_fraction *
      images)`` images go to val in total, each identity contributing about ``val_fraction`` of
      its images (largest-remainder rounding) and always keeping at least one train image.

    Which identities/images go to val depends only on ``seed`` and their ids (ranked by
    ``derive_seed(seed, "split", id)``), not on input order. Raises :class:`RecipeError` on a bad
    ``val_fraction`` or ``by``.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not (
        0.0 <= float(val_fraction) < 1.0
    ):
        raise RecipeError(f"split.val_fraction must be a number in [0, 1), got {val_fraction!r}")
    if by not in SPLIT_BY:
        raise RecipeError(f"split.by must be one of {list(SPLIT_BY)}, got {by!r}")
    frac = float(val_fraction)
    groups = group_by_identity(sample_ids, identities)
    out = {sid: "train" for ids in groups.values() for sid in ids}
    if by == "identity":
        for ident in _ranked(list(groups), seed)[: _val_count(len(groups), frac)]:
            for sid in groups[ident]:
                out[sid] = "val"
        return {sid: out[sid] for sid in map(str, sample_ids)}
    counts = _image_val_counts({k: len(v) for k, v in groups.items()}, frac, seed)
    for ident, ids in groups.items():
        for sid in _ranked(ids, seed)[: counts[ident]]:
            out[sid] = "val"
    return {sid: out[sid] for sid in map(str, sample_ids)}


def _image_val_counts(sizes: dict[str, int], frac: float, seed: int) -> dict[str, int]:
    """Per-identity val counts summing to ``round(frac * total)`` where the caps allow."""
    target = round(frac * sum(sizes.values()))
    counts = {k: min(math.floor(frac * n), max(n - 1, 0)) for k, n in sizes.items()}
    remaining = target - sum(counts.values())
    order = sorted(
        sizes,
        key=lambda k: (-(frac * sizes[k] - math.floor(frac * sizes[k])), derive_seed(seed, SPLIT, k), k),
    )
    while remaining > 0:
        progressed = False
        for k in order:
            if remaining == 0:
                break
            if counts[k] < sizes[k] - 1:
                counts[k] += 1
                remaining -= 1
                progressed = True
        if not progressed:
            break
    return counts


def split_stats(splits: dict[str, str], identities_of: dict[str, str]) -> dict[str, Any]:
    """``{"train": {"images", "identities"}, "val": {...}}`` for the manifest."""
    out: dict[str, Any] = {}
    for name in ("train", "val"):
        ids = [s for s, v in splits.items() if v == name]
        out[name] = {"images": len(ids), "identities": len({identities_of[s] for s in ids})}
    return out
