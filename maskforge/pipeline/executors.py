"""Executors: the tasks of a plan run on shards, in this process (``local``) or on Ray
(:mod:`.ray_executor`: pools of long-lived actors, each running a :class:`ShardPipeline`).

Shards are the unit of work; every worker writes its own shard files and only shard numbers and
small stats travel. Every command (``run``, ``detect``, ``clean``, ``overlay``) runs its plan
through :func:`execute`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .plan import RunPlan
from .progress import INTERVAL_S, Board, Monitor, PoolState, Reporter, Send, Snapshot
from .quiet import redirect_output
from .ray_executor import iter_ray
from .tasks import plan_tasks, task_names

ProgressFn = Callable[[dict[str, Any]], None]


class ShardPipeline:
    """Every per-shard task of a plan, run in order for one shard: ``pipe(index) -> stats``.

    The stats are those of the ``finish`` task (or, in a plan without dataset tasks, the shard's
    index and input count), with each task's timings under ``stages`` and each writer task's own
    stats under its name. ``gpu`` and ``threads`` are passed to the embed task (the GPU pool of
    the Ray executor, a CPU actor's thread budget)."""

    def __init__(
        self,
        plan: RunPlan,
        resume: bool = True,
        stages: tuple[str, ...] | None = None,
        gpu: bool = False,
        threads: int | None = None,
    ) -> None:
        self.plan = plan
        self.resume = resume
        tasks = plan_tasks(plan, stages, gpu=gpu, threads=threads)
        self.tasks = [(n, t) for n, t in tasks if stages is None or n in stages]

    def warm(self) -> None:
        """Load every task's models now (a worker's start-up, not its first shard's time)."""
        import pyarrow as pa

        pa.array([0])  # pyarrow imports pandas on its first conversion: ~1 s, once per process
        for _, task in self.tasks:
            if hasattr(task, "warm"):
                task.warm()

    def __call__(
        self, index: int, upstream: dict[str, Any] | None = None, send: Send | None = None
    ) -> dict[str, Any]:
        """Run the tasks on shard ``index``; ``send(task, shard, n)`` receives each task's
        progress (:class:`~maskforge.pipeline.progress.Reporter`), its last count being the
        shard's input count."""
        stages: dict[str, Any] = dict((upstream or {}).get("stages", {}))
        inputs = len(self.plan.shards[index].samples)
        stats: dict[str, Any] = {"shard": index, "inputs": inputs}
        writers: dict[str, Any] = {}
        for name, task in self.tasks:
            reporter = Reporter(send, name, index) if send is not None else None
            s = task(index, resume=self.resume, tick=reporter)
            if reporter is not None:
                reporter.finish(inputs)
            stages[name] = {k: s.get(k) for k in ("seconds", "skipped", "model") if k in s}
            if name == "finish":
                stats = dict(s)
            elif name in self.plan.writers:
                writers[name] = s
        stats.update(writers)
        stats["stages"] = stages
        return stats


def iter_local(
    plan: RunPlan, todo: list[int], resume: bool = True, monitor: Monitor | None = None
) -> Iterator[dict[str, Any]]:
    """Process shards one after another in this process; ``monitor`` gets live per-image
    :class:`~.progress.Snapshot` (at most every ``INTERVAL_S``, and after each shard)."""
    pipe = ShardPipeline(plan, resume)
    if monitor is None:
        for index in todo:
            yield pipe(index)
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
        stats = pipe(index, send=send)
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
    *,
    executor: str = "ray",
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    progress: ProgressFn | None = None,
    monitor: Monitor | None = None,
    work_dir: Path | None = None,
    info: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run every task of ``plan`` on the shards ``todo`` with ``executor`` (``ray`` or
    ``local``); returns their stats in completion order, each also passed to ``progress``.

    ``monitor`` receives live per-image progress (:class:`~.progress.Snapshot`); ``info`` (a
    dict) receives the Ray executor's timeline (see :func:`~.ray_executor.iter_ray`). Ray's own
    output goes to ``work_dir/logs/ray.log`` (default: the run's folder)."""
    if executor not in ("ray", "local"):
        raise ValueError(f"unknown executor {executor!r}; use 'ray' or 'local'")
    stats: list[dict[str, Any]] = []
    if not todo:
        return stats
    if executor == "local":
        for s in iter_local(plan, todo, resume, monitor):
            stats.append(s)
            if progress:
                progress(s)
        return stats
    with _stop_ray_on_signals(), redirect_output((work_dir or plan.out) / "logs" / "ray.log"):
        it = iter_ray(plan, todo, resume=resume, num_cpus=num_cpus, num_gpus=num_gpus,
                      address=address, work_dir=work_dir, monitor=monitor, info=info)  # fmt: skip
        with contextlib.closing(it):  # an interruption still runs its shutdown, here and now
            for s in it:
                stats.append(s)
                if progress:
                    progress(s)
    return stats
