"""What maskforge created in an output folder, so nothing else in it is ever overwritten.

``<folder>/.maskforge/created`` lists, one per line, the paths (relative to the folder, POSIX) of
the files and folders maskforge created there; a folder listed covers everything under it. Before
a command writes a path it *claims* it (:meth:`OutputRecord.claim`): a path that exists and is not
covered by the record is the user's, and the command is refused, naming it, before any write.
Claims are recorded (atomically) before the first write, so a command killed half-way still owns
what it started.

A folder written by a maskforge older than the record (a valid ``manifest.json``, no record) is
taken as maskforge's own: its files were checked the old way when written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import OutputError
from .lock import META_DIR
from .names import printable, to_text
from .writer import write_bytes_atomic

RECORD_NAME = "created"


def _legacy(folder: Path) -> bool:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "maskforge_manifest" in data


class OutputRecord:
    """The record of ``folder`` (read when made; :meth:`claim` adds to it)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / META_DIR / RECORD_NAME
        try:
            lines = self.path.read_bytes().decode("utf-8", "surrogateescape").splitlines()
            self.exists = True
        except OSError:
            lines, self.exists = [], False
        self.entries: set[str] = {ln for ln in lines if ln.strip()}
        self.legacy = not self.exists and _legacy(self.folder)

    def rel(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the folder (POSIX); ValueError when it lies outside."""
        p = Path(path)
        p = p if p.is_absolute() else self.folder / p
        return PurePosixPath(os.path.relpath(os.path.abspath(p), os.path.abspath(self.folder))).as_posix()

    def owns(self, path: str | os.PathLike[str]) -> bool:
        """True when maskforge created ``path`` (or a folder above it) in this folder."""
        if self.legacy:
            return True
        rel = self.rel(path)
        parts = PurePosixPath(rel).parts
        return any("/".join(parts[:i]) in self.entries for i in range(1, len(parts) + 1))

    @property
    def is_ours(self) -> bool:
        """True when maskforge has written this folder before (a record, or a legacy manifest)."""
        return self.exists or self.legacy

    def foreign(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """The paths of ``paths`` that exist and that maskforge did not create."""
        out = []
        for p in paths:
            full = self.folder / self.rel(p)
            if (full.exists() or full.is_symlink()) and not self.owns(full):
                out.append(self.rel(p))
        return out

    def claim(self, paths: Iterable[str | os.PathLike[str]], *, what: str = "the output folder") -> None:
        """Record ``paths`` as maskforge's, or raise :class:`OutputError` naming the ones that
        exist and are the user's (nothing is recorded then)."""
        wanted = [self.rel(p) for p in paths]
        bad = [w for w in wanted if w.startswith("..")]
        if bad:
            raise OutputError(f"{printable(bad[0])!r} lies outside {printable(str(self.folder))!r}")
        theirs = self.foreign(wanted)
        if theirs:
            shown = ", ".join(repr(printable(to_text(t))) for t in sorted(theirs)[:5])
            raise OutputError(
                f"{printable(str(self.folder))!r} ({what}) already holds {shown}, which maskforge did "
                "not write: it never overwrites your files; move them away or choose another folder"
            )
        new = [w for w in wanted if not self.owns(w) or self.legacy]
        if not new and self.exists:
            return
        self.entries.update(new)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{e}\n" for e in sorted(self.entries))
        write_bytes_atomic(text.encode("utf-8", "surrogateescape"), self.path)
        self.exists, self.legacy = True, False


def claim_files(folder: str | os.PathLike[str], targets: list[Path], what: str = "export destination") -> None:
    """Record the files a command is about to write under ``folder`` as maskforge's: by their
    top folder when that is new or already maskforge's, else one by one (a new file in a folder
    of the user's). The caller has refused foreign files before (:meth:`OutputRecord.foreign`)."""
    record = OutputRecord(folder)
    claims: set[str] = set()
    for t in targets:
        top = record.rel(t).split("/", 1)[0]
        full = record.folder / top
        claims.add(top if record.owns(full) or not full.exists() else record.rel(t))
    record.claim(sorted(claims), what=what)
