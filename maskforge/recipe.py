"""Recipes: declarative TOML descriptions of a run, validated up front.

A recipe has a top-level ``seed`` (every random choice of the run derives from it), optional
``input``/``output`` paths, and one table per stage. A stage runs when its table is present.
``--set key=value`` overrides any key (dotted for tables: ``--set select.per_identity=2``); values
are parsed as TOML (``7``, ``0.5``, ``true``, ``"text"``, ``[1, 2]``), bare words as strings.

Validation reports one clear :class:`~maskforge.errors.RecipeError` per problem: unknown keys (with
a suggestion), wrong types and out-of-range values. Stage tables owned by a stage module
(``detect``, ``embed``, ``clean``, ``augment``, ``variants``) are validated by that module.
"""

from __future__ import annotations

import copy
import difflib
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RecipeError


@dataclass(frozen=True)
class Key:
    """A recipe key: accepted types, default, and an optional check returning an error or None."""

    types: tuple[type, ...]
    default: Any = None
    check: Callable[[Any], str | None] | None = None
    doc: str = ""


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {', '.join(map(repr, choices))}"

    return check


def _fraction(v: Any) -> str | None:
    return None if 0.0 <= v < 1.0 else "must be in [0, 1)"


_INT = (int,)
_NUM = (int, float)
_STR = (str,)
_BOOL = (bool,)

#: Tables validated here (key -> spec). Stage tables not listed are validated by their modules.
SPEC: dict[str, dict[str, Key]] = {
    "": {
        "seed": Key(_INT, 0, _non_negative, "root seed of every random choice"),
        "name": Key(_STR, "maskforge-run", None, "a name for the run"),
        "input": Key(_STR, None, None, "dataset folder or list file"),
        "output": Key(_STR, None, None, "output folder"),
        "input_license": Key(_STR, None, None, "the input dataset's terms (for OUT/README.md)"),
    },
    "source": {
        "shard_size": Key(_INT, 1000, _positive, "target images per shard (whole identities)"),
        "max_pixels": Key(_INT, 40_000_000, _positive, "decompression-bomb guard (pixels)"),
        "min_side": Key(_INT, 1, _positive, "reject images smaller than this (pixels)"),
        "limit_identities": Key(_INT, None, _positive, "only the first N identities (testing)"),
    },
    "encode": {
        "image_format": Key(_STR, "jpeg", _one_of("jpeg", "png", "webp"), "encoding of images"),
        "quality": Key(_INT, 95, lambda v: None if 1 <= v <= 100 else "must be in 1..100"),
    },
    "select": {
        "per_identity": Key(_INT, None, _positive, "images kept per identity (N)"),
        "min_images": Key(_INT, 1, _positive, "drop identities with fewer images"),
        "max_identities": Key(_INT, None, _positive, "keep at most this many identities"),
    },
    "split": {
        "val_fraction": Key(_NUM, 0.1, _fraction, "fraction held out for validation"),
        "by": Key(_STR, "identity", _one_of("identity", "image"), "split unit"),
    },
    "ray": {
        "num_cpus": Key(_INT, None, _positive, "CPUs for the embedded Ray"),
        "num_gpus": Key(_INT, None, _non_negative, "GPUs for the embedded Ray"),
        "address": Key(_STR, None, None, "join an existing cluster (auto or ray://host:port)"),
    },
}

#: Tables that always exist (filled with defaults); the others switch a stage on when present.
ALWAYS_TABLES = ("source", "encode", "ray")

#: Stage tables whose content is validated by the stage module that owns them.
STAGE_TABLES = ("detect", "embed", "clean", "augment", "occlude", "variants")


@dataclass
class Recipe:
    """A validated recipe. ``data`` holds every table with defaults filled in."""

    data: dict[str, Any]
    path: Path | None = None

    @property
    def seed(self) -> int:
        return int(self.data["seed"])

    def table(self, name: str) -> dict[str, Any] | None:
        """A stage table, or None when the recipe does not run that stage."""
        value = self.data.get(name)
        return None if value is None else value

    def has(self, name: str) -> bool:
        return name in self.data

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


def load_recipe(
    path: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    *,
    text: str | None = None,
    validators: Mapping[str, Callable[[Any], Any]] | None = None,
) -> Recipe:
    """Load, override and validate a recipe from a TOML file (or ``text``).

    Args:
        path: the recipe file.
        overrides: ``key=value`` strings (``--set``), applied in order.
        text: TOML text instead of a file (for tests and embedding).
        validators: extra table validators (``name -> callable(table)``) that raise RecipeError.
    """
    where = str(path) if path is not None else "<recipe>"
    if text is None:
        if path is None:
            raise RecipeError("no recipe given")
        p = Path(path)
        if not p.is_file():
            raise RecipeError(f"recipe {where!r} not found")
        text = p.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{where}: not valid TOML: {exc}") from exc
    for item in overrides:
        apply_override(data, item)
    data = validate(data, where, validators)
    return Recipe(data=data, path=Path(path) if path is not None else None)


def parse_value(raw: str) -> Any:
    """Parse an override value as TOML; a bare word stays a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_override(data: dict[str, Any], item: str) -> None:
    """Apply one ``key=value`` override to a recipe dict in place."""
    if "=" not in item:
        raise RecipeError(f"--set {item!r}: expected key=value, e.g. --set select.per_identity=2")
    key, raw = item.split("=", 1)
    parts = [k.strip() for k in key.strip().split(".")]
    if not all(parts):
        raise RecipeError(f"--set {item!r}: empty key part")
    node = data
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise RecipeError(f"--set {item!r}: {part!r} is not a table")
        node = nxt
    node[parts[-1]] = parse_value(raw.strip())


def _unknown(where: str, table: str, key: str, known: Iterable[str]) -> RecipeError:
    full = f"{table}.{key}" if table else key
    near = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return RecipeError(
        f"{where}: unknown key {full!r}{hint}; known keys here: {', '.join(sorted(known))}"
    )


def check_table(where: str, table: str, values: Mapping[str, Any], spec: Mapping[str, Key]) -> dict:
    """Validate ``values`` against ``spec``; return a copy with defaults filled in."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in spec:
            raise _unknown(where, table, key, spec)
        ks = spec[key]
        full = f"{table}.{key}" if table else key
        ok = isinstance(value, ks.types) and not (isinstance(value, bool) and bool not in ks.types)
        if not ok:
            names = " or ".join(t.__name__ for t in ks.types)
            raise RecipeError(f"{where}: {full} must be {names}, got {value!r}")
        if ks.check is not None:
            problem = ks.check(value)
            if problem:
                raise RecipeError(f"{where}: {full} {problem}, got {value!r}")
        out[key] = value
    for key, ks in spec.items():
        out.setdefault(key, ks.default)
    return out


def validate(
    data: dict[str, Any],
    where: str = "<recipe>",
    validators: Mapping[str, Callable[[Any], Any]] | None = None,
) -> dict[str, Any]:
    """Validate a recipe dict; return it with defaults filled in."""
    top_known = set(SPEC[""]) | (set(SPEC) - {""}) | set(STAGE_TABLES)
    top_values = {}
    for key, value in data.items():
        if key not in top_known:
            raise _unknown(where, "", key, top_known)
        if key in SPEC[""]:
            top_values[key] = value
        elif key == "variants":
            if not isinstance(value, list | str):
                raise RecipeError(
                    f"{where}: variants must be a built-in plan name (variants = \"reference\") "
                    "or an array of tables ([[variants]])"
                )
        elif not isinstance(value, dict):
            raise RecipeError(f"{where}: {key} must be a table ([{key}]), got {value!r}")
    out = check_table(where, "", top_values, SPEC[""])
    for table, spec in SPEC.items():
        if table in ALWAYS_TABLES or (table and table in data):
            out[table] = check_table(where, table, data.get(table, {}), spec)
    for table in STAGE_TABLES:
        if table in data:
            out[table] = copy.deepcopy(data[table])
            validator = (validators or {}).get(table)
            if validator is not None:
                try:
                    validator(out[table])
                except RecipeError as exc:
                    raise RecipeError(f"{where}: [{table}] {exc}") from exc
    return out
