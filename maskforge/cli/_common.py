"""Shared helpers of the CLI commands.

:func:`user_message` is the one place where an error becomes what the user reads: every command
runs inside :class:`maskforge.cli.MaskforgeGroup`, which turns a :class:`MaskforgeError` or an
``OSError`` (disk full, read-only or unwritable output, a file where a folder belongs...) into one
message naming the path and what to do, exit code 2, no traceback.
"""

from __future__ import annotations

import contextlib
import errno
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import click

from ..errors import MaskforgeError
from ..io.names import printable
from ..models import LICENCES

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A maskforge error shown to the user without a traceback; exit code 2."""

    exit_code = 2


_OS_ADVICE = {
    errno.ENOSPC: "no space left on the device: free some space or choose an output on another disk",
    errno.EDQUOT: "disk quota exceeded: free some space or choose an output on another disk",
    errno.EROFS: "the file system is read-only: choose an output folder on a writable disk",
    errno.EACCES: "permission denied: choose a folder you can write (and read)",
    errno.EPERM: "operation not permitted: choose a folder you can write (and read)",
    errno.EEXIST: "it exists and is not a folder: choose another path, or move the file away",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose a folder path",
    errno.EISDIR: "it is a folder where a file was expected: pass the file's path",
    errno.ENOENT: "it does not exist: check the path",
}


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and what caused it (``__cause__``). A wrapper with a ``cause`` (Ray's task error,
    which also poses as its cause's class) is replaced by what it wraps."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        wrapped = getattr(exc, "cause", None)
        if isinstance(wrapped, BaseException):
            exc = wrapped
            continue
        yield exc
        exc = exc.__cause__


def user_message(exc: BaseException) -> str | None:
    """The one-line message for an error the user can act on, or None for a bug (which keeps its
    traceback). Looks through ``exc``'s causes, so an error inside a Ray task reads the same."""
    message = _message(exc)
    return None if message is None else printable(message)


def _message(exc: BaseException) -> str | None:
    for e in _causes(exc):
        if isinstance(e, MaskforgeError):
            return str(e)
        if isinstance(e, OSError) and not isinstance(e, ConnectionError | TimeoutError):
            advice = _OS_ADVICE.get(e.errno or -1) or f"{e.strerror or e}: check the path and try again"
            if e.filename is None:
                return advice[0].upper() + advice[1:]
            target = f" (to {str(e.filename2)!r})" if e.filename2 else ""
            return f"{str(e.filename)!r}{target}: {advice}"
    return None


@contextlib.contextmanager
def user_error_messages() -> Iterator[None]:
    """Inside the block, an error the user can act on (see :func:`user_message`) becomes a
    :class:`UserError`: its message alone, exit code 2."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        raise UserError(message) from exc


def user_errors(fn: F) -> F:
    """Turn errors the user can act on (see :func:`user_message`) into a clean message and exit
    code 2. Commands of ``maskforge`` get this from their group; the decorator serves a command
    used on its own."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_error_messages():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Progress:
    """The one progress display of every command: a tqdm bar on the terminal (unaffected by Ray's
    output redirection), or nothing with ``quiet``; use it as a context manager so the bar is
    closed on errors too.

    Pass ``progress.watch`` as a run's ``monitor``: the bar then follows the run per image (the
    mean over the tasks of the input images each has handled), with tqdm's rate and ETA, and
    its postfix says how far each task is and what each worker pool is doing, e.g.
    ``detect 320 embed 288 finish 256 | cpu 2/2 busy, 9 queued``. ``progress.shard(stats)``
    advances it by a shard's ``inputs`` (until the first snapshot arrives)."""

    def __init__(self, total: int, *, quiet: bool = False, desc: str = "maskforge", unit: str = "img") -> None:
        self.bar = None
        self.watched = False
        self.quiet, self.desc, self.unit = quiet, desc, unit
        self._open(total)

    def _open(self, total: int) -> None:
        if self.bar is None and not self.quiet and total > 0:
            from tqdm import tqdm

            from ..pipeline.quiet import terminal

            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, file=terminal(), dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def count(self, done: int, total: int) -> None:
        """``done`` of ``total`` (a ``progress(done, total)`` callback); opens the bar when the
        first count comes (``Progress(0, ...)``: the total is not known yet)."""
        self._open(total)
        if self.bar is not None:
            self.bar.total = total
            self.update(done - self.bar.n)

    def shard(self, stats: Mapping[str, Any]) -> None:
        if not self.watched:
            self.update(int(stats.get("inputs", 0)))

    def watch(self, snap: Any) -> None:
        """Show a :class:`maskforge.pipeline.progress.Snapshot` (opening the bar if need be)."""
        self.watched = True
        self._open(snap.total)
        if self.bar is None:
            return
        self.bar.total = snap.total
        self.bar.set_postfix_str(snap.describe(), refresh=False)
        step = min(round(snap.images), self.bar.total) - self.bar.n
        if step > 0:
            self.bar.update(step)  # through update(): tqdm's rate and ETA follow
        else:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...] | None = None) -> str:
    """A plain aligned text table; control characters in cells (an identity folder named with
    terminal escapes) are shown escaped, never sent to the terminal."""
    body = [tuple(printable(c) for c in r) for r in rows]
    if header:
        body.insert(0, header)
    if not body:
        return ""
    widths = [max(len(r[i]) for r in body) for i in range(len(body[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def licence_option(note: str = "") -> Callable[[F], F]:
    """The ``--licence`` option of the direct commands (``models.LICENCES``); ``note`` ends its
    help text (what the command places or runs with)."""
    help_text = "commercial: refuse every model whose licence excludes commercial use." + (
        f" {note}" if note else ""
    )
    return click.option(
        "--licence", type=click.Choice(LICENCES), default="any", show_default=True, help=help_text
    )
