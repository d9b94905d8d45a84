"""Keeping Ray's start-up and worker noise out of the user's terminal.

Ray and its C++ core write warnings straight to file descriptors 1 and 2. While Ray runs,
:func:`redirect_output` points both descriptors at a log file (``OUT/logs/ray.log``); the user's
progress bar keeps writing to :func:`terminal`, a duplicate of the original stderr taken before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

_TERMINAL: TextIO | None = None


def terminal() -> TextIO:
    """A text stream on the process's original stderr, unaffected by :func:`redirect_output`."""
    global _TERMINAL
    if _TERMINAL is None:
        try:
            _TERMINAL = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
        except (AttributeError, OSError, ValueError):  # no real file descriptor (e.g. tests)
            _TERMINAL = sys.stderr
    return _TERMINAL


@contextlib.contextmanager
def redirect_output(log_file: Path) -> Iterator[None]:
    """Send everything written to fds 1 and 2 to ``log_file`` inside the block."""
    terminal()  # take the duplicate before the descriptors move
    try:
        fds = (sys.stdout.fileno(), sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    with open(log_file, "ab") as log:
        for fd in fds:
            os.dup2(log.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, old in zip(fds, saved, strict=True):
                os.dup2(old, fd)
                os.close(old)
