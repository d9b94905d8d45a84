"""The run pipeline: recipe -> plan of identity-aligned shards -> stages -> Parquet shards.

:func:`plan_run` loads the recipe and plans the run (:class:`RunPlan`, holding the frozen,
validated :class:`~maskforge.recipe.Recipe`); :func:`run_recipe` plans and runs it with
:class:`RunOptions` (what :func:`maskforge.run` builds from its keyword arguments).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RecipeError
from ..io.paths import check_destination
from ..io.sources import list_samples
from ..recipe import Recipe, load_recipe
from .context import RunContext, ShardJob
from .options import RunOptions
from .plan import RunPlan, make_plan
from .ray_early import start_early
from .runner import RunResult, run_plan

__all__ = ["RunContext", "RunOptions", "RunPlan", "RunResult", "ShardJob", "load_recipe",
           "plan_run", "resolve_paths", "run_plan", "run_recipe"]


def plan_run(
    recipe: Recipe | str | os.PathLike[str],
    *,
    input: str | os.PathLike[str] | None = None,  # noqa: A002 - the CLI's --input
    output: str | os.PathLike[str] | None = None,
    overrides: tuple[str, ...] | list[str] = (),
) -> RunPlan:
    """Load and validate a recipe (a file or a :class:`Recipe`, which is validated again, with
    ``overrides`` applied), list its input and split it into shards."""
    recipe = load_recipe(recipe, overrides)
    in_path, out_path = resolve_paths(recipe, input, output)
    check_destination(out_path, in_path, what="output")
    listing = list_samples(in_path)
    return make_plan(recipe, listing, str(in_path), Path(out_path))


def resolve_paths(
    recipe: Recipe, input: str | os.PathLike[str] | None, output: str | os.PathLike[str] | None  # noqa: A002
) -> tuple[Path, Path]:
    """The run's input and output: the given ones, else the recipe's (a relative input that
    does not exist is looked up next to the recipe file)."""
    in_path = input if input is not None else recipe.input
    out_path = output if output is not None else recipe.output
    if in_path is None:
        raise RecipeError("no input: give --input DIR or set input = \"...\" in the recipe")
    if out_path is None:
        raise RecipeError("no output: give --output DIR or set output = \"...\" in the recipe")
    return _resolve(str(in_path), recipe), Path(out_path)


def _resolve(path: str, recipe: Recipe) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists() and recipe.path is not None:
        alt = recipe.path.parent / p
        if alt.exists():
            return alt
    return p


def run_recipe(recipe: Recipe | str | os.PathLike[str], options: RunOptions) -> RunResult:
    """Plan ``recipe`` (with ``options.input``, ``output``, ``overrides``) and run it; on Ray,
    Ray and its actors start while the input is listed (:mod:`.ray_early`)."""
    recipe = load_recipe(recipe, options.overrides)
    in_path, out_path = resolve_paths(recipe, options.input, options.output)
    with start_early(recipe, options, in_path, out_path) as early:
        plan = plan_run(recipe, input=in_path, output=out_path)
        return run_plan(plan, options, early)
