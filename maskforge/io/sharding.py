"""Split a listing into shards of whole identities.

Shards are the unit of work and of resume. An identity is never split across shards (the cleaning
stage needs all of an identity's images together); an identity larger than ``shard_size`` is a
shard of its own. The split is a pure function of the (sorted) listing and ``shard_size``
(``"auto"``: :func:`auto_shard_size`, from the number of images only).
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


#: ``source.shard_size = "auto"``: about this many shards, of ``AUTO_MIN`` to ``AUTO_MAX`` images.
AUTO_SHARDS, AUTO_MIN, AUTO_MAX = 1024, 32, 1000


def auto_shard_size(images: int) -> int:
    """The shard size ``"auto"`` stands for, from the number of images alone.

    About ``AUTO_SHARDS`` shards: enough that every core of a 16-node cluster of 16 cores gets
    several and the last ones to finish are small (the Ray executor hands out the largest first),
    never under ``AUTO_MIN`` images (a shard's fixed cost, ~40 ms for its files and a small
    embedding batch, stays near 5% of its work) nor over ``AUTO_MAX`` (the unit of resume stays
    small). It does not depend on the
    machine, so the same input gives the same shards, hence the same bytes and reusable caches,
    on a laptop and on a cluster."""
    return min(AUTO_MAX, max(AUTO_MIN, -(-images // AUTO_SHARDS)))


def resolve_shard_size(value: int | str, images: int) -> int:
    """``source.shard_size`` as a number: ``"auto"`` becomes :func:`auto_shard_size`."""
    return auto_shard_size(images) if value == "auto" else int(value)


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
