"""Trust nothing on disk: every file maskforge relies on is recorded with its size and a content
hash when written, and checked against that record before it is reused or served.

A record is ``{"size": bytes, "blake2b": 32 hex characters}`` (BLAKE2b, 16-byte digest: fast, and
a flipped bit or a truncated tail never matches). A shard's stats file carries the records of the
shard's files under ``"integrity"`` (file name -> record); the manifest carries the records of
the dataset files it lists.

:func:`check_file` says what is wrong with a file (``None`` when it matches its record);
:func:`verify_files` raises one :class:`~maskforge.errors.CorruptFileError` naming every damaged
file and the command that repairs them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError

#: Key of the file records in a stats file.
INTEGRITY = "integrity"
_CHUNK = 1 << 20


def file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"size", "blake2b"}`` of the file at ``path`` (read in 1 MiB chunks)."""
    h = hashlib.blake2b(digest_size=16)
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return {"size": size, "blake2b": h.hexdigest()}


def check_file(path: str | os.PathLike[str], record: Mapping[str, Any] | None, *, full: bool = True) -> str | None:
    """What is wrong with ``path`` against ``record``: ``missing``, ``not recorded``, ``size N,
    expected M``, ``content changed`` (hash), or None when it matches. ``full=False`` checks the
    size only (cheap, for readers that open many files)."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if not isinstance(record, Mapping) or "size" not in record:
        return "not recorded"
    if size != record["size"]:
        return f"size {size} bytes, expected {record['size']}"
    if full and "blake2b" in record:
        try:
            if file_record(p)["blake2b"] != record["blake2b"]:
                return "content changed (hash mismatch)"
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"
    return None


def records_of(paths: Iterable[str | os.PathLike[str]]) -> dict[str, dict[str, Any]]:
    """``{file name: record}`` of ``paths`` (all in one folder, or named uniquely)."""
    return {Path(p).name: file_record(p) for p in paths}


def damaged(files: Mapping[Path, Mapping[str, Any] | None], *, full: bool = True) -> dict[Path, str]:
    """``{path: what is wrong}`` for the files of ``files`` (path -> record) that do not match."""
    out = {}
    for path, record in files.items():
        problem = check_file(path, record, full=full)
        if problem is not None:
            out[Path(path)] = problem
    return out


def corrupt_error(problems: Mapping[Path, str], repair: str) -> CorruptFileError:
    """One error naming the damaged files (the first five) and the command that repairs them."""
    items = sorted(problems.items())
    named = "; ".join(f"{str(p)!r}: {why}" for p, why in items[:5])
    more = f" (and {len(items) - 5} more)" if len(items) > 5 else ""
    return CorruptFileError(
        f"{len(items)} damaged file(s): {named}{more}; repair with: {repair}",
        paths=[p for p, _ in items],
    )


def verify_files(files: Mapping[Path, Mapping[str, Any] | None], repair: str, *, full: bool = True) -> None:
    """Raise :func:`corrupt_error` when any file of ``files`` does not match its record."""
    problems = damaged(files, full=full)
    if problems:
        raise corrupt_error(problems, repair)
