"""Near duplicates: candidate pairs from the embedding search, confirmed by the perceptual hash.

A pair of samples is a near duplicate when its embedding cosine reaches ``near_cosine_sure``, or
when it reaches ``near_cosine`` and the pHash Hamming distance is at most ``phash_bits`` (pairs
without a hash need the sure cosine). Exact duplicates are near duplicates too. Duplicate *sets*
are the connected components of the pairs (union-find), members ordered by source path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .knn import Pairs
from .phash import hamming

NO_HASH = np.uint64(0)  # a hash of 0 is treated as "no hash" (an all-dark image's hash is not 0)


@dataclass(frozen=True)
class NearPairs:
    """Confirmed pairs (rows a < b), their cosine and pHash distance (-1: no hash)."""

    pairs: Pairs
    bits: np.ndarray  # int16


def confirm(
    candidates: Pairs,
    hashes: np.ndarray | None,
    near_cosine: float,
    near_cosine_sure: float,
    phash_bits: int,
) -> NearPairs:
    """Keep the candidate pairs that are near duplicates (see module doc)."""
    a, b, sim = candidates.a, candidates.b, candidates.sim
    if hashes is None or len(a) == 0:
        bits = np.full(len(a), -1, np.int16)
    else:
        ha, hb = hashes[a], hashes[b]
        bits = hamming(ha, hb).astype(np.int16)
        bits[(ha == NO_HASH) | (hb == NO_HASH)] = -1
    ok = (sim >= near_cosine_sure) | ((sim >= near_cosine) & (bits >= 0) & (bits <= phash_bits))
    return NearPairs(Pairs(a[ok], b[ok], sim[ok]), bits[ok])


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[i] != root:
            self.parent[i], i = root, int(self.parent[i])
        return root

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def components(n: int, a: np.ndarray, b: np.ndarray, order: Sequence[str]) -> list[list[int]]:
    """Connected components (>= 2 members) of the graph on ``n`` nodes with edges ``(a, b)``;
    members sorted by ``order`` (then index), components by their first member."""
    uf = _UnionFind(n)
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        uf.union(i, j)
    groups: dict[int, list[int]] = {}
    for i in sorted(set(a.tolist()) | set(b.tolist())):
        groups.setdefault(uf.find(i), []).append(i)
    out = [sorted(g, key=lambda i: (order[i], i)) for g in groups.values() if len(g) > 1]
    return sorted(out, key=lambda g: (order[g[0]], g[0]))
