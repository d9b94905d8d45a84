"""The keep.csv whitelist: sample paths a person has checked and wants kept.

Format: a CSV file with a header; the column ``path`` (dataset-relative, POSIX separators, as in
removed.csv and the report's "copy keep line" buttons) and/or ``sample_id``. Blank lines and lines
starting with ``#`` are ignored. A file without a recognised header is read as one path per line.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import SourceError


@dataclass(frozen=True)
class KeepList:
    """Whitelisted dataset-relative paths and sample ids."""

    paths: frozenset[str] = field(default_factory=frozenset)
    sample_ids: frozenset[str] = field(default_factory=frozenset)

    def __len__(self) -> int:
        return len(self.paths) + len(self.sample_ids)

    def contains(self, source_path: str | None = None, sample_id: str | None = None) -> bool:
        return (source_path is not None and normalise_path(source_path) in self.paths) or (
            sample_id is not None and sample_id in self.sample_ids
        )


def normalise_path(path: str) -> str:
    """POSIX separators, no leading ``./``."""
    p = str(PurePosixPath(path.replace("\\", "/")))
    return p[2:] if p.startswith("./") else p


def read_keep(path: str | os.PathLike[str] | None) -> KeepList:
    """Read a keep.csv (None -> empty list). SourceError when it is missing or unreadable."""
    if path is None:
        return KeepList()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"cannot read keep list {str(p)!r}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"keep list {str(p)!r} is not a UTF-8 text file: give a CSV with a path column "
            "(one dataset-relative path per line)"
        ) from exc
    if "\x00" in text:
        raise SourceError(
            f"keep list {str(p)!r} is a binary file: give a CSV with a path column "
            "(one dataset-relative path per line)"
        )
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return KeepList()
    rows = list(csv.reader(lines))
    header = [h.strip().lower() for h in rows[0]]
    paths: set[str] = set()
    ids: set[str] = set()
    if "path" in header or "sample_id" in header:
        pi = header.index("path") if "path" in header else None
        si = header.index("sample_id") if "sample_id" in header else None
        for row in rows[1:]:
            if pi is not None and pi < len(row) and row[pi].strip():
                paths.add(normalise_path(row[pi].strip()))
            if si is not None and si < len(row) and row[si].strip():
                ids.add(row[si].strip())
    else:
        paths = {normalise_path(row[0].strip()) for row in rows if row and row[0].strip()}
    return KeepList(frozenset(paths), frozenset(ids))
