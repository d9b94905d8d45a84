"""Reading input files safely: regular files only, under a size cap, never blocking.

A listing finds names; what they lead to may be anything. :func:`input_problem` checks a path the
way the kernel will open it (symlinks followed, then ``S_ISREG``) *without opening it*, so a FIFO
(which blocks ``open`` until a writer comes) or a link to ``/dev/zero`` (endless bytes) becomes a
reject with a reason instead of a hang or a memory blow-up. :func:`read_input` opens with
``O_NONBLOCK`` and checks the open file again (``fstat``), so a file swapped between the check
and the read is caught too, and never reads more than the cap.

Reasons (the ``reason`` of the reject): ``missing``, ``not_a_regular_file`` (folder, FIFO,
socket, device), ``too_large`` (over :data:`MAX_INPUT_BYTES`), ``unreadable``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Largest input image file read (bytes): 256 MiB. Real photos are far smaller; a bigger file is
#: a mistake (a video, a disk image) or an attack.
MAX_INPUT_BYTES = 256 << 20


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def input_problem(path: str | os.PathLike[str], max_bytes: int = MAX_INPUT_BYTES) -> tuple[str, str] | None:
    """``(reason, detail)`` when ``path`` (symlinks followed) is not a readable regular file of
    at most ``max_bytes``, else None. Only ``stat`` is called: nothing is opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing", "no such file (or a broken symbolic link)"
    except OSError as exc:
        return "unreadable", str(exc.strerror or exc)
    if not stat.S_ISREG(st.st_mode):
        return "not_a_regular_file", f"{_kind(st.st_mode)}, not an image file"
    if st.st_size > max_bytes:
        return "too_large", f"{st.st_size} bytes, over the {max_bytes}-byte limit"
    return None


class InputFileError(OSError):
    """An input that is not a regular file under the cap (``reason``, ``detail`` as
    :func:`input_problem`)."""

    def __init__(self, reason: str, detail: str, path: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.reason = reason
        self.detail = detail


def read_input(path: str | os.PathLike[str], max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``).

    Raises:
        InputFileError: ``path`` is not a regular file, is over the cap, or cannot be read.
    """
    problem = input_problem(path, max_bytes)
    if problem is not None:
        raise InputFileError(*problem, path=str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputFileError("unreadable", str(exc.strerror or exc), str(path)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped after the check
            raise InputFileError("not_a_regular_file", f"{_kind(st.st_mode)}, not an image file", str(path))
        if st.st_size > max_bytes:
            raise InputFileError("too_large", f"{st.st_size} bytes, over the {max_bytes}-byte limit", str(path))
        chunks, left = [], max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    except InputFileError:
        raise
    except OSError as exc:
        raise InputFileError("unreadable", str(exc.strerror or exc), str(path)) from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:  # grew while read
        raise InputFileError("too_large", f"over the {max_bytes}-byte limit", str(path))
    return data


def open_text_input(path: str | os.PathLike[str], max_bytes: int = MAX_INPUT_BYTES) -> str:
    """A text input (a CSV, a pairs file) as ``str`` (UTF-8, a BOM dropped), read with the same
    checks as :func:`read_input`."""
    return read_input(Path(path), max_bytes).decode("utf-8-sig")
