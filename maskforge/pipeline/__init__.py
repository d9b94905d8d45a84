"""The run pipeline: recipe -> plan of identity-aligned shards -> stages -> Parquet shards."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RecipeError
from ..io.paths import check_destination
from ..io.sources import list_samples
from ..recipe import Recipe, load_recipe
from .plan import RunPlan, make_plan
from .progress import Monitor
from .runner import ProgressFn, RunResult, run_plan

__all__ = ["RunPlan", "RunResult", "plan_run", "run", "load_recipe"]


def plan_run(
    recipe: Recipe | str | os.PathLike[str],
    *,
    input: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    overrides: tuple[str, ...] | list[str] = (),
) -> RunPlan:
    """Load and validate a recipe (a file or a :class:`Recipe`, which is validated again, with
    ``overrides`` applied), list its input and split it into shards."""
    recipe = load_recipe(recipe, overrides)
    in_path = input if input is not None else recipe.data.get("input")
    out_path = output if output is not None else recipe.data.get("output")
    if in_path is None:
        raise RecipeError("no input: give --input DIR or set input = \"...\" in the recipe")
    if out_path is None:
        raise RecipeError("no output: give --output DIR or set output = \"...\" in the recipe")
    in_path = _resolve(str(in_path), recipe)
    check_destination(out_path, in_path, what="output")
    listing = list_samples(in_path)
    return make_plan(recipe, listing, str(in_path), Path(out_path))


def _resolve(path: str, recipe: Recipe) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists() and recipe.path is not None:
        alt = recipe.path.parent / p
        if alt.exists():
            return alt
    return p


def run(
    recipe: Recipe | str | os.PathLike[str],
    *,
    input: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    executor: str = "ray",
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    progress: ProgressFn | None = None,
    monitor: Monitor | None = None,
) -> RunResult:
    """Run a recipe (the Python equivalent of ``maskforge run``; same names as the CLI flags)."""
    plan = plan_run(recipe, input=input, output=output, overrides=overrides)
    return run_plan(
        plan, executor=executor, resume=resume, num_cpus=num_cpus, num_gpus=num_gpus,
        address=address, progress=progress, monitor=monitor,
    )
