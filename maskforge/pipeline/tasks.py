"""The per-shard tasks a plan declares, in the order they run on a shard.

Every task is a plain callable ``task(index, resume=True) -> stats`` built once per worker from
the plan. A dataset plan (``maskforge run``, ``detect``, ``clean``) runs ``detect`` (when the
recipe has ``[detect]``), ``embed`` (when cleaning or ``[embed]`` asks for embeddings) and
``finish`` (the dataset shard). Direct modes add *writer* tasks, named in ``plan.writers``, for the
files they write outside the run's folder:

- ``images`` (``maskforge detect --export-images``): a shard's dataset images as image files;
- ``overlay`` (``maskforge overlay``, a plan without dataset tasks): occluded copies of the input
  images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .plan import RunPlan

Task = Callable[..., dict[str, Any]]


def _writer(name: str) -> Callable[[RunPlan, dict[str, Any]], Task]:
    if name == "images":
        from .export_task import ExportImagesTask

        return ExportImagesTask
    if name == "overlay":
        from .overlay_task import OverlayTask

        return OverlayTask
    raise ValueError(f"unknown writer task {name!r}")


def plan_tasks(
    plan: RunPlan,
    stages: tuple[str, ...] | None = None,
    *,
    gpu: bool = False,
    threads: int | None = None,
) -> list[tuple[str, Task]]:
    """``(name, task)`` for the tasks of ``plan`` named in ``stages`` (None: all), in running
    order. ``gpu`` and ``threads`` go to the embed task."""
    wanted = set(task_names(plan) if stages is None else stages)
    tasks: list[tuple[str, Task]] = []
    if plan.dataset:
        from .detect_task import DetectTask
        from .embed_task import EmbedTask
        from .finish_task import FinishTask

        if plan.has("detect"):
            tasks.append(("detect", DetectTask(plan)))
            if plan.needs_embeddings and "embed" in wanted:
                tasks.append(("embed", EmbedTask(plan, gpu=gpu, threads=threads)))
        tasks.append(("finish", FinishTask(plan)))
    tasks += [(name, _writer(name)(plan, opts)) for name, opts in plan.writers.items() if name in wanted]
    return [(n, t) for n, t in tasks if n in wanted]


def task_names(plan: RunPlan) -> list[str]:
    """The names :func:`plan_tasks` would build, without building them."""
    names = []
    if plan.dataset:
        if plan.has("detect"):
            names.append("detect")
            if plan.needs_embeddings:
                names.append("embed")
        names.append("finish")
    return names + list(plan.writers)
