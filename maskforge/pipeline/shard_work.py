"""The per-shard unit of work: every task of a run, in order, on one shard.

:class:`ShardWork` is what an executor is given: a small picklable callable that builds a
:class:`ShardPipeline` in each worker (``work(stages, gpu=..., threads=...)``). It holds the
run's :class:`~.context.RunContext` (the typed recipe, keys, labels, writer tasks), never the
listing; each call of the pipeline gets its shard's :class:`~.context.ShardJob` (or, in the
process that planned the run, the shard's index).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from .context import RunContext, ShardJob
from .progress import Reporter, Send
from .records import ShardStats
from .tasks import plan_tasks

#: The context fields a run's recipe decides alone, known before its input is listed.
_FIXED_BEFORE_LISTING = ("recipe", "out", "stage_keys", "embed_identity", "writers", "dataset")


class ShardPipeline:
    """Every per-shard task of a plan, run in order for one shard: ``pipe(job) -> stats``.

    The stats are those of the ``finish`` task (or, in a plan without dataset tasks, the shard's
    index and input count), with each task's timings under ``stages`` and each writer task's own
    stats under its name. ``gpu`` and ``threads`` are passed to the embed task (the GPU pool of
    the Ray executor, a CPU actor's thread budget)."""

    def __init__(
        self,
        plan: RunContext,
        resume: bool = True,
        stages: tuple[str, ...] | None = None,
        gpu: bool = False,
        threads: int | None = None,
    ) -> None:
        self.options = (stages, gpu, threads)
        self._build(plan, resume)

    def _build(self, plan: RunContext, resume: bool) -> None:
        stages, gpu, threads = self.options
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

    def adopt(self, work: ShardWork) -> bool:
        """Take ``work``'s context in place of the one this pipeline was built from (a Ray
        actor started before the input was listed, :mod:`.ray_early`). When the two differ
        only in what planning decides (the label space and identity splits), the tasks keep
        their loaded models and see the new values (they hold this same context object); else
        the tasks are built anew. True when the models were kept."""
        ctx, new = self.plan, work.ctx
        same = all(getattr(ctx, f) == getattr(new, f) for f in _FIXED_BEFORE_LISTING)
        if same and self.resume == work.resume:
            ctx.labels, ctx.identity_splits = dict(new.labels), dict(new.identity_splits)
            return True
        self._build(new, work.resume)
        return False

    def __call__(
        self, job: ShardJob | int, upstream: ShardStats | None = None, send: Send | None = None
    ) -> ShardStats:
        """Run the tasks on shard ``job`` (a job, or the index of a shard the plan knows);
        ``send(task, shard, n)`` receives each task's progress
        (:class:`~maskforge.pipeline.progress.Reporter`), its last count being the shard's input
        count."""
        if isinstance(job, int):
            return self._run(job, upstream, send)
        self.plan.jobs[job.index] = job
        try:
            return self._run(job.index, upstream, send)
        finally:
            self.plan.jobs.pop(job.index, None)

    def _run(self, index: int, upstream: ShardStats | None, send: Send | None) -> ShardStats:
        stages: dict[str, Any] = dict((upstream or {}).get("stages", {}))
        inputs = len(self.plan.shard(index).shard.samples)
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
        return cast(ShardStats, stats)


@dataclass(frozen=True)
class ShardWork:
    """The unit of work an executor runs: ``work(stages, gpu, threads)`` builds the
    :class:`ShardPipeline` of a worker (``stages`` None: every task). Picklable and small: the
    run's context, not its listing."""

    ctx: RunContext
    resume: bool = True

    def __call__(
        self, stages: tuple[str, ...] | None = None, gpu: bool = False, threads: int | None = None
    ) -> ShardPipeline:
        return ShardPipeline(self.ctx, self.resume, stages, gpu=gpu, threads=threads)
