"""Executors: the tasks of a plan run on shards, in this process (``local``), on a pool of
worker processes of this machine (``processes``, :mod:`.process_pool`: the direct modes'
parallel path, no Ray start-up) or on Ray (:mod:`.ray_executor`: pools of long-lived actors). Both backends are given the unit of work as a
callable (:class:`~.shard_work.ShardWork`: it builds a :class:`~.shard_work.ShardPipeline` in
each worker).

Shards are the unit of work; every worker writes its own shard files and only shard numbers and
small stats travel. Every command (``run``, ``detect``, ``clean``, ``overlay``) runs its plan
through :func:`execute`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .options import ProgressFn, RunOptions
from .plan import RunPlan
from .process_pool import iter_processes
from .progress import INTERVAL_S, Board, Monitor, PoolState, Snapshot
from .quiet import redirect_output
from .ray_executor import EarlyRay, iter_ray
from .records import ShardStats
from .shard_work import ShardPipeline, ShardWork
from .tasks import task_names

__all__ = ["ProgressFn", "ShardPipeline", "ShardWork", "execute", "iter_local", "iter_ray"]


def iter_local(
    plan: RunPlan,
    todo: list[int],
    resume: bool = True,
    monitor: Monitor | None = None,
    work: Callable[..., ShardPipeline] | None = None,
) -> Iterator[ShardStats]:
    """Process shards one after another in this process with ``work`` (default: the plan's
    :class:`~.shard_work.ShardWork`); ``monitor`` gets live per-image
    :class:`~.progress.Snapshot` (at most every ``INTERVAL_S``, and after each shard)."""
    pipe = (work or ShardWork(plan.context(), resume))()
    if monitor is None:
        for index in todo:
            yield pipe(plan.shard(index))
        return
    board, t0, last, finished = Board(), time.perf_counter(), 0.0, 0
    total, tasks = sum(len(plan.shards[i].samples) for i in todo), tuple(task_names(plan))

    def show(busy: int) -> None:
        pool = PoolState("local", 1, busy, len(todo) - finished - busy)
        monitor(Snapshot(total, tasks, board.snapshot(), (pool,), finished, len(todo),
                         time.perf_counter() - t0))  # fmt: skip

    def send(task: str, shard: int, n: int) -> None:
        nonlocal last
        board.set(task, shard, n)
        if time.perf_counter() - last >= INTERVAL_S:
            last = time.perf_counter()
            show(1)

    for index in todo:
        stats = pipe(plan.shard(index), send=send)
        finished += 1
        show(0)
        yield stats


class _Terminated(SystemExit):
    """SIGTERM received while Ray runs: unwinds the driver so Ray is shut down."""


@contextlib.contextmanager
def _stop_ray_on_signals() -> Iterator[None]:
    """While Ray runs: SIGTERM unwinds the driver like Ctrl-C does (so ``ray.shutdown`` in a
    ``finally`` stops every Ray process this run started); the previous handlers, including
    any that ``ray.init`` installs, are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_term(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one unwinding is enough
        raise _Terminated(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def execute(
    plan: RunPlan,
    todo: list[int],
    options: RunOptions,
    *,
    work_dir: Path | None = None,
    info: dict[str, Any] | None = None,
    early: EarlyRay | None = None,
) -> list[ShardStats]:
    """Run every task of ``plan`` on the shards ``todo`` with ``options.executor`` (``ray``,
    ``processes``: ``options.num_cpus`` worker processes, or ``local``); returns their stats in completion order, each also passed to
    ``options.progress``.

    ``options.monitor`` receives live per-image progress (:class:`~.progress.Snapshot`); ``info``
    (a dict) receives the Ray executor's timeline (see :func:`~.ray_executor.iter_ray`). Ray's own
    output goes to ``work_dir/logs/ray.log`` (default: the run's folder). ``early``: Ray and its
    actors, started while the input was listed (:mod:`.ray_early`), for the ``ray`` executor."""
    stats: list[ShardStats] = []
    if not todo:
        return stats
    progress, monitor = options.progress, options.monitor
    work = ShardWork(plan.context(), options.resume)
    if options.executor in ("local", "processes"):
        it = (iter_local(plan, todo, options.resume, monitor, work=work) if options.executor == "local"
              else iter_processes(plan, todo, work, options.num_cpus or os.cpu_count() or 1, monitor))
        for s in it:
            stats.append(s)
            if progress:
                progress(s)
        return stats
    with _stop_ray_on_signals(), redirect_output((work_dir or plan.out) / "logs" / "ray.log"):
        it = iter_ray(plan, todo, resume=options.resume, num_cpus=options.num_cpus,
                      num_gpus=options.num_gpus, address=options.address, work_dir=work_dir,
                      monitor=monitor, info=info, work=work, early=early)  # fmt: skip
        with contextlib.closing(it):  # an interruption still runs its shutdown, here and now
            for s in it:
                stats.append(s)
                if progress:
                    progress(s)
    return stats
