"""Shared helpers of the CLI commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import MaskforgeError

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A maskforge error shown to the user without a traceback; exit code 2."""

    exit_code = 2


def user_errors(fn: F) -> F:
    """Turn :class:`MaskforgeError` into a clean message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MaskforgeError as exc:
            raise UserError(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...] | None = None) -> str:
    """A plain aligned text table."""
    body = [tuple(str(c) for c in r) for r in rows]
    if header:
        body.insert(0, header)
    if not body:
        return ""
    widths = [max(len(r[i]) for r in body) for i in range(len(body[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
