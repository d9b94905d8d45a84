"""Live progress of a run, per image: what the tasks have done and what each pool is doing.

Every task reports, while it works on a shard, how many of the shard's input images it has
handled so far (``tick(n)``: cumulative, so a retried shard simply reports from 0 again and
never counts twice). A :class:`Board` keeps the latest count per (task, shard); the executor
turns it, with the state of its worker pools, into a :class:`Snapshot` a few times a second and
hands it to the caller's ``monitor``. On Ray the board is a small actor on the driver's node
that the shard actors call without waiting; in the local executor it is a plain object.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

#: Where a worker sends progress: ``send(task, shard, images_handled_so_far)``.
Send = Callable[[str, int, int], None]

#: A task's progress callback: input images of the current shard handled so far (cumulative).
Tick = Callable[[int], None]

#: Seconds between two snapshots handed to a monitor, and between two reports of one task.
INTERVAL_S = 0.25


@dataclass(frozen=True)
class PoolState:
    """One worker pool: which tasks it runs, its actors, how many are busy, shards waiting."""

    name: str
    size: int
    busy: int
    queued: int


@dataclass(frozen=True)
class Snapshot:
    """Where a run stands. ``done[task]``: input images that task has handled (of ``total``);
    ``tasks``: the tasks in running order; ``shards_done``: shards that left the last task;
    ``phase``: what the executor does before the first shard (``starting Ray``, ``loading
    models``), empty once shards run."""

    total: int
    tasks: tuple[str, ...]
    done: dict[str, int]
    pools: tuple[PoolState, ...] = ()
    shards_done: int = 0
    shards: int = 0
    elapsed_s: float = 0.0
    phase: str = ""

    @property
    def images(self) -> float:
        """Progress in images: the mean over the tasks of the images each has handled (moves
        from the first batch of the first task, reaches ``total`` when every task is done)."""
        if not self.tasks:
            return 0.0
        return sum(min(self.done.get(t, 0), self.total) for t in self.tasks) / len(self.tasks)

    def plus(self, images: int, shards: int) -> Snapshot:
        """This snapshot with ``images`` input images in ``shards`` shards already done before
        the run (reused shards) added to every task."""
        done = {t: self.done.get(t, 0) + images for t in self.tasks}
        return replace(self, total=self.total + images, done=done,
                       shards_done=self.shards_done + shards, shards=self.shards + shards)

    def describe(self) -> str:
        """One line: images per task, then each pool's busy actors and queued shards."""
        if self.phase:
            return self.phase
        parts = [" ".join(f"{t} {self.done.get(t, 0)}" for t in self.tasks)]
        parts += [f"{p.name} {p.busy}/{p.size} busy, {p.queued} queued" for p in self.pools]
        return " | ".join(parts)


#: A caller's view of a run: called with a :class:`Snapshot` at most every ``INTERVAL_S``.
Monitor = Callable[[Snapshot], None]


@dataclass
class Board:
    """The latest cumulative count per (task, shard), and their sums per task."""

    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def set(self, task: str, shard: int, n: int) -> None:
        old = self.counts.get((task, shard), 0)
        self.counts[task, shard] = n
        self.totals[task] = self.totals.get(task, 0) + n - old

    def snapshot(self) -> dict[str, int]:
        return dict(self.totals)


class Reporter:
    """A task's ``tick`` for one shard: forwards the count to ``send(task, shard, n)`` at most
    every ``INTERVAL_S`` (and always the shard's last count, ``finish``)."""

    def __init__(self, send: Send, task: str, shard: int) -> None:
        self.send, self.task, self.shard = send, task, shard
        self.last = 0.0
        self.n = 0

    def __call__(self, n: int) -> None:
        self.n = n
        now = time.monotonic()
        if now - self.last >= INTERVAL_S:
            self.last = now
            self.send(self.task, self.shard, n)

    def finish(self, n: int) -> None:
        self.n = n
        self.send(self.task, self.shard, n)


def ticker(tick: Tick | None) -> Tick:
    """``tick`` or a callback doing nothing (what a task calls when nobody listens)."""
    return tick if tick is not None else (lambda n: None)
