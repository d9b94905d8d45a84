"""The key tables of docs/recipes.md, generated from the recipe models.

``python -m maskforge.recipe --docs`` prints them; ``--write docs/recipes.md`` replaces the part
of that file between the ``BEGIN``/``END`` markers (tests check that the file is up to date).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..config import bounds_of, choices_of, unwrap

BEGIN = "<!-- BEGIN generated key tables: python -m maskforge.recipe --docs --write docs/recipes.md -->"
END = "<!-- END generated key tables -->"


def _sections() -> list[tuple[str, type[BaseModel], str]]:
    from ..augment.config import AugmentConfig
    from ..augment.variants import VariantSpec
    from ..occlude.look import PhotoLook
    from ..occlude.spec import OccluderChoice
    from .model import Recipe

    return [
        ("Top level (before any table)", Recipe, "scalars"),
        ("`[source]`", Recipe.model_fields["source"].annotation, ""),
        ("`[encode]`", Recipe.model_fields["encode"].annotation, ""),
        ("`[detect]`", unwrap(Recipe.model_fields["detect"].annotation), ""),
        ("`[embed]`", unwrap(Recipe.model_fields["embed"].annotation), ""),
        ("`[clean]`", unwrap(Recipe.model_fields["clean"].annotation), ""),
        ("`[hygiene]`", unwrap(Recipe.model_fields["hygiene"].annotation), ""),
        ("`[select]`", unwrap(Recipe.model_fields["select"].annotation), ""),
        ("`[split]`", unwrap(Recipe.model_fields["split"].annotation), ""),
        ("`[augment]`", AugmentConfig, ""),
        ("`[[variants]]` (each entry)", VariantSpec, ""),
        ("An occluder table (`occluder = {...}`, an entry of `occluders`)", OccluderChoice, ""),
        ("`[occlude]`", unwrap(Recipe.model_fields["occlude"].annotation), ""),
        ("`[occlude.look]`", PhotoLook, ""),
        ("`[ray]`", Recipe.model_fields["ray"].annotation, ""),
    ]


def _cell(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|").replace("\n", " ")


def _toml(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, int) and abs(value) >= 100_000:
        return f"`{value:_}`"
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k} = {v}" for k, v in value.items()) + "}`"
    return f"`{value}`"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = cast(Callable[[], Any], field.default_factory)()
        return "a table" if isinstance(value, BaseModel) else _toml(value)
    return _toml(None if field.default is PydanticUndefined else field.default)


def _values(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "values" in extra:
        return str(extra["values"])
    for meta in field.metadata:
        more = getattr(meta, "json_schema_extra", None)
        if isinstance(more, dict) and "values" in more:
            return str(more["values"])
    choices = choices_of(field)
    if choices:
        return " \\| ".join(f"`{c}`" for c in choices)
    tp = unwrap(field.annotation)
    origin = get_origin(tp)
    if origin is Literal:  # pragma: no cover - handled above
        return ""
    words = {int: "integer", float: "number", bool: "`true` \\| `false`", str: "string"}
    if tp in words:
        word = words[tp]
    elif origin in (list, tuple):
        word = "array"
    elif origin is dict:
        word = "table"
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        word = "table"
    else:
        word = " or ".join(sorted({_shape(a) for a in get_args(tp)})) or "value"
    rng = bounds_of(field)
    return f"{word} {_cell(rng)}" if rng else word


def _shape(arg: Any) -> str:
    base = get_args(arg)[0] if get_args(arg) else arg
    if base is bool:
        return "`true` \\| `false`"
    if get_origin(base) is dict or (isinstance(base, type) and issubclass(base, BaseModel)):
        return "table"
    return "value"


def _rows(model: type[BaseModel], only_scalars: bool, skip: tuple[str, ...] = ()) -> list[str]:
    rows = ["| key | default | values | meaning |", "|---|---|---|---|"]
    for key, field in model.model_fields.items():
        tp = unwrap(field.annotation)
        if key in skip or (only_scalars and isinstance(tp, type) and issubclass(tp, BaseModel)):
            continue
        rows.append(
            f"| `{key}` | {_default(field)} | {_values(field)} | {_cell(field.description or '')} |"
        )
    return rows


def _transforms() -> list[str]:
    from ..augment.base import REGISTRY
    from ..augment.config import CANONICAL_ORDER, REFERENCE_AUGMENT

    rows = ["| transform | what | options (defaults) | in `reference` |", "|---|---|---|---|"]
    for name in CANONICAL_ORDER:
        cls = REGISTRY[name]
        sig = inspect.signature(cls.__init__)
        opts = ", ".join(
            f"`{k}` ({_toml(p.default).strip('`')})" for k, p in sig.parameters.items() if k != "self"
        )
        what = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).split(". ")[0]
        ref = REFERENCE_AUGMENT.get(name)
        ref_text = _toml(ref) if ref is not None else "no"
        rows.append(f"| `{name}` | {_cell(what.rstrip('.'))} | {_cell(opts)} | {_cell(ref_text)} |")
    return rows


def docs_tables() -> str:
    """The generated part of docs/recipes.md (Markdown): one key table per recipe table."""
    out: list[str] = []
    for title, model, kind in _sections():
        out += [f"### {title}", ""]
        doc = (model.__doc__ or "").strip().split("\n\n")[0]
        if doc and model.__name__ != "Recipe":
            out += [_cell(" ".join(doc.split())), ""]
        if model.__name__ == "AugmentConfig":
            from ..augment.config import CANONICAL_ORDER

            out += _rows(model, False, skip=CANONICAL_ORDER)
            out += [
                "| a transform name (below) | — | table, `true` \\| `false` | its options "
                "(merged over the preset's), `true`: add it with its defaults, `false`: drop it |",
                "",
                "Transforms (in their default order) and their options:",
                "",
            ]
            out += _transforms() + [""]
        else:
            out += _rows(model, kind == "scalars") + [""]
    return "\n".join(out).rstrip() + "\n"


def generated_part(text: str) -> str:
    """The text between the markers of a docs file (ValueError when they are missing)."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def write_docs(path: str | Path) -> None:
    """Replace the generated part of ``path`` (a file that has the markers)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    head, tail = text[: text.index(BEGIN) + len(BEGIN)], text[text.index(END) :]
    p.write_text(f"{head}\n\n{docs_tables()}\n{tail}", encoding="utf-8")
