"""``OUT/recipe.toml``: the fully resolved recipe of a run, input and output included.

Every key carries the value the run used (defaults filled in; the input and output as absolute
paths, also when they came from the command line), so ``maskforge run OUT/recipe.toml`` plans the
same run again. Keys whose value is absent (``None``) are left out: loading fills them back in.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from ..io.writer import write_text_atomic
from .context import RunContext

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")

HEADER = (
    "# The fully resolved recipe of this run, written by maskforge.\n"
    "# `maskforge run recipe.toml` plans the same run again (same input, output and seed).\n"
)


def _string(s: str) -> str:
    """A TOML basic string (JSON's escapes, plus DEL, which TOML also forbids raw)."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _string(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None)
        return "{" + items + "}" if items else "{}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _emit(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    """Scalars of ``table`` first, then its sub-tables, then its arrays of tables."""
    for k, v in table.items():
        if v is not None and not isinstance(v, dict) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            sub = [*path, _key(k)]
            lines.extend(["", f"[{'.'.join(sub)}]"])
            _emit(v, sub, lines)
    for k, v in table.items():
        if _is_table_array(v):
            sub = [*path, _key(k)]
            for item in v:
                lines.extend(["", f"[[{'.'.join(sub)}]]"])
                _emit(item, sub, lines)


def to_toml(data: dict[str, Any]) -> str:
    """TOML text that :func:`tomllib.loads` reads back as ``data`` (minus ``None`` values)."""
    lines: list[str] = []
    _emit(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def write_resolved_recipe(plan: RunContext) -> Path:
    """Write ``OUT/recipe.toml`` from the plan's recipe."""
    path = plan.out / "recipe.toml"
    write_text_atomic(HEADER + "\n" + to_toml(plan.recipe.to_dict()), path)
    return path
