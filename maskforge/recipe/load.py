"""Loading a recipe: TOML (a file, text or a dict), ``--set`` overrides, one validation."""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import RecipeError
from .model import Recipe


def load_recipe(
    path: str | os.PathLike[str] | Recipe | None = None,
    overrides: Iterable[str] = (),
    *,
    text: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Recipe:
    """Load, override and validate a recipe: the one way a :class:`Recipe` is made.

    Args:
        path: the recipe file, or a :class:`Recipe` (revalidated, with ``overrides`` applied).
        overrides: ``key=value`` strings (``--set``), applied in order.
        text: TOML text instead of a file (for tests and embedding).
        data: a recipe as a dict instead of a file.

    Raises :class:`~maskforge.errors.RecipeError`, one per problem, naming the key path.
    """
    where, source = "<recipe>", None
    if isinstance(path, Recipe):
        source, raw = path.path, path.to_dict()
        where = str(source) if source is not None else where
    elif data is not None:
        raw = copy.deepcopy(dict(data))
    elif text is not None:
        raw = _toml(text, where)
    elif path is None:
        raise RecipeError("no recipe given")
    else:
        source, where = Path(path), str(path)
        if not source.is_file():
            raise RecipeError(f"recipe {where!r} not found")
        raw = _toml(source.read_text(encoding="utf-8"), where)
    for item in overrides:
        apply_override(raw, item)
    recipe = Recipe.parse(raw, where, prefix="")
    recipe._path = source
    return recipe


def _toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{where}: not valid TOML: {exc}") from exc


def parse_value(raw: str) -> Any:
    """Parse an override value as TOML; a bare word stays a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_override(data: dict[str, Any], item: str) -> None:
    """Apply one ``key=value`` override to a recipe dict in place (validation comes after)."""
    if "=" not in item:
        raise RecipeError(f"--set {item!r}: expected key=value, e.g. --set select.per_identity=2")
    key, raw = item.split("=", 1)
    parts = [k.strip() for k in key.strip().split(".")]
    if not all(parts):
        raise RecipeError(f"--set {item!r}: empty key part")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise RecipeError(f"--set {item!r}: {part!r} is not a table")
        node = nxt
    node[parts[-1]] = parse_value(raw.strip())
