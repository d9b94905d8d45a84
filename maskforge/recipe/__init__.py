"""Recipes: declarative TOML descriptions of a run, validated up front by one typed schema.

A recipe has a top-level ``seed`` (every random choice of the run derives from it), optional
``input``/``output`` paths, and one table per stage. A stage runs when its table is present.
``--set key=value`` overrides any key (dotted for tables: ``--set select.per_identity=2``); values
are parsed as TOML (``7``, ``0.5``, ``true``, ``"text"``, ``[1, 2]``), bare words as strings.

The schema is one pydantic model per table (:mod:`maskforge.config` is their base), composed into
:class:`Recipe`; the stages consume the same models (``DetectConfig``, ``CleanConfig``, ...).
Validation reports one :class:`~maskforge.errors.RecipeError` per problem naming the key path:
unknown keys (with a "did you mean"), wrong types and out-of-range values. The key tables of
docs/recipes.md are generated from it: ``python -m maskforge.recipe --docs``.
"""

from __future__ import annotations

from .docs import docs_tables
from .load import apply_override, load_recipe, parse_value
from .model import ALWAYS_TABLES, STAGE_TABLES, Recipe
from .tables import EncodeTable, OccludeTable, RayTable, SelectTable, SourceTable, SplitTable

__all__ = [
    "ALWAYS_TABLES",
    "STAGE_TABLES",
    "EncodeTable",
    "OccludeTable",
    "RayTable",
    "Recipe",
    "SelectTable",
    "SourceTable",
    "SplitTable",
    "apply_override",
    "docs_tables",
    "load_recipe",
    "parse_value",
]
