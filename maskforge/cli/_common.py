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


class Progress:
    """The one progress display of every command: a tqdm bar on the terminal (unaffected by Ray's
    output redirection), or nothing with ``quiet``. ``progress.shard(stats)`` advances it by a
    shard's ``inputs``; use it as a context manager so the bar is closed on errors too."""

    def __init__(self, total: int, *, quiet: bool = False, desc: str = "maskforge", unit: str = "img") -> None:
        self.bar = None
        if not quiet and total > 0:
            from tqdm import tqdm

            from ..pipeline.quiet import terminal

            self.bar = tqdm(total=total, unit=unit, desc=desc, file=terminal(), dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def shard(self, stats: dict[str, Any]) -> None:
        self.update(int(stats.get("inputs", 0)))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def direct_recipe(name: str, tables: dict[str, dict[str, Any]], overrides: tuple[str, ...] = ()) -> Any:
    """The validated recipe a direct-mode command runs (``seed = 0``, ``name``, ``tables``;
    None values left out), with ``--set`` ``overrides`` applied: the same checks as a recipe file."""
    from ..recipe import load_recipe

    data: dict[str, Any] = {"seed": 0, "name": name}
    for t, keys in tables.items():
        data[t] = {k: v for k, v in keys.items() if v is not None}
    return load_recipe(data=data, overrides=overrides)


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
