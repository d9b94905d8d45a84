"""Build a verification pairs file from identity folders (``maskforge eval make-pairs``).

Identities are dealt into folds so that each identity lies in exactly one fold (the same person
never appears in two folds: thresholds chosen on the other folds never saw them), by a snake
draft over the identities sorted by image count (:func:`deal_identities`); identities with one
image only serve mismatched pairs. Each fold then
gets ``n`` matched pairs drawn uniformly from all within-identity pairs of the fold and ``n``
mismatched pairs drawn uniformly from all cross-identity image pairs of the fold, without
repetition. ``n`` is ``per_fold``, or less when the smallest fold cannot supply that many
(:attr:`MadePairs.per_fold` says what was made). Every draw comes from ``rng_for(seed, ...)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SourceError
from ..io.sources import list_samples
from ..seeding import MAKE_PAIRS, rng_for
from .pairs import Pair


@dataclass
class MadePairs:
    """The pairs made (fold order, matched before mismatched), the folds, the pairs of each kind
    per fold that were made and that were asked for."""

    pairs: list[Pair]
    folds: int
    per_fold: int
    requested: int


def deal_identities(sizes: dict[str, int], folds: int, seed: int) -> list[list[str]]:
    """Identities (name -> image count) dealt into ``folds`` lists, each identity once.

    A snake draft over the identities sorted by image count (largest first, ties in a seeded
    shuffle): folds 0..k-1, then k-1..0, and so on. Fold sizes differ by at most one, identities
    with two or more images are spread as evenly, and matched-pair capacity is balanced."""
    names = sorted(sizes)
    order = rng_for(seed, MAKE_PAIRS, "deal").permutation(len(names))
    shuffled = [names[i] for i in order]
    shuffled.sort(key=lambda n: -sizes[n])  # stable: the shuffle breaks ties
    out: list[list[str]] = [[] for _ in range(folds)]
    for k, name in enumerate(shuffled):
        lap, pos = divmod(k, folds)
        out[pos if lap % 2 == 0 else folds - 1 - pos].append(name)
    return out


def _matched(images: Mapping[str, list[str]], names: list[str], n: int, rng: np.random.Generator):
    names = [m for m in names if len(images[m]) > 1]
    counts = np.array([len(images[m]) * (len(images[m]) - 1) // 2 for m in names], np.int64)
    ends = np.cumsum(counts)
    out = []
    for flat in np.sort(rng.choice(int(ends[-1]) if len(ends) else 0, n, replace=False)):
        k = int(np.searchsorted(ends, flat, side="right"))
        r = int(flat - (ends[k] - counts[k]))
        ii, jj = np.triu_indices(len(images[names[k]]), 1)
        files = images[names[k]]
        out.append((files[int(ii[r])], files[int(jj[r])]))
    return out


def _mismatched(images: Mapping[str, list[str]], names: list[str], n: int, rng: np.random.Generator):
    sizes = np.array([len(images[m]) for m in names], np.int64)
    ia, ib = np.triu_indices(len(names), 1)
    counts = sizes[ia] * sizes[ib]
    ends = np.cumsum(counts)
    out = []
    for flat in np.sort(rng.choice(int(ends[-1]) if len(ends) else 0, n, replace=False)):
        k = int(np.searchsorted(ends, flat, side="right"))
        r = int(flat - (ends[k] - counts[k]))
        a, b = names[int(ia[k])], names[int(ib[k])]
        i, j = divmod(r, len(images[b]))
        out.append((images[a][i], images[b][j]))
    return out


def capacities(images: Mapping[str, list[str]], names: list[str]) -> tuple[int, int]:
    """How many distinct matched and mismatched image pairs the identities ``names`` allow."""
    sizes = np.array([len(images[m]) for m in names], np.int64)
    same = int((sizes * (sizes - 1) // 2).sum())
    diff = int((sizes.sum() ** 2 - (sizes**2).sum()) // 2)
    return same, diff


def make_pairs(
    images_dir: str | Path, folds: int = 10, per_fold: int = 300, seed: int = 0
) -> MadePairs:
    """Balanced matched/mismatched pairs from a folder of identity folders (module doc).

    Paths are relative to ``images_dir`` (POSIX). Raises SourceError when the folder has too few
    identities with two or more images to give every fold a matched pair."""
    listing = list_samples(images_dir)
    images: dict[str, list[str]] = defaultdict(list)
    for s in listing.samples:
        images[s.identity].append(s.source_path)
    return pairs_from_groups(images, folds, per_fold, seed, where=str(images_dir))


def pairs_from_groups(
    images: Mapping[str, list[str]], folds: int = 10, per_fold: int = 300, seed: int = 0,
    where: str = "the images",
) -> MadePairs:
    """Balanced pairs (as :func:`make_pairs`) over ``images``: identity -> its image keys (any
    strings: paths, sample ids), in a fixed order. ``where`` names the images in errors."""
    if folds < 2 or per_fold < 1:
        raise SourceError(f"need folds >= 2 and per-fold >= 1, got {folds} and {per_fold}")
    multi = sum(len(v) > 1 for v in images.values())
    if multi < folds or len(images) < 2 * folds:
        raise SourceError(
            f"{where} has {len(images)} identities, {multi} with 2 or more images; {folds} "
            f"folds need at least {2 * folds} identities, {folds} of them with 2 or more images "
            "(each identity lies in one fold): pass a smaller --folds"
        )
    dealt = deal_identities({k: len(v) for k, v in images.items()}, folds, seed)
    n = min(per_fold, *(min(capacities(images, names)) for names in dealt))
    pairs: list[Pair] = []
    for f, names in enumerate(dealt):
        names = sorted(names)
        rng = rng_for(seed, MAKE_PAIRS, "fold", f)
        pairs += [Pair(a, b, True, f) for a, b in _matched(images, names, n, rng)]
        pairs += [Pair(a, b, False, f) for a, b in _mismatched(images, names, n, rng)]
    return MadePairs(pairs=pairs, folds=folds, per_fold=n, requested=per_fold)
