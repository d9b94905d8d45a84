"""Up-front validation of the stage tables of a recipe (each delegated to the stage's owner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import RecipeError
from ..recipe import Key, Recipe, check_table


def _detect(table: dict[str, Any]) -> None:
    from ..detect import DetectConfig

    DetectConfig.from_dict(table)


def _embed(table: dict[str, Any]) -> None:
    from .embed_task import EMBED_SPEC

    check_table("", "embed", table, EMBED_SPEC)


def _clean(table: dict[str, Any]) -> None:
    from ..clean import CleanConfig

    CleanConfig.from_dict(table)


def _augment(table: dict[str, Any]) -> None:
    from ..augment import build_pipeline

    build_pipeline(table)


def _variants(value: Any) -> None:
    from .variant_stage import variants_of

    variants_of({"variants": value})


OCCLUDE_SPEC = {"asset_dirs": Key((list,), None, None, "folders of extra occluder assets")}


def _occlude(table: dict[str, Any]) -> None:
    check_table("", "occlude", table, OCCLUDE_SPEC)


VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "detect": _detect,
    "embed": _embed,
    "clean": _clean,
    "augment": _augment,
    "variants": _variants,
    "occlude": _occlude,
}


def check_stages(recipe: Recipe) -> None:
    """Checks across stages: what a stage needs from the ones before it."""
    data = recipe.data
    where = str(recipe.path) if recipe.path else "<recipe>"
    if "clean" in data and "detect" not in data:
        raise RecipeError(f"{where}: [clean] needs a [detect] table (embeddings are of aligned faces)")
    if "variants" in data and "detect" not in data:
        from .variant_stage import variants_of

        if any(v.occluder is not None for v in variants_of(data)):
            raise RecipeError(
                f"{where}: variants with occluders need a [detect] table (occluders are placed "
                "from the 68 landmarks)"
            )
