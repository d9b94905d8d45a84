"""Executors: the tasks of a plan run on shards, in this process (``local``) or on Ray.

Shards of whole identities are the unit of work. The Ray executor never groups or shuffles through
Ray: it streams shard indexes through an actor pool of workers (models loaded once per actor),
and every worker writes its own shard files. Every command (``run``, ``detect``, ``clean``,
``overlay``) runs its plan through :func:`execute`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .plan import RunPlan
from .quiet import redirect_output
from .tasks import plan_tasks

ProgressFn = Callable[[dict[str, Any]], None]


class ShardPipeline:
    """Every per-shard task of a plan, run in order for one shard: ``pipe(index) -> stats``.

    The stats are those of the ``finish`` task (or, in a plan without dataset tasks, the shard's
    index and input count), with each task's timings under ``stages`` and each writer task's own
    stats under its name."""

    def __init__(self, plan: RunPlan, resume: bool = True, stages: tuple[str, ...] | None = None) -> None:
        self.plan = plan
        self.resume = resume
        self.tasks = [(n, t) for n, t in plan_tasks(plan) if stages is None or n in stages]

    def __call__(self, index: int, upstream: dict[str, Any] | None = None) -> dict[str, Any]:
        stages: dict[str, Any] = dict((upstream or {}).get("stages", {}))
        stats: dict[str, Any] = {"shard": index, "inputs": len(self.plan.shards[index].samples)}
        writers: dict[str, Any] = {}
        for name, task in self.tasks:
            s = task(index, resume=self.resume)
            stages[name] = {k: s.get(k) for k in ("seconds", "skipped", "model") if k in s}
            if name == "finish":
                stats = dict(s)
            elif name in self.plan.writers:
                writers[name] = s
        stats.update(writers)
        stats["stages"] = stages
        return stats


def iter_local(plan: RunPlan, todo: list[int], resume: bool = True) -> Iterator[dict[str, Any]]:
    """Process shards one after another in this process."""
    pipe = ShardPipeline(plan, resume)
    for index in todo:
        yield pipe(index)


class _RayStageWorker:
    """Ray Data actor running some of a shard's tasks; the plan is loaded once per actor."""

    def __init__(self, plan_file: str, resume: bool, stages: tuple[str, ...] | None) -> None:
        with open(plan_file, "rb") as fh:
            plan = pickle.load(fh)
        self.pipe = ShardPipeline(plan, resume, stages)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = []
        for i, prev in zip(batch["shard"], batch["stats"], strict=True):
            upstream = json.loads(prev) if prev else None
            out.append(json.dumps(self.pipe(int(i), upstream), default=str))
        return {"shard": batch["shard"], "stats": out}


def _init_ray(num_cpus: int | None, num_gpus: int | None, address: str | None) -> bool:
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if address:
        kwargs["address"] = address
    else:  # a new instance of our own, never one another program left running on this machine
        kwargs.update(address="local", num_cpus=num_cpus, num_gpus=num_gpus)
    ray.init(**kwargs)
    for name in ("ray", "ray.data", "ray._private", "ray.util"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return True


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


def iter_ray(
    plan: RunPlan,
    todo: list[int],
    *,
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    work_dir: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Process shards on Ray (an embedded local instance unless ``address`` is given).

    Without GPUs, one pool of CPU actors runs every task of a shard (no hand-off cost). With
    GPUs, detection runs on a CPU actor pool, embedding on a GPU actor pool and the rest on a CPU
    pool; Ray Data streams shards through them so CPU and GPU stages overlap. The pickled plan
    the actors load goes to ``work_dir/cache/plan.pkl`` (default: the run's folder).
    """
    import warnings

    import ray

    started_here = _init_ray(num_cpus, num_gpus, address)
    plan_file = (work_dir or plan.out) / "cache" / "plan.pkl"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    with open(plan_file, "wb") as fh:
        pickle.dump(plan, fh)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ctx.verbose_progress = False
        ctx.enable_operator_progress_bars = False
        cpus = max(1, int(ray.available_resources().get("CPU", 1)))
        gpus = int(ray.available_resources().get("GPU", 0))
        ds = ray.data.from_items(
            [{"shard": i, "stats": ""} for i in todo], override_num_blocks=len(todo)
        )

        def pool(stages: tuple[str, ...] | None, size: int, **res: Any) -> None:
            nonlocal ds
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = ds.map_batches(
                    _RayStageWorker,
                    fn_constructor_kwargs={"plan_file": str(plan_file), "resume": resume, "stages": stages},
                    batch_size=1,
                    compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, min(size, len(todo)))),
                    max_restarts=3,
                    max_task_retries=3,
                    **res,
                )

        if gpus and plan.needs_embeddings:
            pool(("detect",), cpus, num_cpus=1)
            pool(("embed",), gpus, num_gpus=1, num_cpus=0)
            pool(("finish", *plan.writers), cpus, num_cpus=1)
        else:
            pool(None, cpus, num_cpus=1)
        for row in ds.iter_rows():
            yield json.loads(row["stats"])
    finally:
        if started_here:
            from .ray_procs import ray_descendants, reap

            procs = ray_descendants()
            ray.shutdown()
            reap(procs)


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
    work_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run every task of ``plan`` on the shards ``todo`` with ``executor`` (``ray`` or
    ``local``); returns their stats in completion order, each also passed to ``progress``.

    Ray's own output goes to ``work_dir/logs/ray.log`` (default: the run's folder)."""
    if executor not in ("ray", "local"):
        raise ValueError(f"unknown executor {executor!r}; use 'ray' or 'local'")
    stats: list[dict[str, Any]] = []
    if not todo:
        return stats
    if executor == "local":
        for s in iter_local(plan, todo, resume):
            stats.append(s)
            if progress:
                progress(s)
        return stats
    with _stop_ray_on_signals(), redirect_output((work_dir or plan.out) / "logs" / "ray.log"):
        it = iter_ray(plan, todo, resume=resume, num_cpus=num_cpus, num_gpus=num_gpus,
                      address=address, work_dir=work_dir)  # fmt: skip
        with contextlib.closing(it):  # an interruption still runs its shutdown, here and now
            for s in it:
                stats.append(s)
                if progress:
                    progress(s)
    return stats
