"""The order in which :class:`ShardIterableDataset` yields rows, and the epoch its workers see.

Rows are dealt per file (shard), so that every consumer (a DataLoader worker of one rank) draws
from every shard, whatever the number of shards, workers and ranks:

1. **Ranks.** Each file's kept rows (positions ``0..N-1`` in file order) are cut into
   ``world_size`` contiguous ranges of ``N // world_size`` or one more rows; rank ``r`` takes
   range ``r`` of every file. The one-row extras go round-robin over the files (a running offset
   in file order), so ranks differ by at most one row in all, and a rank's count does not depend
   on the epoch or on the number of DataLoader workers (it is ``len(dataset)``).
2. **Workers.** The rank's range of each file is cut the same way into ``num_workers`` ranges.
3. **Epochs.** With ``shuffle``, the positions of each file are rotated by an offset drawn from
   ``(seed, epoch)`` (the same on every consumer) before they map to rows, so each consumer gets
   other rows every epoch; the range sizes, hence the counts, stay the same.
4. **Reading.** A range maps to *pieces*: ``(file, row group, first, stop)`` slices of the kept
   rows of one row group. With ``shuffle`` each consumer reads its pieces in an order drawn from
   ``(seed, epoch, consumer)`` and passes the rows through a shuffle buffer; without it, in file
   order.

Every kept row is yielded exactly once per epoch. A shard's rows are written in a seeded random
order (``pipeline.variant_stage.write_order``), so a contiguous range is a random sample of the
shard's identities: each consumer sees about ``1 / K`` of every identity, and a batch of one
worker holds about as many identities as a batch of a uniform shuffle. The price: a row group cut
between two consumers is read by both (at most two extra row-group reads per file and consumer).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

import numpy as np
import torch

from ..seeding import PIECES, ROTATE, rng_for

T = TypeVar("T")


class SharedEpoch:
    """An epoch number in shared memory: ``set`` in the main process, ``get`` in any DataLoader
    worker started from it, including the persistent workers of ``persistent_workers=True``
    (a forked or spawned worker maps the same memory; a plain ``pickle`` copies the value)."""

    def __init__(self, epoch: int = 0) -> None:
        self._value = torch.zeros((), dtype=torch.int64).share_memory_()
        self.set(epoch)

    def set(self, epoch: int) -> None:
        self._value.fill_(int(epoch))

    def get(self) -> int:
        return int(self._value.item())


class Span(NamedTuple):
    """Kept-row positions ``[start, stop)`` of file ``file`` (file order, before rotation)."""

    file: int
    start: int
    stop: int


class Piece(NamedTuple):
    """Kept rows ``[start, stop)`` of row group ``row_group`` of file ``file`` (indices into the
    row group's kept rows, in file order)."""

    file: int
    row_group: int
    start: int
    stop: int


def cut(spans: Sequence[Span], part: int, parts: int) -> list[Span]:
    """Part ``part`` of ``parts`` of every span: each span is cut into ``parts`` contiguous ranges
    of ``n // parts`` or ``n // parts + 1`` positions, the extras going round-robin over the spans
    in order (so the parts differ by at most one position in all). Empty ranges are left out."""
    if not 0 <= part < parts:
        raise ValueError(f"part {part} is not in 0..{parts - 1}")
    out: list[Span] = []
    offset = 0  # the part that gets the next extra position
    for span in spans:
        n = span.stop - span.start
        base, extra = divmod(n, parts)
        start = span.start
        for p in range(parts):
            size = base + (1 if (p - offset) % parts < extra else 0)
            if p == part and size:
                out.append(Span(span.file, start, start + size))
            start += size
        offset = (offset + extra) % parts
    return out


def rank_spans(file_rows: Sequence[int], rank: int, world_size: int) -> list[Span]:
    """The spans of rank ``rank`` of ``world_size``, for files of ``file_rows`` kept rows each."""
    return cut([Span(f, 0, n) for f, n in enumerate(file_rows)], rank, world_size)


def rotations(file_rows: Sequence[int], shuffle: bool, seed: int, epoch: int) -> list[int]:
    """Per file, the epoch's rotation of its positions (0 everywhere without ``shuffle``)."""
    if not shuffle:
        return [0] * len(file_rows)
    rng = rng_for(seed, ROTATE, epoch)
    return [int(rng.integers(n)) if n else 0 for n in file_rows]


def pieces(
    spans: Sequence[Span], group_rows: Sequence[Sequence[int]], rotation: Sequence[int]
) -> list[Piece]:
    """The row-group pieces of ``spans``; ``group_rows[f]``: kept rows per row group of file
    ``f``; positions are rotated by ``rotation[f]`` (modulo the file's kept rows)."""
    out: list[Piece] = []
    for span in spans:
        sizes = group_rows[span.file]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n = int(bounds[-1])
        first = (span.start + rotation[span.file]) % n
        length = span.stop - span.start
        runs = [(first, first + length)] if first + length <= n else [(first, n), (0, first + length - n)]
        for lo, hi in runs:
            g = int(np.searchsorted(bounds, lo, side="right")) - 1
            while lo < hi:
                stop = min(hi, int(bounds[g + 1]))
                if stop > lo:
                    out.append(Piece(span.file, g, lo - int(bounds[g]), stop - int(bounds[g])))
                lo = stop
                g += 1
    return out


def consumer_pieces(
    group_rows: Sequence[Sequence[int]],
    *,
    rank: int,
    world_size: int,
    worker: int,
    num_workers: int,
    shuffle: bool,
    seed: int,
    epoch: int,
) -> list[Piece]:
    """The pieces worker ``worker`` of rank ``rank`` reads this epoch, in reading order (module
    doc). ``group_rows[f][g]``: kept rows of row group ``g`` of file ``f``."""
    if not 0 <= worker < num_workers:
        raise ValueError(f"worker {worker} is not in 0..{num_workers - 1}")
    file_rows = [int(sum(g)) for g in group_rows]
    spans = cut(rank_spans(file_rows, rank, world_size), worker, num_workers)
    mine = pieces(spans, group_rows, rotations(file_rows, shuffle, seed, epoch))
    if shuffle:
        order = rng_for(seed, PIECES, epoch, rank, worker).permutation(len(mine))
        mine = [mine[i] for i in order]
    return mine


def rank_rows(group_rows: Sequence[Sequence[int]], rank: int, world_size: int) -> int:
    """Rows rank ``rank`` of ``world_size`` yields per epoch (any epoch, any worker count)."""
    spans = rank_spans([int(sum(g)) for g in group_rows], rank, world_size)
    return sum(s.stop - s.start for s in spans)


def buffer_shuffle(items: Iterable[T], size: int, rng: np.random.Generator) -> Iterator[T]:
    """Yield ``items`` in a random order through a buffer of ``size`` items.

    Once the buffer is full, each new item replaces a uniformly chosen buffered one, which is
    yielded; at the end the rest is yielded in random order. Every item comes out exactly once.
    """
    if size < 1:
        raise ValueError("shuffle_buffer must be at least 1 row")
    buf: list[T] = []
    for item in items:
        if len(buf) < size:
            buf.append(item)
            continue
        j = int(rng.integers(len(buf)))
        yield buf[j]
        buf[j] = item
    for j in rng.permutation(len(buf)):
        yield buf[j]
