"""CSV inputs (keep lists, pairs, list files): fields of any length, paths as users write them.

:func:`read_csv_rows` reads a whole CSV with no limit on a field's length (Python's ``csv``
refuses fields over 128 KiB by default; the limit is raised for the read only and restored).

:func:`resolve_listed` finds the file a CSV row names, the ways users write paths: absolute,
relative to the CSV's folder, relative to the input root, relative to the working folder. A row
that names no existing file is an error for the caller to report, never silence.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .inputs import open_text_input

_LIMIT_LOCK = threading.Lock()


@contextlib.contextmanager
def unlimited_fields() -> Iterator[None]:
    """Raise :func:`csv.field_size_limit` for the block, then restore what it was."""
    with _LIMIT_LOCK:
        old = csv.field_size_limit()
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        try:
            yield
        finally:
            csv.field_size_limit(old)


def read_csv_rows(path: str | os.PathLike[str]) -> tuple[list[str], list[dict[str, str]]]:
    """``(header, rows)`` of a CSV file with a header line (fields of any length).

    Raises:
        OSError: the file cannot be read (``InputFileError`` for a FIFO or device).
        csv.Error / UnicodeDecodeError: the file is not CSV text.
    """
    text = open_text_input(path)
    with unlimited_fields():
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = list(reader.fieldnames or [])
        rows = list(reader)
    return header, rows


def read_csv_records(path: str | os.PathLike[str], **fmt: str) -> list[list[str]]:
    """Every record of a CSV-like file (no header handling), fields of any length; ``fmt``
    passes ``delimiter`` and the like to :func:`csv.reader`."""
    text = open_text_input(path)
    with unlimited_fields():
        return list(csv.reader(io.StringIO(text, newline=""), **fmt))  # type: ignore[arg-type]


def candidates(raw: str, *, csv_dir: Path | None, roots: Sequence[Path] = ()) -> list[Path]:
    """Where the path ``raw`` written in a CSV may lead, in order: itself when absolute; else
    relative to the CSV's folder, to each of ``roots``, and to the working folder."""
    p = Path(os.path.expanduser(raw))
    if p.is_absolute():
        return [p]
    bases = ([csv_dir] if csv_dir is not None else []) + list(roots) + [Path.cwd()]
    return list(dict.fromkeys(b / p for b in bases))


def resolve_listed(raw: str, *, csv_dir: Path | None, roots: Sequence[Path] = ()) -> Path | None:
    """The first of :func:`candidates` that exists (symlinks resolved), else None."""
    for c in candidates(raw, csv_dir=csv_dir, roots=roots):
        if c.exists():
            return c.resolve()
    return None
