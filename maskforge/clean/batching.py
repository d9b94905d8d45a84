"""Group identities into padded batches that fit a memory budget.

Scoring works on padded tensors ``X [B, n, D]`` (B identities, n = the largest of them) with a
validity mask ``[B, n]``. Identities are sorted by size so that a batch holds identities of similar
sizes (little padding); a batch is closed when its working memory — the gathered vectors plus a few
``[B, rows, n]`` distance matrices — would exceed the budget. An identity too large to fit on its
own forms a batch of one and is processed in row chunks by the scoring functions; so does every
identity larger than ``reference_size`` (scored against a reference subset of its samples, which
is defined per identity), whatever the budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

#: Distance-matrix copies alive at once (the matrix, its sorted copy, temporaries).
MATRIX_COPIES = 3


@dataclass(frozen=True)
class Batch:
    """Identities scored together. ``groups[b]`` holds the sample indices of identity b."""

    groups: list[np.ndarray]
    width: int  # n: the size of the largest identity in the batch


def group_cost(n: int, dim: int, reference_size: int) -> int:
    """Bytes needed to score one identity of ``n`` samples without row chunking."""
    return 4 * n * (MATRIX_COPIES * min(n, reference_size) + dim + 8)


def plan_batches(
    groups: Sequence[np.ndarray], dim: int, memory_bytes: int, reference_size: int
) -> Iterator[Batch]:
    """Yield batches of identities (given as index arrays) within ``memory_bytes``."""
    order = sorted(range(len(groups)), key=lambda g: len(groups[g]))
    current: list[np.ndarray] = []
    width = 0
    for g in order:
        n = len(groups[g])
        if n > reference_size:  # scored against a reference subset: always a batch of its own
            if current:
                yield Batch(current, width)
                current, width = [], 0
            yield Batch([groups[g]], n)
            continue
        new_width = max(width, n)
        cost = (len(current) + 1) * group_cost(new_width, dim, reference_size)
        if current and cost > memory_bytes:
            yield Batch(current, width)
            current, new_width = [], n
        current.append(groups[g])
        width = new_width
    if current:
        yield Batch(current, width)


def pad_indices(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """``(index [B, n] int64, mask [B, n] bool)``; padded slots point at sample 0, masked out."""
    b, n = len(batch.groups), batch.width
    index = np.zeros((b, n), dtype=np.int64)
    mask = np.zeros((b, n), dtype=bool)
    for i, g in enumerate(batch.groups):
        index[i, : len(g)] = g
        mask[i, : len(g)] = True
    return index, mask


def row_chunk(b: int, n: int, m: int, memory_bytes: int) -> int:
    """Rows per chunk so that ``MATRIX_COPIES`` float32 ``[b, rows, m]`` matrices fit."""
    per_row = max(1, MATRIX_COPIES * 4 * b * m)
    return int(max(1, min(n, memory_bytes // per_row)))
