"""The base of every recipe table model, and the one way a table's errors are reported.

Each recipe table (``[source]``, ``[detect]``, ``[clean]``, ...) is a :class:`Table`: a frozen
pydantic v2 model with strict TOML types (``true`` is not an integer, ``"5"`` is not a number),
unknown keys refused with a "did you mean" suggestion, and any problem turned into ONE
:class:`~maskforge.errors.RecipeError` naming the key path (``detect.size must be in [16, 1024],
got 5``). The stages consume these models directly: one definition per key.

Shorthands (a value that may be a name or a table, ...) are written with :func:`either`, a union
whose branch is picked from the value's TOML shape, so an error is reported for that branch only.
"""

from __future__ import annotations

import contextvars
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self, Union, get_args, get_origin

import annotated_types as at
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from .errors import RecipeError

__all__ = ["Device", "Table", "either", "error_from", "shape_of"]


#: True while a table is being validated (nested tables then leave the report to the outermost).
_VALIDATING: contextvars.ContextVar[bool] = contextvars.ContextVar("_VALIDATING", default=False)


class Table(BaseModel):
    """A recipe table. ``table_name`` (class attribute) is its dotted name in a recipe, the prefix of
    the key paths in its errors when it is validated on its own."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    table_name: ClassVar[str] = ""

    def __init__(self, /, **data: Any) -> None:
        # pydantic calls __init__ for nested tables too: only the outermost call reports
        token = _VALIDATING.set(True)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if token.old_value is True:
                raise
            raise error_from(exc, type(self), prefix=type(self).table_name) from None
        finally:
            _VALIDATING.reset(token)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return cls._reject_unknown_keys(data)

    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        """``data`` unchanged; a custom error naming the first key that is not a field (and the
        nearest field name). A subclass that overrides ``_known_keys`` calls this at its end."""
        if isinstance(data, Mapping):
            known = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    near = difflib.get_close_matches(str(key), known, n=1)
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key}",
                        {"key": str(key), "near": near[0] if near else "", "known": known},
                    )
        return data

    @classmethod
    def parse(cls, data: Any, where: str = "", prefix: str | None = None) -> Self:
        """Validate ``data`` (a TOML table as a dict, or an instance) into this model; raises
        :class:`RecipeError` naming the key path (``prefix``, default the table's name, then the
        key), after ``where`` (e.g. the file) when given."""
        if isinstance(data, cls):
            return data
        token = _VALIDATING.set(True)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            if token.old_value is True:
                raise
            raise error_from(exc, cls, where, cls.table_name if prefix is None else prefix) from None
        finally:
            _VALIDATING.reset(token)

    def to_dict(self) -> dict[str, Any]:
        """Every key with its value (defaults filled in), as TOML-like plain data."""
        return self.model_dump()


#: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
Device = Annotated[
    str,
    Field(
        pattern=r"^(auto|cpu|cuda|cuda:\d+)$",
        json_schema_extra={
            "must": "be auto, cpu, cuda or cuda:N",
            "values": "`auto` \\| `cpu` \\| `cuda` \\| `cuda:N`",
        },
    ),
]


def shape_of(value: Any) -> str | None:
    """The TOML shape of a value: ``<name>`` (string), ``<bool>``, ``<number>``, ``<list>`` or
    ``<table>`` (a dict or a model instance); None for anything else."""
    if isinstance(value, str):
        return "<name>"
    if isinstance(value, bool):
        return "<bool>"
    if isinstance(value, int | float):
        return "<number>"
    if isinstance(value, list | tuple):
        return "<list>"
    if isinstance(value, Mapping | BaseModel):
        return "<table>"
    return None


def either(message: str, **branches: Any) -> Any:
    """A union picked by TOML shape: ``either("must be a name or a table", name=str,
    table=Model)``; ``message`` is the error for a value of none of these shapes."""
    members = tuple(Annotated[tp, Tag(f"<{shape}>")] for shape, tp in branches.items())
    return Annotated[
        Union[members],  # noqa: UP007 - built from a tuple
        Discriminator(shape_of, custom_error_type="wrong_shape", custom_error_message=message),
    ]


# --------------------------------------------------------------------------- error messages

_TYPE_WORDS = {
    "int_type": "must be int",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "finite_number": "must be a finite number",
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def error_from(
    exc: ValidationError, model: type[BaseModel], where: str = "", prefix: str = ""
) -> RecipeError:
    """One :class:`RecipeError` for a pydantic ``ValidationError`` raised by ``model``: the
    deepest problem, its dotted key path (``variants[1].occluder.wear``) and what to write."""
    errors = exc.errors(include_url=False)
    best = max(errors, key=lambda e: len(_clean(e["loc"])))
    if best["loc"][-1:] == ("[key]",):  # a bad key of a dict: report it at the dict
        best = {**best, "loc": best["loc"][:-2]}
    field, depth = _field_at(model, best["loc"])
    message = _describe(best, field, prefix, _clean(best["loc"]), _clean(best["loc"][:depth]))
    return RecipeError(f"{where}: {message}" if where else message)


def _clean(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith("<")))


def _dotted(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(
    error: Mapping[str, Any],
    field: FieldInfo | None,
    prefix: str,
    loc: tuple[Any, ...],
    field_loc: tuple[Any, ...],
) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    path = _dotted(prefix, loc)
    if kind == "unknown_key":
        full = f"{path}.{ctx['key']}" if path else ctx["key"]
        hint = f" (did you mean {ctx['near']!r}?)" if ctx["near"] else ""
        return f"unknown key {full!r}{hint}; known keys here: {', '.join(sorted(ctx['known']))}"
    if kind == "key_problem":  # raised by a table's own check, naming a key below ``path``
        return f"{_dotted(path, (ctx['key'],))} {ctx['problem']}"
    if kind == "table_problem":  # raised by a table's own check, about the whole table
        return f"{path}: {error['msg']}" if path else str(error["msg"])
    if kind == "missing" and loc == field_loc:
        return f"{path} is required"
    must = _must(field)
    if must is not None:  # the field's own wording, at the field (not at an item of it)
        return f"{_dotted(prefix, field_loc)} must {must}, got {_got(error['input'])}"
    name = path or "the recipe"
    if kind in _TYPE_WORDS:
        return f"{name} {_TYPE_WORDS[kind]}, got {_got(error['input'])}"
    if kind in _BOUNDS:
        must_be = _bounds(field) or f"must be {_BOUNDS[kind]} {_num(next(iter(ctx.values())))}"
        return f"{name} {must_be}, got {_got(error['input'])}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        need = "a non-empty array" if n == 1 else f"an array of at least {n} items"
        return f"{name} must be {need}, got {_got(error['input'])}"
    if kind == "literal_error":
        words = str(ctx.get("expected", "")).replace("' or '", "', '")
        return f"{name} must be one of {words}, got {_got(error['input'])}"
    msg = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} {msg}, got {_got(error['input'])}"


def _must(field: FieldInfo | None) -> str | None:
    extra = field.json_schema_extra if field is not None else None
    if isinstance(extra, dict) and "must" in extra:
        return str(extra["must"])
    for meta in field.metadata if field is not None else ():
        extra = getattr(meta, "json_schema_extra", None)
        if isinstance(extra, dict) and "must" in extra:
            return str(extra["must"])
    return None


def _bounds(field: FieldInfo | None) -> str | None:
    """``must be > 0``, ``must be in [16, 1024]``, ``must be in [0, 1)`` from the field's
    constraints."""
    lo = hi = None
    for meta in _constraints(field):
        if isinstance(meta, at.Gt):
            lo = ("(", _num(meta.gt))
        elif isinstance(meta, at.Ge):
            lo = ("[", _num(meta.ge))
        elif isinstance(meta, at.Lt):
            hi = (")", _num(meta.lt))
        elif isinstance(meta, at.Le):
            hi = ("]", _num(meta.le))
    if lo and hi:
        return f"must be in {lo[0]}{lo[1]}, {hi[1]}{hi[0]}"
    if lo:
        return f"must be {'>' if lo[0] == '(' else '>='} {lo[1]}"
    if hi:
        return f"must be {'<' if hi[0] == ')' else '<='} {hi[1]}"
    return None


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _constraints(field: FieldInfo | None) -> list[Any]:
    """The field's constraint objects, also those inside ``Annotated[...] | None``."""
    if field is None:
        return []
    found, todo = [], list(field.metadata)
    if get_origin(field.annotation) in (Union, types.UnionType):
        for arg in get_args(field.annotation):
            if get_origin(arg) is Annotated:
                todo += list(get_args(arg)[1:])
    while todo:
        meta = todo.pop(0)
        if isinstance(meta, FieldInfo):
            todo += list(meta.metadata)
        else:
            found.append(meta)
    return found


def bounds_of(field: FieldInfo) -> str | None:
    """The field's range as text for the docs (``> 0``, ``[16, 1024]``), or None."""
    text = _bounds(field)
    return None if text is None else text.removeprefix("must be ").removeprefix("in ")


def unwrap(tp: Any) -> Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _branch(tp: Any, tag: str) -> Any:
    for member in get_args(tp):
        if get_origin(member) is Annotated and any(
            isinstance(m, Tag) and m.tag == tag for m in get_args(member)[1:]
        ):
            return get_args(member)[0]
    return tp


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[FieldInfo | None, int]:
    """The innermost model field an error location points into, and how many parts of ``loc``
    lead to it; ``(None, 0)`` when the location is not in a field."""
    tp: Any = model
    info: FieldInfo | None = None
    depth = 0
    for i, part in enumerate(loc):
        tp = unwrap(tp)
        if isinstance(part, str) and part.startswith("<"):
            tp = _branch(tp, part)
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None, 0
            tp, depth = info.annotation, i + 1
        elif get_origin(tp) in (list, tuple, dict, typing.Sequence):
            args = get_args(tp)
            tp = args[-1] if get_origin(tp) is dict else args[0] if args else Any
        else:
            break
    return info, depth


def choices_of(field: FieldInfo) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal`` field (for the docs), or None."""
    tp = unwrap(field.annotation)
    return get_args(tp) if get_origin(tp) is Literal else None

