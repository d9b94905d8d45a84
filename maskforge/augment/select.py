"""Stratified select-N: a fixed number of images per identity (the recipe's ``[select]``).

Face datasets are unbalanced (CASIA-WebFace: 2 to hundreds of images per identity). Keeping at
most N per identity balances them and shrinks epochs; the reference found N = 2, 5 or 15 gave
nearly the same accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RecipeError, SourceError
from ..seeding import IDENTITIES, SELECT, derive_seed, rng_for


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_per_identity`.

    - ``sample_ids``: the selected ids, sorted by ``(identity, sample_id)``.
    - ``counts_before`` / ``counts_after``: images per identity (every identity / kept ones).
    - ``dropped``: identity -> reason (``"min_images"`` or ``"max_identities"``).
    - ``stats``: JSON-serialisable summary for the manifest (see :func:`count_stats`).
    """

    sample_ids: list[str]
    counts_before: dict[str, int]
    counts_after: dict[str, int]
    dropped: dict[str, str]
    stats: dict[str, Any]
    _selected: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.sample_ids)

    def __contains__(self, sample_id: object) -> bool:
        return sample_id in self._selected

    def is_selected(self, sample_ids: Sequence[str]) -> np.ndarray:
        """Boolean array: which of ``sample_ids`` are selected (to filter a table)."""
        return np.fromiter((s in self._selected for s in sample_ids), dtype=bool, count=len(sample_ids))


def count_stats(counts: Sequence[int]) -> dict[str, Any]:
    """``{"identities", "images", "min", "median", "max"}`` of per-identity image counts."""
    arr = np.asarray(list(counts), dtype=np.int64)
    if arr.size == 0:
        return {"identities": 0, "images": 0, "min": 0, "median": 0.0, "max": 0}
    return {
        "identities": int(arr.size),
        "images": int(arr.sum()),
        "min": int(arr.min()),
        "median": float(np.median(arr)),
        "max": int(arr.max()),
    }


def _check_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise RecipeError(f"select.{name} must be an integer >= {minimum}, got {value!r}")


def group_by_identity(sample_ids: Sequence[str], identities: Sequence[str]) -> dict[str, list[str]]:
    """identity -> its sample ids, identities and ids sorted (input order does not matter).
    Raises :class:`SourceError` on duplicate sample ids."""
    if len(sample_ids) != len(identities):
        raise ValueError(f"{len(sample_ids)} sample_ids but {len(identities)} identities")
    groups: dict[str, list[str]] = {}
    seen: set[str] = set()
    for sid, ident in zip(map(str, sample_ids), map(str, identities), strict=True):
        if sid in seen:
            raise SourceError(f"sample_id {sid!r} occurs more than once; sample ids must be unique")
        seen.add(sid)
        groups.setdefault(ident, []).append(sid)
    for ids in groups.values():
        ids.sort()
    return {k: groups[k] for k in sorted(groups)}


def sample_identities(names: Sequence[str], n: int, seed: int) -> list[str]:
    """A seeded uniform choice of ``n`` of ``names`` (all of them when there are fewer): the
    first ``n`` ranked by ``derive_seed(seed, IDENTITIES, name)``. It does not depend on the
    order of ``names``, and adding a name never changes which of the others rank first. The
    one ``max_identities`` sampler: the pipeline's plan and :func:`select_per_identity` use it."""
    return sorted(names, key=lambda k: derive_seed(seed, IDENTITIES, k))[:n]


def select_per_identity(
    sample_ids: Sequence[str],
    identities: Sequence[str],
    per_identity: int | None,
    min_images: int = 1,
    max_identities: int | None = None,
    seed: int = 0,
) -> Selection:
    """Keep at most ``per_identity`` images of each identity.

    1. Identities with fewer than ``min_images`` images are dropped (reason ``"min_images"``).
    2. If more than ``max_identities`` remain, a seeded uniform subset of them is kept (the
       others: reason ``"max_identities"``).
    3. Each kept identity keeps ``min(per_identity, n)`` images drawn uniformly without
       replacement by ``rng_for(seed, "select", identity)`` (all of them if ``per_identity`` is
       None).

    The result does not depend on input order, and one identity's draw does not depend on the
    others. Raises :class:`RecipeError` on bad numbers, :class:`SourceError` on duplicate ids.
    """
    if per_identity is not None:
        _check_int(per_identity, "per_identity", 1)
    _check_int(min_images, "min_images", 1)
    if max_identities is not None:
        _check_int(max_identities, "max_identities", 1)
    groups = group_by_identity(sample_ids, identities)
    counts_before = {k: len(v) for k, v in groups.items()}
    dropped = {k: "min_images" for k, n in counts_before.items() if n < min_images}
    kept = [k for k in groups if k not in dropped]
    if max_identities is not None and len(kept) > max_identities:
        chosen = set(sample_identities(kept, max_identities, seed))
        dropped.update({k: "max_identities" for k in kept if k not in chosen})
        kept = [k for k in kept if k in chosen]
    selected: list[str] = []
    counts_after: dict[str, int] = {}
    for ident in kept:
        ids = groups[ident]
        if per_identity is not None and len(ids) > per_identity:
            idx = rng_for(seed, SELECT, ident).choice(len(ids), size=per_identity, replace=False)
            ids = [ids[i] for i in sorted(idx.tolist())]
        selected.extend(ids)
        counts_after[ident] = len(ids)
    reasons: dict[str, int] = {}
    for reason in dropped.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    stats = {
        "per_identity": per_identity,
        "min_images": min_images,
        "max_identities": max_identities,
        "seed": int(seed),
        "before": count_stats(list(counts_before.values())),
        "after": count_stats(list(counts_after.values())),
        "dropped_identities": dict(sorted(reasons.items())),
        "dropped_images": int(sum(counts_before[k] for k in dropped)),
    }
    return Selection(
        sample_ids=selected,
        counts_before=counts_before,
        counts_after=counts_after,
        dropped=dict(sorted(dropped.items())),
        stats=stats,
        _selected=frozenset(selected),
    )
