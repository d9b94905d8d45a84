"""The per-shard tasks a plan declares, in the order they run on a shard.

Every task is a plain callable ``task(index, resume=True, tick=None) -> stats`` built once per
worker from the run's :class:`~.context.RunContext`. A dataset plan (``maskforge run``,
``detect``, ``clean``) runs ``detect`` (when the recipe has ``[detect]``), ``embed`` (when
cleaning or ``[embed]`` asks for embeddings) and ``finish`` (the dataset shard). Direct modes
give the plan *writer* tasks (``ctx.writers``: name -> a :class:`~.context.Writer` object that
builds its task), for the files they write outside the run's folder, e.g.
:class:`~.export_task.ExportImages` (``detect --export-images``) and
:class:`~.overlay_task.OverlayWriter` (``maskforge overlay``, a plan without dataset tasks).
"""

from __future__ import annotations

from .context import RunContext, Task
from .detect_task import DetectTask
from .embed_task import EmbedTask
from .finish_task import FinishTask
from .hygiene_task import SignatureTask

__all__ = ["Task", "plan_tasks", "task_names"]


def plan_tasks(
    plan: RunContext,
    stages: tuple[str, ...] | None = None,
    *,
    gpu: bool = False,
    threads: int | None = None,
) -> list[tuple[str, Task]]:
    """``(name, task)`` for the tasks of ``plan`` named in ``stages`` (None: all), in running
    order. ``gpu`` and ``threads`` go to the embed task."""
    wanted = set(task_names(plan) if stages is None else stages) & set(task_names(plan))
    tasks: list[tuple[str, Task]] = []
    if plan.dataset:
        if plan.has("detect") and "detect" in wanted:
            tasks.append(("detect", DetectTask(plan)))
        if "embed" in wanted:
            tasks.append(("embed", EmbedTask(plan, gpu=gpu, threads=threads)))
        if "signature" in wanted:
            tasks.append(("signature", SignatureTask(plan)))
        if "finish" in wanted:
            tasks.append(("finish", FinishTask(plan)))
    tasks += [(name, w.task(plan)) for name, w in plan.writers.items() if name in wanted]
    return [(n, t) for n, t in tasks if n in wanted]


def task_names(plan: RunContext) -> list[str]:
    """The names :func:`plan_tasks` would build, without building them (``plan.only_tasks``
    restricts them: a run with ``[hygiene]`` runs its tasks in two passes)."""
    names = []
    if plan.dataset:
        if plan.has("detect"):
            names.append("detect")
            if plan.needs_embeddings:
                names.append("embed")
                if plan.has("hygiene"):
                    names.append("signature")
        names.append("finish")
    names += list(plan.writers)
    return names if plan.only_tasks is None else [n for n in names if n in plan.only_tasks]
