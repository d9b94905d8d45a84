"""How transforms validate their options: one pydantic model per transform, as albumentations
does with ``InitSchema``.

Each transform declares a nested ``InitSchema`` (a subclass of :class:`BaseInitSchema`) whose
fields are its options, typed with the validators below. Its ``__init__`` keeps the public
signature and the defaults, passes every option to ``InitSchema.check`` and keeps the validated
values; it checks nothing by hand. A bad option raises ValueError ``"<option> <problem>, got
<value>"``; the ``[augment]`` loader turns that into a RecipeError naming
``augment.<transform>.<option>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Self

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo

#: ``(lo, hi)`` with ``lo <= hi``, both finite.
Span = tuple[float, float]


def as_range(value: float | Sequence[float], name: str, *, symmetric: bool = False) -> Span:
    """``(lo, hi)`` from a number or a 2-sequence. A number ``v`` gives ``(-v, v)`` when
    ``symmetric`` else ``(v, v)``. Raises ValueError on bad input."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number or [lo, hi], got {value!r}")
    if isinstance(value, (int, float)):
        v = float(value)
        lo, hi = (-abs(v), abs(v)) if symmetric else (v, v)
    else:
        try:
            seq = list(value)
        except TypeError:
            raise ValueError(f"{name} must be a number or [lo, hi], got {value!r}") from None
        if len(seq) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in seq):
            raise ValueError(f"{name} must be a number or [lo, hi], got {value!r}")
        lo, hi = float(seq[0]), float(seq[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name} must be finite with lo <= hi, got {value!r}")
    return lo, hi


def check_p(p: Any) -> float:
    """Validate a probability; ValueError if not a number in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be a number in [0, 1], got {p!r}")
    return float(p)


def span(
    lo: float,
    hi: float | None = None,
    *,
    symmetric: bool = False,
    lo_open: bool = False,
    unit: str = "",
) -> BeforeValidator:
    """A range option: a number or ``[lo, hi]`` (see :func:`as_range`) within the bounds.

    ``hi=None``: only ``>= lo``. ``symmetric``: a number ``v`` means ``[-v, v]`` and both ends
    must lie within ``[lo, hi]``. ``lo_open``: the lower bound is excluded. ``unit`` (" degrees")
    ends the bounds in the message."""

    def validate(value: Any, info: ValidationInfo) -> Span:
        name = str(info.field_name)
        r_lo, r_hi = as_range(value, name, symmetric=symmetric)
        if hi is None:
            if r_lo < lo:
                raise ValueError(f"{name} must be >= {lo:g}, got {value!r}")
        elif symmetric:
            if max(abs(r_lo), abs(r_hi)) > hi:
                raise ValueError(f"{name} must lie within [{lo:g}, {hi:g}]{unit}, got {value!r}")
        elif (r_lo <= lo if lo_open else r_lo < lo) or r_hi > hi:
            bounds = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
            raise ValueError(f"{name} must lie in {bounds}{unit}, got {value!r}")
        return r_lo, r_hi

    return BeforeValidator(validate)


def int_span(lo: int, hi: int) -> BeforeValidator:
    """An integer range option: a number or ``[lo, hi]`` of whole numbers within the bounds."""

    def validate(value: Any, info: ValidationInfo) -> tuple[int, int]:
        name = str(info.field_name)
        r_lo, r_hi = as_range(value, name)
        if not (lo <= r_lo <= r_hi <= hi) or r_lo != int(r_lo) or r_hi != int(r_hi):
            raise ValueError(f"{name} must be integers in [{lo}, {hi}], got {value!r}")
        return int(r_lo), int(r_hi)

    return BeforeValidator(validate)


def one_of(choices: Sequence[str], text: str | None = None) -> BeforeValidator:
    """A name among ``choices``; the message says ``text`` (default ``one of [...]``)."""
    wanted = text or f"one of {list(choices)}"

    def validate(value: Any, info: ValidationInfo) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{info.field_name} must be {wanted}, got {value!r}")
        return value

    return BeforeValidator(validate)


def some_of(choices: Sequence[str]) -> BeforeValidator:
    """A name among ``choices`` or a non-empty list of them (kept as a list)."""

    def validate(value: Any, info: ValidationInfo) -> list[str]:
        names = [value] if isinstance(value, str) else list(value)
        if not names or any(n not in choices for n in names):
            raise ValueError(
                f"{info.field_name} must be one of {list(choices)} or a list of them, got {value!r}"
            )
        return names

    return BeforeValidator(validate)


def _flag(value: Any, info: ValidationInfo) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{info.field_name} must be true or false, got {value!r}")
    return value


#: ``p``, the probability a transform is applied.
Probability = Annotated[float, BeforeValidator(check_p)]
#: A boolean option (only ``true`` or ``false``, no coercion).
Flag = Annotated[bool, BeforeValidator(_flag)]


class BaseInitSchema(BaseModel):
    """The options every transform has: ``p``. Subclasses add theirs (without defaults: the
    transform's ``__init__`` signature holds them and passes every option)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p: Probability

    @classmethod
    def check(cls, **options: Any) -> Self:
        """The validated options; ValueError with the first problem's message (see module doc)."""
        try:
            return cls.model_validate(options)
        except ValidationError as exc:
            err = exc.errors()[0]
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, ValueError):
                raise ValueError(str(cause)) from None
            where = ".".join(str(part) for part in err["loc"])
            raise ValueError(f"{where} {err['msg'].lower()}, got {err.get('input')!r}") from None
