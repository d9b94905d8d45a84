"""The ``processes`` executor: a plan's shards on a pool of plain worker processes of this
machine, without Ray (the direct modes' parallel path: ``overlay --workers N``, ``detect`` and
``clean --executor processes``).

Starting Ray and its actors costs seconds (``ray.init`` ~3 s, an actor's start-up ~4 s on a quiet
2-core machine, see docs/benchmarks.md), which a job of a few hundred images on one machine pays
in full. Here, where it is safe (no torch imported before, no CUDA: ``overlay`` with its hand
check, ``detect`` with dlib), the models are loaded once in this process and the workers are
forked with them, so they start in milliseconds; otherwise (torch already in the process) the
workers are ``spawn``-ed and each loads its models once (the pool's initializer). Each worker then takes shards largest first, one at a
time, like a Ray actor. The unit of work is the same :class:`~.shard_work.ShardWork`
and every task is deterministic, so the bytes written are those of the ``local`` and ``ray``
executors (``tests/test_direct_safety.py`` and ``tests/test_occlude_overlay.py`` compare them).

Live progress: workers put their ``(task, shard, count)`` on a queue the driver reads while it
waits for shards (at most every ``INTERVAL_S``), then passes a :class:`~.progress.Snapshot` on.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .context import ShardJob
from .plan import RunPlan
from .progress import INTERVAL_S, Board, Monitor, PoolState, Snapshot
from .ray_actor import limit_threads
from .records import ShardStats
from .shard_work import ShardPipeline, ShardWork
from .tasks import task_names

__all__ = ["iter_processes"]

#: The worker's shard pipeline and its progress queue (set by :func:`_start` in each worker).
_PIPE: ShardPipeline | None = None
_QUEUE: Any = None


def _start(work: ShardWork | None, threads: int, progress: Any) -> None:
    """A worker's start-up: one compute thread per worker, the pipeline built and its models
    loaded (``work`` None: a forked worker, whose pipeline is the parent's, inherited).
    Ctrl-C is the driver's to handle (it cancels the queued shards and waits for the running
    ones), so a worker ignores SIGINT instead of printing a traceback of its own."""
    global _PIPE, _QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(threads)
    _QUEUE = progress
    if work is not None:
        _PIPE = work()
        _PIPE.warm()


def _send(task: str, shard: int, n: int) -> None:
    _QUEUE.put_nowait((task, shard, n))


def _run(job: ShardJob) -> ShardStats:
    """One shard, in a worker."""
    assert _PIPE is not None, "the pool's initializer builds the pipeline"
    stats = _PIPE(job, send=_send if _QUEUE is not None else None)
    for name, _ in _PIPE.tasks:  # where each task ran, as the Ray actors record it
        stats["stages"][name]["worker"] = {"pool": "processes", "pid": os.getpid()}
    return stats


def _fork_pipeline(work: ShardWork) -> ShardPipeline | None:
    """The pipeline, models loaded in this process, for forked workers to inherit; None when
    forking is unsafe, where the workers are spawned instead: no ``fork`` on this platform, torch
    already in the process (its thread pools may be running, and they do not survive a fork), or
    CUDA initialised by the models.

    When the models import torch (the hand check of ``overlay``), they are loaded with torch held
    to one thread (``OMP_NUM_THREADS=1`` when it is imported), so its OpenMP pool never starts
    here and the workers can still be forked with the models, instead of each spawned worker
    importing torch and loading them again (seconds each). :func:`_give_back_threads` restores
    torch's threads once the pool is done."""
    if "fork" not in multiprocessing.get_all_start_methods() or "torch" in sys.modules:
        return None
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        pipe = work()
        pipe.warm()
    finally:
        _set_env("OMP_NUM_THREADS", saved)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return None
    return pipe


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _give_back_threads(torch_before: bool) -> None:
    """Torch imported by :func:`_fork_pipeline` (with one thread) gets the threads it would have
    had: ``OMP_NUM_THREADS`` when set, else one per CPU this process may use."""
    torch = sys.modules.get("torch")
    if torch_before or torch is None:
        return
    env = os.environ.get("OMP_NUM_THREADS", "")
    torch.set_num_threads(int(env) if env.isdigit() and int(env) > 0 else len(os.sched_getaffinity(0)))


def iter_processes(
    plan: RunPlan,
    todo: list[int],
    work: ShardWork,
    workers: int,
    monitor: Monitor | None = None,
) -> Iterator[ShardStats]:
    """Process shards ``todo`` of ``plan`` on ``workers`` processes (at most one per shard),
    largest shards first; yields each shard's stats as it finishes. ``monitor`` gets live
    per-image :class:`~.progress.Snapshot`. A worker's exception is raised here, and the pool is
    shut down (queued shards cancelled) whatever happens.

    Where it is safe (:func:`_fork_pipeline`: ``overlay``, ``detect`` with dlib), the models
    are loaded once here and the workers are forked with them (OpenCV kept to one thread
    meanwhile, as a forked child cannot use its parent's thread pool); else each worker is a
    spawned process that loads them itself."""
    global _PIPE
    import cv2

    size = max(1, min(int(workers), len(todo)))
    torch_before = "torch" in sys.modules
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        _PIPE = _fork_pipeline(work)
        mp = multiprocessing.get_context("fork" if _PIPE is not None else "spawn")
        progress = mp.Queue() if monitor is not None else None
        pool = ProcessPoolExecutor(size, mp_context=mp, initializer=_start,
                                   initargs=(None if _PIPE is not None else work, 1, progress))
        inputs = {i: len(plan.shards[i].samples) for i in todo}
        order = sorted(todo, key=lambda i: (-inputs[i], i))
        # the first submit starts the workers (all of them, when forked)
        pending: set[Future[ShardStats]] = {pool.submit(_run, plan.shard(i)) for i in order}
    finally:
        cv2.setNumThreads(threads)
    try:
        view = _View(monitor, progress, inputs, tuple(task_names(plan)), size)
        while pending:
            done, pending = wait(pending, timeout=INTERVAL_S if monitor else None,
                                 return_when=FIRST_COMPLETED)  # fmt: skip
            for future in done:
                stats = future.result()
                view.finished(stats)
                yield stats
            view.show(len(pending))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _PIPE = None  # the driver's copy of the models
        _give_back_threads(torch_before)


class _View:
    """The driver's side of live progress: drains the workers' queue into a :class:`Board`."""

    def __init__(
        self, monitor: Monitor | None, progress: Any, inputs: dict[int, int],
        tasks: tuple[str, ...], size: int,
    ) -> None:  # fmt: skip
        self.monitor, self.progress, self.inputs, self.tasks = monitor, progress, inputs, tasks
        self.size, self.board, self.done, self.t0 = size, Board(), 0, time.perf_counter()

    def finished(self, stats: ShardStats) -> None:
        self.done += 1
        for task in self.tasks:  # a returned shard is whole, even if its last counts lag
            self.board.set(task, int(stats["shard"]), self.inputs[int(stats["shard"])])

    def show(self, pending: int) -> None:
        if self.monitor is None:
            return
        while True:
            try:
                task, shard, n = self.progress.get_nowait()
            except queue.Empty:
                break
            if task in self.tasks:
                self.board.set(task, shard, max(n, self.board.counts.get((task, shard), 0)))
        busy = min(self.size, pending)
        pool = PoolState("processes", self.size, busy, pending - busy)
        self.monitor(Snapshot(sum(self.inputs.values()), self.tasks, self.board.snapshot(), (pool,),
                              self.done, len(self.inputs), time.perf_counter() - self.t0))  # fmt: skip
