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
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .plan import RunPlan
from .progress import Monitor, Snapshot

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
    CUDA context in every CPU actor. ``board``: the run's progress board (an actor), told of
    each task's progress without waiting."""

    def __init__(
        self,
        plan_file: str,
        resume: bool,
        stages: tuple[str, ...] | None,
        kind: str = "cpu",
        threads: int | None = 1,
        board: Any = None,
    ) -> None:
        from .executors import ShardPipeline

        if kind == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if threads:
            limit_threads(threads)
        with open(plan_file, "rb") as fh:
            plan = pickle.load(fh)
        self.kind = kind
        self.board = board
        self.pipe = ShardPipeline(plan, resume, stages, gpu=kind == "gpu", threads=threads)

    def warm(self) -> int:
        """Load the models of this actor's tasks; returns the actor's process id."""
        self.pipe.warm()
        return os.getpid()

    def _send(self, task: str, shard: int, n: int) -> None:
        self.board.set.remote(task, shard, n)

    def run(self, index: int, upstream: dict[str, Any] | None) -> dict[str, Any]:
        import cv2
        import ray

        stats = self.pipe(index, upstream, send=self._send if self.board is not None else None)
        # torch's threads: its pool where a task imported it, else the size it would start with
        torch = sys.modules.get("torch")
        torch_threads = torch.get_num_threads() if torch else int(os.environ.get("OMP_NUM_THREADS", 0))
        worker = {"pool": self.kind, "pid": os.getpid(),
                  "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                  "threads": {"opencv": cv2.getNumThreads(), "torch": torch_threads}}
        for name, _ in self.pipe.tasks:
            stats["stages"][name]["worker"] = worker
        ctx = ray.get_runtime_context()
        prev = (upstream or {}).get("ray") or {}
        stats["ray"] = {
            "nodes": sorted(set(prev.get("nodes", [])) | {ctx.get_node_id()}),
            "restarted": bool(prev.get("restarted")) or ctx.was_current_actor_reconstructed,
        }
        return stats


def limit_threads(n: int) -> None:
    """Keep this worker process to ``n`` threads of compute (its Ray CPU share): OpenCV and
    torch would otherwise each start a thread per core of the machine in every actor, and the
    actors of a node would fight over its cores. Called in actor processes only. torch is not
    imported for this (an overlay actor never needs it): ``OMP_NUM_THREADS`` sizes its pool when
    a task imports it, and an already imported torch is set directly."""
    import cv2

    cv2.setNumThreads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(n)


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
) -> Iterator[dict[str, Any]]:
    """Process shards ``todo`` on Ray (an embedded local instance unless ``address`` is given).

    Yields each shard's stats as its last pool finishes it (:class:`~.ray_driver.Driver`:
    largest shards first, an idle actor gets the next shard at once). Every actor is created
    and loads its models once, before the first shard is handed out. The pickled plan the
    actors load goes to ``work_dir/cache/plan.pkl`` (default: the run's folder). ``monitor``
    gets live per-image :class:`~.progress.Snapshot`. ``info`` (a dict) receives the run's
    timeline: ``init_s`` (starting or joining Ray), ``warm_s`` (actors created, models
    loaded), ``actors``, then the driver's (``work_s``, ``tail_s``, per-pool utilisation).
    An instance started here is shut down at the end, every Ray process it started included
    (:mod:`.ray_procs`), also when the caller closes the generator early (an interruption).
    """
    import ray

    from .ray_driver import Driver, make_board, warm
    from .tasks import task_names

    info = info if info is not None else {}
    inputs = {i: len(plan.shards[i].samples) for i in todo}
    tasks = tuple(task_names(plan))

    def phase(text: str) -> None:
        if monitor is not None:
            monitor(Snapshot(sum(inputs.values()), tasks, {}, shards=len(todo), phase=text))
    # an instance started here is stopped here, whatever happens; one only joined is left running
    ours = not ray.is_initialized()
    local = ours and not address
    try:
        t0 = time.perf_counter()
        phase("joining Ray at " + address if address else "starting Ray")
        init_ray(num_cpus, num_gpus, address)
        info["init_s"] = round(time.perf_counter() - t0, 3)
        board = make_board() if monitor is not None else None
        t1 = time.perf_counter()
        pools = _make_pools(plan, len(todo), resume, layout, work_dir or plan.out, board)
        phase(f"loading models on {sum(len(p.actors) for p in pools)} Ray actors")
        try:
            pids = warm(pools)
            info.update(warm_s=round(time.perf_counter() - t1, 3), actors=len(pids))
            driver = Driver(pools, todo, inputs, tasks, monitor, board)
            yield from driver
            info.update(driver.timeline())
        except Exception as exc:  # a worker's MaskforgeError (DeviceError...) is the run's error
            cause = maskforge_cause(exc)
            if cause is None:
                raise
            raise cause from None
    finally:
        if ours:
            _shutdown(local)


def _make_pools(
    plan: RunPlan, shards: int, resume: bool, layout: list[PoolSpec] | None, work_dir: Path, board: Any
) -> list[Any]:
    """The run's actor pools (:class:`~.ray_driver.Pool`), sized from the cluster's resources
    unless ``layout`` is given; the actors load the plan pickled to ``work_dir/cache/plan.pkl``."""
    import ray

    from .ray_driver import Pool

    plan_file = work_dir / "cache" / "plan.pkl"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    with open(plan_file, "wb") as fh:
        pickle.dump(plan, fh)
    res = ray.available_resources()
    cpus = max(1, int(res.get("CPU", 1)))
    gpus = int(res.get("GPU", 0))
    specs = layout or default_layout(plan, cpus, gpus, shards)
    return [Pool(s, str(plan_file), resume, board) for s in specs]


def _shutdown(local: bool) -> None:
    """Stop the Ray instance this run started, and (``local``) every Ray process it started,
    also those of an interrupted start-up."""
    import ray

    from .ray_procs import ray_descendants, reap

    procs = ray_descendants() if local else []
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


def restart_summary(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """What the manifest records of Ray's fault tolerance in a run."""
    nodes: set[str] = set()
    restarted = 0
    for s in stats:
        info = s.get("ray") or {}
        nodes.update(info.get("nodes", []))
        restarted += bool(info.get("restarted"))
    return {"nodes": len(nodes), "shards_on_restarted_actors": restarted}

