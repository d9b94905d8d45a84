"""Near duplicates: candidate pairs from the embedding search, confirmed by the perceptual hash.

A pair of samples is a near duplicate when its embedding cosine reaches ``near_cosine`` and the
pHash Hamming distance is at most ``phash_bits`` (a re-encode or a resize barely moves the hash),
or when its cosine reaches the higher ``crop_cosine`` and the distance is at most
``crop_phash_bits`` (a crop of a few percent moves the hash more; two photos of one person from
the same event differ more in either). A pair without hashes needs ``crop_cosine``. Exact duplicates are near duplicates too. Duplicate *sets*
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
    phash_bits: int,
    crop_cosine: float,
    crop_phash_bits: int,
) -> NearPairs:
    """Keep the candidate pairs that are near duplicates (see module doc)."""
    a, b, sim = candidates.a, candidates.b, candidates.sim
    if hashes is None or len(a) == 0:
        bits = np.full(len(a), -1, np.int16)
    else:
        ha, hb = hashes[a], hashes[b]
        bits = hamming(ha, hb).astype(np.int16)
        bits[(ha == NO_HASH) | (hb == NO_HASH)] = -1
    hashed = bits >= 0
    ok = (sim >= near_cosine) & hashed & (bits <= phash_bits)
    ok |= (sim >= crop_cosine) & (~hashed | (bits <= crop_phash_bits))
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
