"""Split a listing into shards of whole identities.

Shards are the unit of work and of resume. An identity is never split across shards (the cleaning
stage needs all of an identity's images together); an identity larger than ``shard_size`` is a
shard of its own. The split is a pure function of the (sorted) listing and ``shard_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from .sources import SourceSample


@dataclass(frozen=True)
class Shard:
    """A group of whole identities, processed and written together."""

    index: int
    samples: tuple[SourceSample, ...]

    @property
    def name(self) -> str:
        return f"shard-{self.index:05d}"

    @property
    def identities(self) -> list[str]:
        return sorted({s.identity for s in self.samples})


def make_shards(samples: Sequence[SourceSample], shard_size: int = 1000) -> list[Shard]:
    """Pack identities, in listing order, into shards of about ``shard_size`` images."""
    if shard_size < 1:
        raise ValueError("shard_size must be >= 1")
    ordered = sorted(samples, key=lambda s: (s.identity, s.source_path))
    shards: list[Shard] = []
    current: list[SourceSample] = []
    for _, group in groupby(ordered, key=lambda s: s.identity):
        members = list(group)
        if current and len(current) + len(members) > shard_size:
            shards.append(Shard(len(shards), tuple(current)))
            current = []
        current.extend(members)
    if current:
        shards.append(Shard(len(shards), tuple(current)))
    return shards
