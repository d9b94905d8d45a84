"""The recipe of a direct-mode command (``maskforge detect``, ``maskforge clean``): its options
as recipe tables, validated like a recipe file."""

from __future__ import annotations

from typing import Any

from ..recipe import Recipe, load_recipe


def direct_recipe(
    name: str, tables: dict[str, dict[str, Any]], overrides: tuple[str, ...] = (), licence: str = "any"
) -> Recipe:
    """The validated recipe a direct-mode command runs (``seed = 0``, ``name``, ``licence``
    (``--licence``), ``tables``; None values left out), with ``--set`` ``overrides`` applied: the
    same checks as a recipe file (the licence is checked when the run is planned)."""
    data: dict[str, Any] = {"seed": 0, "name": name, "licence": licence}
    for t, keys in tables.items():
        data[t] = {k: v for k, v in keys.items() if v is not None}
    return load_recipe(data=data, overrides=overrides)
