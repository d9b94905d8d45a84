"""The order in which :class:`ShardIterableDataset` yields rows, and the epoch its workers see.

Per epoch, every row group of the dataset (a *unit*) is dealt to one consumer (a DataLoader
worker of one rank): the units are permuted with a generator seeded by ``(seed, epoch)`` — the
same on every consumer — and consumer ``k`` of ``K`` takes units ``k, k+K, k+2K, ...`` of that
order, so every row is read exactly once per epoch. Each consumer passes its rows through a
shuffle buffer seeded by ``(seed, epoch, consumer)``. All of it is reproducible from the seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import torch

from ..seeding import UNITS, rng_for

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


def consumer_units(
    units: Sequence[T], *, consumer: int, consumers: int, shuffle: bool, seed: int, epoch: int
) -> list[T]:
    """The units consumer ``consumer`` of ``consumers`` reads this epoch, in reading order."""
    if not 0 <= consumer < consumers:
        raise ValueError(f"consumer {consumer} is not in 0..{consumers - 1}")
    order = np.arange(len(units))
    if shuffle:
        order = rng_for(seed, UNITS, epoch).permutation(len(units))
    return [units[i] for i in order[consumer::consumers]]


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
