"""The Ray executor's driver loop: shards handed to idle actors, moved from pool to pool, and a
timeline of what the actors did.

The driver hands a shard to an actor the moment one is idle (``ray.wait`` returns on the first
finished call), so no actor waits while its pool has shards queued. It records, per pool, the
seconds its actors were busy, and the tail of the run (from the moment the first pool has
nothing left to hand out until the last shard is done), when actors go idle for lack of work;
finer shards (``source.shard_size = "auto"``) keep that tail short. With a ``monitor`` it also
reads the progress board a few times a second and passes a :class:`~.progress.Snapshot` on.

Why not ``ray.util.ActorPool``: it serves one pool, and its ``get_next_unordered`` waits on that
pool alone, while a shard here moves through up to three pools (detect on CPU, embed on GPU,
finish on CPU) and the driver must wait on all of their calls at once (one ``ray.wait``) to hand
each finished shard to the next pool and keep every pool's busy time. Node loss needs nothing
from it either: the actors' ``max_restarts`` / ``max_task_retries`` retry a lost call on the
restarted actor (tests/test_ray_cluster.py, same bytes).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from .progress import INTERVAL_S, Board, Monitor, PoolState, Snapshot
from .ray_actor import MAX_RESTARTS, MAX_TASK_RETRIES, PoolSpec, ShardActor
from .records import ShardStats


class Pool:
    """The actors of one :class:`~.ray_actor.PoolSpec`, the idle ones, the queued shards."""

    def __init__(self, spec: PoolSpec, work_file: str, board: Any) -> None:
        import ray

        cls = ray.remote(ShardActor).options(
            num_cpus=spec.num_cpus,
            num_gpus=spec.num_gpus,
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_TASK_RETRIES,
        )
        self.stages: tuple[str, ...] | None = spec.stages
        self.name = spec.kind if spec.stages is None else "+".join(spec.stages)
        if spec.kind == "gpu" and spec.stages is not None:
            self.name += "[gpu]"
        self.actors: list[Any] = [
            cls.remote(work_file, spec.stages, spec.kind, spec.threads, board)
            for _ in range(spec.size)
        ]
        self.idle = deque(self.actors)
        self.queue: deque[tuple[int, dict[str, Any] | None]] = deque()
        self.busy_s = 0.0

    def state(self) -> PoolState:
        return PoolState(self.name, len(self.actors), len(self.actors) - len(self.idle), len(self.queue))


def make_board() -> Any:
    """A progress board actor on the driver's node (no CPU of its own)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(Board).options(num_cpus=0, scheduling_strategy=here).remote()


def warm(pools: list[Pool]) -> list[int]:
    """Load every actor's models (in parallel); their process ids."""
    import ray

    return ray.get([a.warm.remote() for p in pools for a in p.actors])


class Driver:
    """Moves the shards of ``jobs`` (index -> :class:`~.context.ShardJob`) through ``pools``;
    iterate it for each shard's final stats.

    ``inputs``: input images per shard; ``tasks``: the plan's task names in order (for the
    snapshots); ``monitor``/``board``: live progress (both or neither)."""

    def __init__(
        self,
        pools: list[Pool],
        jobs: dict[int, Any],
        inputs: dict[int, int],
        tasks: tuple[str, ...],
        monitor: Monitor | None = None,
        board: Any = None,
    ) -> None:
        self.pools, self.jobs, self.inputs, self.tasks = pools, jobs, inputs, tasks
        self.todo = list(jobs)
        self.monitor, self.board = monitor, board
        self.finished = 0
        # images of the shards each task's pool has returned: a floor under the board's counts,
        # which the actors update without waiting and so may lag behind a returned shard
        self.completed = dict.fromkeys(tasks, 0)
        self.started = self.drained = self.ended = 0.0
        self.last_snapshot = 0.0
        # largest shards first: the last ones to finish are small, so the tail is short
        pools[0].queue.extend((i, None) for i in sorted(self.todo, key=lambda i: (-inputs[i], i)))

    def __iter__(self) -> Iterator[ShardStats]:
        import ray

        running: dict[Any, tuple[int, Any, float]] = {}  # ref -> (pool position, actor, start)
        self.started = time.perf_counter()
        while self.finished < len(self.todo):
            self._dispatch(running)
            timeout = INTERVAL_S if self.monitor is not None else None
            ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
            for ref in ready:
                p, actor, t0 = running.pop(ref)
                pool = self.pools[p]
                pool.idle.append(actor)
                pool.busy_s += time.perf_counter() - t0
                stats = ray.get(ref)
                for task in pool.stages or self.tasks:
                    if task in self.completed:
                        self.completed[task] += self.inputs[int(stats["shard"])]
                if p + 1 < len(self.pools):
                    self.pools[p + 1].queue.append((int(stats["shard"]), stats))
                else:
                    self.finished += 1
                    yield stats
            self._report()
        self.ended = time.perf_counter()
        self._report(force=True)

    def _dispatch(self, running: dict[Any, tuple[int, Any, float]]) -> None:
        now = time.perf_counter()
        for p, pool in enumerate(self.pools):
            while pool.queue and pool.idle:
                index, upstream = pool.queue.popleft()
                actor = pool.idle.popleft()
                running[actor.run.remote(self.jobs[index], upstream)] = (p, actor, now)
        if not self.drained and not self.pools[0].queue:
            self.drained = now

    def _report(self, force: bool = False) -> None:
        if self.monitor is None:
            return
        now = time.perf_counter()
        if not force and now - self.last_snapshot < INTERVAL_S:
            return
        import ray

        self.last_snapshot = now
        board = ray.get(self.board.snapshot.remote())
        done = {t: max(board.get(t, 0), self.completed[t]) for t in self.tasks}
        self.monitor(
            Snapshot(
                total=sum(self.inputs[i] for i in self.todo),
                tasks=self.tasks,
                done=done,
                pools=tuple(p.state() for p in self.pools),
                shards_done=self.finished,
                shards=len(self.todo),
                elapsed_s=now - self.started,
            )
        )

    def timeline(self) -> dict[str, Any]:
        """What the actors did: per pool its actors, busy seconds and utilisation (busy seconds
        over actors x the work's wall time), the work's wall time and its tail."""
        work = max(self.ended - self.started, 1e-9)
        return {
            "work_s": round(work, 3),
            "tail_s": round(self.ended - self.drained, 3) if self.drained else 0.0,
            "pools": [
                {"name": p.name, "actors": len(p.actors), "busy_s": round(p.busy_s, 3),
                 "utilisation": round(p.busy_s / (len(p.actors) * work), 3)}
                for p in self.pools
            ],
        }
