"""Every shipped recipe is valid, and its stage tables pass their stages' validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskforge.pipeline.variant_stage import variants_of
from maskforge.recipe import load_recipe

RECIPES = sorted((Path(__file__).resolve().parent.parent / "recipes").glob("*.toml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_is_valid(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.seed >= 0


@pytest.mark.parametrize(("name", "count"), [("casia-webface", 4), ("vggface2", 4), ("casia-glasses", 6)])
def test_reference_plans(name: str, count: int) -> None:
    recipe = load_recipe(Path(RECIPES[0]).parent / f"{name}.toml")
    plan = variants_of(recipe.data)
    assert len(plan) == count
    assert recipe.data["clean"]["method"] == "robust"
    assert recipe.data["detect"]["size"] == 112
