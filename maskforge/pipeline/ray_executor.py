"""The Ray executor: shards streamed through pools of long-lived Ray actors.

Each pool is a set of actors that run some of a shard's tasks (``ShardPipeline`` over a subset of
stages); a shard flows from one pool to the next (detect → embed → finish on a GPU layout, or all
tasks in one CPU pool). Actors are created once per run and load their models once.

Fault tolerance is Ray's own: actors are created with ``max_restarts`` and ``max_task_retries``,
so when a node is lost its actors are restarted elsewhere and the shard calls that were running
on them are retried by Ray. A shard's tasks are idempotent (a half-written shard is never marked
done, see :mod:`maskforge.io.writer`), so a retried shard gives the same bytes. The stats of a
shard computed on a restarted actor carry ``ray.restarted = True``; the manifest counts them.

Nothing is grouped or shuffled through Ray: shard indexes go out, small stats dicts come back
(and, for the progress display, small counts go to a board actor on the driver's node).
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from ..io.writer import atomic_path
from .context import RunContext
from .plan import RunPlan
from .pools import embeds_on_cuda, gpu_pool_resources
from .progress import Monitor, Snapshot
from .ray_actor import MAX_RESTARTS, MAX_TASK_RETRIES, PoolSpec, ShardActor, limit_threads
from .ray_driver import Driver, Pool, make_board, warm
from .records import ShardStats
from .shard_work import ShardWork
from .tasks import task_names

__all__ = ["MAX_RESTARTS", "MAX_TASK_RETRIES", "EarlyRay", "PoolSpec", "ShardActor", "default_layout",
           "init_ray", "iter_ray", "limit_threads", "maskforge_cause", "restart_summary"]

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
    else:  # a new instance of our own, never one another program left running on this machine
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
    plan: RunContext, cpus: int, gpus: int, shards: int, gpu_pool: bool | None = None
) -> list[PoolSpec]:
    """One CPU pool running every task, or detect (CPU) → embed (GPU) → finish (CPU) when GPUs
    exist and the resolved embedder would run on CUDA (``gpu_pool`` forces the choice: tests
    run the split layout on a logical GPU with ``device = "cpu"``). The embed pool has several
    fractional-GPU actors, each with a CPU share (:func:`~maskforge.pipeline.pools.gpu_pool_resources`)."""
    size = max(1, min(cpus, shards))
    split = (gpus > 0 and embeds_on_cuda(plan)) if gpu_pool is None else (gpu_pool and gpus > 0)
    if split:
        actors, res, threads = gpu_pool_resources(cpus, gpus)
        return [
            PoolSpec(("detect",), size),
            PoolSpec(("embed",), max(1, min(actors, shards)), kind="gpu", threads=threads, **res),
            PoolSpec(("finish", *plan.writers), size),
        ]
    return [PoolSpec(None, size)]


def iter_ray(
    plan: RunPlan,
    todo: list[int],
    *,
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    layout: list[PoolSpec] | None = None,
    work_dir: Path | None = None,
    monitor: Monitor | None = None,
    info: dict[str, Any] | None = None,
    work: Callable[..., Any] | None = None,
    early: EarlyRay | None = None,
) -> Generator[ShardStats, None, None]:
    """Process shards ``todo`` on Ray (an embedded local instance unless ``address`` is given),
    yielding each shard's stats as its last pool finishes it (:class:`~.ray_driver.Driver`).

    Every actor loads ``work`` (default: the plan context's :class:`~.shard_work.ShardWork`,
    pickled to ``work_dir/cache/work.pkl``; default folder: the run's) and its models once; each
    call carries one shard's :class:`~.context.ShardJob`. ``monitor``: live
    :class:`~.progress.Snapshot`; ``info`` receives the timeline (``init_s``, ``warm_s``,
    ``actors``, then the driver's ``work_s``, ``tail_s``, per-pool utilisation). An instance
    started here is shut down at the end with every Ray process it started (:mod:`.ray_procs`),
    also when the caller closes the generator early.

    ``early``: Ray and the actors started while the input was listed (:class:`EarlyRay`); they
    are taken over (``info["waited_s"]``: how long the driver still waited for them).
    """
    import ray

    info = info if info is not None else {}
    work = work if work is not None else ShardWork(plan.context(), resume)
    inputs = {i: len(plan.shards[i].samples) for i in todo}
    tasks = tuple(task_names(plan))

    def phase(text: str) -> None:
        if monitor is not None:
            monitor(Snapshot(sum(inputs.values()), tasks, {}, shards=len(todo), phase=text))
    # an instance started here is stopped here, whatever happens; one only joined is left running
    ours = early.ours if early is not None else not ray.is_initialized()
    local = ours and not address
    try:
        t0 = time.perf_counter()
        phase("joining Ray at " + address if address else "starting Ray")
        if early is None:
            init_ray(num_cpus, num_gpus, address)
            info["init_s"] = round(time.perf_counter() - t0, 3)
            board = make_board() if monitor is not None else None
            t1 = time.perf_counter()
            pools = _make_pools(plan, work, len(todo), layout, work_dir or plan.out, board)
        else:
            pools, board = early.pools_for(work, len(todo))
        phase(f"loading models on {sum(len(p.actors) for p in pools)} Ray actors")
        try:
            if early is None:
                pids = warm(pools)
                info.update(warm_s=round(time.perf_counter() - t1, 3), actors=len(pids))
            else:
                info.update(early.adopt(pools, work), waited_s=round(time.perf_counter() - t0, 3))
            jobs = {i: plan.shard(i) for i in todo}
            driver = Driver(pools, jobs, inputs, tasks, monitor, board)
            yield from driver
            info.update(driver.timeline())
        except Exception as exc:  # a worker's MaskforgeError (DeviceError...) is the run's error
            cause = maskforge_cause(exc)
            if cause is None:
                raise
            raise cause from None
    finally:
        if ours:
            t2 = time.perf_counter()
            _shutdown(local)
            info["shutdown_s"] = round(time.perf_counter() - t2, 3)


def _make_pools(
    plan: RunContext, work: Callable[..., Any], shards: int, layout: list[PoolSpec] | None,
    work_dir: Path, board: Any,
) -> list[Pool]:
    """The run's actor pools (:class:`~.ray_driver.Pool`), sized from the cluster's resources
    unless ``layout`` is given; the actors load ``work`` pickled to ``work_dir/cache/work.pkl``."""
    import ray

    work_file = work_dir / "cache" / "work.pkl"
    with atomic_path(work_file) as tmp, open(tmp, "wb") as fh:  # whole, or not there
        pickle.dump(work, fh)
    res = ray.available_resources()
    cpus = max(1, int(res.get("CPU", 1)))
    gpus = int(res.get("GPU", 0))
    specs = layout or default_layout(plan, cpus, gpus, shards)
    return [Pool(s, str(work_file), board) for s in specs]


class EarlyRay:
    """Ray started, and the actors created and loading their models, in a background thread
    while the driver lists the input and plans the run (:mod:`.ray_early`): what the recipe
    alone decides (:func:`~.plan.recipe_context`) is enough to load the models; the label space
    comes with the final unit of work (:meth:`ShardActor.adopt`).

    Pools are sized for ``num_cpus`` shards (the shard count is not known yet); surplus actors
    are let go once it is. :meth:`close` shuts down an instance that no run took over.

    The thread lives until :meth:`close`: Ray starts its own processes with a parent-death
    signal, which Linux ties to the *thread* that started them, so they would be killed the
    moment a thread that only started Ray ended."""

    def __init__(
        self, ctx: RunContext, num_cpus: int | None, num_gpus: int | None, address: str | None,
        work_dir: Path,
    ) -> None:  # fmt: skip
        import ray

        self.ctx, self.work_dir = ctx, work_dir
        self.args = (num_cpus, num_gpus, address)
        self.ours = not ray.is_initialized()
        self.taken = False
        self.error: BaseException | None = None
        self.pools: list[Pool] = []
        self.board: Any = None
        self.warming: dict[Any, Any] = {}  # actor -> its warm call
        self.times: dict[str, float] = {}
        self.t0 = time.perf_counter()
        self.ready, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._start, name="maskforge-ray-start", daemon=True)
        self.thread.start()

    def _start(self) -> None:
        import ray

        try:
            init_ray(*self.args)
            self.times["init_s"] = time.perf_counter() - self.t0
            self.board = make_board()
            work = ShardWork(self.ctx, True)
            cpus = max(1, int(ray.available_resources().get("CPU", 1)))
            self.pools = _make_pools(self.ctx, work, cpus, None, self.work_dir, self.board)
            self.warming = {a: a.warm.remote() for p in self.pools for a in p.actors}
        except BaseException as exc:  # noqa: BLE001 - raised in the driver by pools_for
            self.error = exc
        finally:
            self.ready.set()
        self.done.wait()  # Ray's processes die with the thread that started them

    def pools_for(self, work: Callable[..., Any], shards: int) -> tuple[list[Pool], Any]:
        """Wait for the start-up, then the pools with at most ``shards`` actors each (the
        others are let go), the progress board; ``work`` is pickled where restarted actors
        read it."""
        import ray

        self.ready.wait()
        self.taken = True
        if self.error is not None:
            raise self.error
        with atomic_path(self.work_dir / "cache" / "work.pkl") as tmp, open(tmp, "wb") as fh:  # what a restarted actor loads
            pickle.dump(work, fh)
        for pool in self.pools:
            for actor in pool.actors[max(1, shards):]:
                ray.kill(actor)
            pool.actors = pool.actors[: max(1, shards)]
            pool.idle = type(pool.idle)(pool.actors)
        return self.pools, self.board

    def adopt(self, pools: list[Pool], work: Callable[..., Any]) -> dict[str, Any]:
        """Wait for the models, hand every actor the final ``work``; the timeline's start-up
        part (``init_s``, ``warm_s``: both from the early start, ``models_kept``)."""
        import ray

        ray.get([self.warming[a] for p in pools for a in p.actors])
        self.times["warm_s"] = time.perf_counter() - self.t0 - self.times["init_s"]
        ref = ray.put(work)
        kept = ray.get([a.adopt.remote(ref) for p in pools for a in p.actors])
        return {"init_s": round(self.times["init_s"], 3), "warm_s": round(self.times["warm_s"], 3),
                "actors": len(kept), "models_kept": all(kept), "early_start": True}  # fmt: skip

    def close(self) -> None:
        """Shut down the Ray instance started here when no run took it over (a run that took
        it over has shut it down already), then let the thread end."""
        self.ready.wait()
        if not self.taken and self.ours:
            _shutdown(not self.args[2])
        self.done.set()
        self.thread.join()


def _shutdown(local: bool) -> None:
    """Stop the Ray instance this run started, and (``local``) every Ray process it started,
    also those of an interrupted start-up."""
    import ray

    from .ray_procs import ray_descendants, reap, stop_monitor

    procs = ray_descendants() if local else []
    stop_monitor(procs)  # else ray.shutdown() waits a second for it (see ray_procs)
    if ray.is_initialized():
        ray.shutdown()
    reap(procs)


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


def restart_summary(stats: list[ShardStats]) -> dict[str, Any]:
    """What the manifest records of Ray's fault tolerance in a run."""
    nodes: set[str] = set()
    restarted = 0
    for s in stats:
        info = s.get("ray") or {}
        nodes.update(info.get("nodes", []))
        restarted += bool(info.get("restarted"))
    return {"nodes": len(nodes), "shards_on_restarted_actors": restarted}

