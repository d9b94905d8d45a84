"""The keep.csv whitelist: sample paths a person has checked and wants kept.

Format: a CSV file with a header; the column ``path`` (dataset-relative, POSIX separators, as in
removed.csv and the report's "copy keep line" buttons) and/or ``sample_id``. Blank lines and lines
starting with ``#`` are ignored. A file without a recognised header is read as one path per line.
Fields may be of any length.

Paths are taken the way people write them: :meth:`KeepList.resolved` maps each to the
dataset-relative path of the file it names under the input folder, trying it relative to the
input folder, as an absolute path, relative to the keep list's folder and relative to the working
folder (:func:`maskforge.io.csvfile.candidates`); a path that names no file of the input is an
error, never silently ignored.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import SourceError
from ..io.csvfile import candidates, unlimited_fields
from ..io.inputs import InputFileError, read_input
from ..io.names import printable, to_text


@dataclass(frozen=True)
class KeepList:
    """Whitelisted dataset-relative paths and sample ids."""

    paths: frozenset[str] = field(default_factory=frozenset)
    sample_ids: frozenset[str] = field(default_factory=frozenset)
    #: The keep list's folder (relative paths are tried against it too); None when not a file.
    folder: Path | None = None

    def resolved(self, root: str | os.PathLike[str]) -> KeepList:
        """This list with every path made dataset-relative to the input folder ``root``.

        Raises:
            SourceError: a path names no file inside ``root`` (the message lists up to five).
        """
        base = Path(root).resolve()
        out: set[str] = set()
        missing: list[str] = []
        for raw in sorted(self.paths):
            rel = _under(raw, base, self.folder)
            if rel is None:
                missing.append(raw)
            else:
                out.add(rel)
        if missing:
            shown = ", ".join(repr(printable(m)) for m in missing[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise SourceError(
                f"{len(missing)} path(s) of the keep list name no image in {printable(str(base))!r}: "
                f"{shown}{more}; write them relative to the input folder (as removed.csv does), "
                "relative to the keep list, or absolute"
            )
        return KeepList(frozenset(out), self.sample_ids, self.folder)

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


def _under(raw: str, base: Path, folder: Path | None) -> str | None:
    """The dataset-relative path of the file ``raw`` names inside ``base``, or None."""
    for c in [base / raw, *candidates(raw, csv_dir=folder)]:
        if c.is_file():
            real = c.resolve()
            if real.is_relative_to(base):
                return to_text(real.relative_to(base).as_posix())
            if c.absolute().is_relative_to(base):  # a link inside the input to a file elsewhere
                return to_text(Path(os.path.normpath(c.absolute())).relative_to(base).as_posix())
    return None


def read_keep(path: str | os.PathLike[str] | None) -> KeepList:
    """Read a keep.csv (None -> empty list). SourceError when it is missing or unreadable."""
    if path is None:
        return KeepList()
    p = Path(path)
    try:
        text = read_input(p).decode("utf-8-sig")
    except InputFileError as exc:
        raise SourceError(f"cannot read keep list {printable(str(p))!r}: {exc.detail}") from exc
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
    with unlimited_fields():
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
    return KeepList(frozenset(paths), frozenset(ids), p.resolve().parent)
