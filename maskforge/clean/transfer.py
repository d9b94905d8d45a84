"""Moving or copying flagged files out of a dataset (``maskforge clean --move-to/--copy-to``).

All or nothing: :func:`plan_transfer` lists every ``(source, destination)`` pair and
:func:`check_transfer` checks every destination before the first file is touched. The pairs are
written to a journal (``OUT/transfer_plan.csv``) before the first operation and the journal is
removed after the last, so an interrupted transfer is finished by :func:`resume_transfer` when the
same command runs again. Each operation can be repeated safely: a file is copied under a
temporary name and renamed into place, and a move deletes its source only once the destination
is complete.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError
from ..io.inputs import read_input
from ..io.names import from_text, printable
from ..io.paths import check_write_targets, path_under
from ..io.writer import write_bytes_atomic

JOURNAL = "transfer_plan.csv"
_COLUMNS = ("op", "source", "destination")


def plan_transfer(src_root: Path, rel_paths: Iterable[str], dest: Path) -> list[tuple[Path, Path]]:
    """``(source file, destination file)`` for each dataset-relative path as outputs record it
    (same relative path under ``dest``; a recorded name of any bytes maps back to its file)."""
    return [(Path(src_root) / from_text(rel), path_under(dest, rel)) for rel in sorted(set(rel_paths))]


def check_transfer(pairs: list[tuple[Path, Path]], flag: str, inputs: Iterable[Path] = ()) -> None:
    """OutputError, before anything is moved, when a destination leads into one of ``inputs``
    (symlinks resolved: a ``DST/A -> SRC/B`` link), exists (with other content than its source),
    or a source is missing."""
    check_write_targets([d for _, d in pairs], list(inputs), what=flag)
    taken = [
        d for s, d in pairs
        if (d.exists() or d.is_symlink()) and not (d.is_file() and s.is_file() and _same_bytes(s, d))
    ]  # a destination holding the very bytes of its source is done already (a rerun)
    if taken:
        raise OutputError(
            f"{len(taken)} file(s) already exist under {flag} (e.g. {printable(str(taken[0]))!r}); nothing was "
            f"moved or copied: choose an empty {flag} folder or remove them"
        )
    missing = [s for s, _ in pairs if not s.is_file()]
    if missing:
        raise OutputError(
            f"{len(missing)} flagged file(s) disappeared from the input (e.g. {printable(str(missing[0]))!r}); "
            "nothing was moved or copied: run the command again"
        )


def _copy_into_place(src: Path, dst: Path) -> None:
    """Copy through the one atomic writer (a reader never sees half a file), then the source's
    times and mode."""
    write_bytes_atomic(read_input(src), dst)
    shutil.copystat(src, dst)


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _apply(op: str, src: Path, dst: Path) -> None:
    """One operation, safe to repeat after an interruption."""
    if dst.exists():
        if op == "move" and src.exists():
            if not _same_bytes(src, dst):
                raise OutputError(
                    f"cannot finish moving {printable(str(src))!r}: {printable(str(dst))!r} exists with other content; "
                    "remove one of them and run the command again"
                )
            src.unlink()
        return  # done earlier
    if op == "move":
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(src, dst)  # same file system: atomic
            return
        except OSError:
            pass
        _copy_into_place(src, dst)
        src.unlink()
    else:
        _copy_into_place(src, dst)


def run_transfer(pairs: list[tuple[Path, Path]], move: bool, journal: Path) -> int:
    """Move (or copy) every pair, journalled in ``journal``; returns the number of files."""
    op = "move" if move else "copy"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_COLUMNS)
    w.writerows((op, str(s), str(d)) for s, d in pairs)
    write_bytes_atomic(buf.getvalue().encode("utf-8", "surrogateescape"), journal)  # names of any bytes
    for src, dst in pairs:
        _apply(op, src, dst)
    journal.unlink()
    return len(pairs)


def resume_transfer(journal: Path) -> tuple[str, int] | None:
    """Finish the transfer an interrupted run left in ``journal``; ``(op, files)`` or None when
    there was none."""
    if not journal.is_file():
        return None
    with open(journal, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        _apply(row["op"], Path(row["source"]), Path(row["destination"]))
    journal.unlink()
    return (rows[0]["op"] if rows else "move"), len(rows)
