"""The Ray executor: shards streamed through pools of long-lived Ray actors.

Each pool is a set of actors that run some of a shard's tasks (``ShardPipeline`` over a subset of
stages); a shard flows from one pool to the next (detect → embed → finish on a GPU layout, or all
tasks in one CPU pool). Actors are created once per run and load their models once.

Fault tolerance is Ray's own: actors are created with ``max_restarts`` and ``max_task_retries``,
so when a node is lost its actors are restarted elsewhere and the shard calls that were running
on them are retried by Ray. A shard's tasks are idempotent (a half-written shard is never marked
done, see :mod:`maskforge.io.writer`), so a retried shard gives the same bytes. The stats of a
shard computed on a restarted actor carry ``ray.restarted = True``; the manifest counts them.

Nothing is grouped or shuffled through Ray: shard indexes go out, small stats dicts come back.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .plan import RunPlan

#: How often Ray may restart one actor, and retry one call on it, across node losses.
MAX_RESTARTS = 8
MAX_TASK_RETRIES = 8


@dataclass(frozen=True)
class PoolSpec:
    """One actor pool: which stages it runs (None: all), how many actors, each one's resources.

    ``kind``: ``"cpu"`` actors hide every GPU from their own process; ``"gpu"`` actors see the
    GPU Ray assigned them and their embedder must get CUDA. ``threads``: torch threads."""

    stages: tuple[str, ...] | None
    size: int
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    kind: str = "cpu"
    threads: int | None = 1


class ShardActor:
    """Ray actor body: runs the tasks of ``stages`` for one shard per call.

    A CPU actor sets ``CUDA_VISIBLE_DEVICES=""`` for its process before any model loads: Ray
    leaves it unset in actors with ``num_gpus=0``, so ``auto`` devices would otherwise open a
    CUDA context in every CPU actor."""

    def __init__(
        self,
        plan_file: str,
        resume: bool,
        stages: tuple[str, ...] | None,
        kind: str = "cpu",
        threads: int | None = 1,
    ) -> None:
        from .runner import ShardPipeline

        if kind == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        with open(plan_file, "rb") as fh:
            plan = pickle.load(fh)
        self.kind = kind
        self.pipe = ShardPipeline(plan, resume, stages, gpu=kind == "gpu", threads=threads)

    def run(self, index: int, upstream: dict[str, Any] | None) -> dict[str, Any]:
        import ray

        stats = self.pipe(index, upstream)
        worker = {"pool": self.kind, "pid": os.getpid(),
                  "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
        for name, _ in self.pipe.tasks:
            stats["stages"][name]["worker"] = worker
        ctx = ray.get_runtime_context()
        prev = (upstream or {}).get("ray") or {}
        stats["ray"] = {
            "nodes": sorted(set(prev.get("nodes", [])) | {ctx.get_node_id()}),
            "restarted": bool(prev.get("restarted")) or ctx.was_current_actor_reconstructed,
        }
        return stats


def init_ray(num_cpus: int | None, num_gpus: int | None, address: str | None) -> bool:
    """Start (or join, with ``address``) Ray unless it already runs; True when started here."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if address:
        kwargs["address"] = address
    else:  # our own local instance, never another user's Ray found on this machine
        kwargs.update(address="local", num_cpus=num_cpus, num_gpus=num_gpus)
    # Ray reads these from the driver's environment at start-up only; set them for the call.
    saved = {k: os.environ.get(k) for k in ("RAY_ENABLE_UV_RUN_RUNTIME_ENV",)}
    os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    try:
        ray.init(**kwargs)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return True


def default_layout(
    plan: RunPlan, cpus: int, gpus: int, shards: int, gpu_pool: bool | None = None
) -> list[PoolSpec]:
    """One CPU pool running every task, or detect (CPU) → embed (GPU) → finish (CPU) when GPUs
    exist and the resolved embedder would run on CUDA (``gpu_pool`` forces the choice: tests
    run the split layout on a logical GPU with ``device = "cpu"``). The embed pool has several
    fractional-GPU actors, each with a CPU share (:func:`~maskforge.pipeline.pools.gpu_pool_resources`)."""
    from .pools import embeds_on_cuda, gpu_pool_resources

    size = max(1, min(cpus, shards))
    split = (gpus > 0 and embeds_on_cuda(plan)) if gpu_pool is None else (gpu_pool and gpus > 0)
    if split:
        actors, res, threads = gpu_pool_resources(cpus, gpus)
        return [
            PoolSpec(("detect",), size),
            PoolSpec(("embed",), max(1, min(actors, shards)), kind="gpu", threads=threads, **res),
            PoolSpec(("finish",), size),
        ]
    return [PoolSpec(None, size)]


class _Pool:
    def __init__(self, spec: PoolSpec, plan_file: str, resume: bool) -> None:
        import ray

        cls = ray.remote(ShardActor).options(
            num_cpus=spec.num_cpus,
            num_gpus=spec.num_gpus,
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_TASK_RETRIES,
        )
        self.idle = deque(
            cls.remote(plan_file, resume, spec.stages, spec.kind, spec.threads)
            for _ in range(spec.size)
        )
        self.queue: deque[tuple[int, dict[str, Any] | None]] = deque()


def iter_ray(
    plan: RunPlan,
    todo: list[int],
    *,
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    layout: list[PoolSpec] | None = None,
) -> Iterator[dict[str, Any]]:
    """Process shards ``todo`` on Ray (an embedded local instance unless ``address`` is given).

    Yields each shard's stats as its last pool finishes it. Shards are handed out largest first,
    so the last ones to finish are small and no actor idles long at the end of a run.
    """
    import ray

    started_here = init_ray(num_cpus, num_gpus, address)
    plan_file = plan.out / "cache" / "plan.pkl"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    with open(plan_file, "wb") as fh:
        pickle.dump(plan, fh)
    try:
        res = ray.available_resources()
        cpus = max(1, int(res.get("CPU", 1)))
        gpus = int(res.get("GPU", 0))
        specs = layout or default_layout(plan, cpus, gpus, len(todo))
        pools = [_Pool(s, str(plan_file), resume) for s in specs]
        sizes = {s.index: len(s.samples) for s in plan.shards}
        pools[0].queue.extend((i, None) for i in sorted(todo, key=lambda i: (-sizes[i], i)))
        try:
            yield from _drive(pools, len(todo))
        except Exception as exc:  # a worker's MaskforgeError (DeviceError...) is the run's error
            cause = maskforge_cause(exc)
            if cause is None:
                raise
            raise cause from None
    finally:
        if started_here:
            ray.shutdown()


def _drive(pools: list[_Pool], total: int) -> Iterator[dict[str, Any]]:
    """Move shards through the pools until ``total`` shards have left the last one."""
    import ray

    running: dict[Any, tuple[int, Any]] = {}  # ref -> (pool position, actor)
    finished = 0
    while finished < total:
        for p, pool in enumerate(pools):
            while pool.queue and pool.idle:
                index, upstream = pool.queue.popleft()
                actor = pool.idle.popleft()
                running[actor.run.remote(index, upstream)] = (p, actor)
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            p, actor = running.pop(ref)
            pools[p].idle.append(actor)
            stats = ray.get(ref)
            if p + 1 < len(pools):
                pools[p + 1].queue.append((int(stats["shard"]), stats))
            else:
                finished += 1
                yield stats


def maskforge_cause(exc: BaseException) -> Exception | None:
    """The first MaskforgeError in an exception's chain (Ray wraps worker errors), or None."""
    from ..errors import MaskforgeError

    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, MaskforgeError) and not type(e).__module__.startswith("ray"):
            return e
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__]
    return None


def restart_summary(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """What the manifest records of Ray's fault tolerance in a run."""
    nodes: set[str] = set()
    restarted = 0
    for s in stats:
        info = s.get("ray") or {}
        nodes.update(info.get("nodes", []))
        restarted += bool(info.get("restarted"))
    return {"nodes": len(nodes), "shards_on_restarted_actors": restarted}

