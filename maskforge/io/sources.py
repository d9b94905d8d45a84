"""List identity-labelled face datasets.

Two kinds of input are understood:

- a **folder of identity folders**, as CASIA-WebFace (``0000045/001.jpg``), VGGFace2
  (``n000002/0001_01.jpg``) and LFW (``Name/Name_0001.jpg``) are distributed. The identity is the
  first folder under the root; images deeper inside it belong to it too;
- a **list file** (``.csv`` or ``.parquet``) with columns ``path`` and ``identity``; paths are
  relative to the list file's folder unless absolute. Optional geometry columns (see
  :data:`HINT_COLUMNS`) are passed on to the detection stage as hints.

Images are files with one of :data:`IMAGE_EXTENSIONS` (any case). Hidden files and folders (name
starting with ``.``) and other files are skipped and counted by reason in :attr:`Listing.skipped`.

Order is deterministic: identities sorted by name, then paths sorted within an identity. A
sample's ``sample_id`` is derived from its dataset-relative path, so it is stable across runs and
machines; ``label`` is the identity's index in the sorted identity names.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import SourceError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
LIST_EXTENSIONS = frozenset({".csv", ".parquet"})
#: Optional columns of a list file, passed to detection as geometry hints (source pixels).
#: ``bbox`` is "x1,y1,x2,y2"; ``landmarks5``/``landmarks68`` are JSON lists of [x, y] pairs.
HINT_COLUMNS = ("bbox", "landmarks5", "landmarks68")


@dataclass(frozen=True)
class SourceSample:
    """One input image.

    Attributes:
        sample_id: 16 hex characters derived from ``source_path`` (stable).
        identity: the identity's name (folder name or the list's ``identity`` value).
        label: integer label, the identity's index among the sorted identity names.
        source_path: dataset-relative path, POSIX separators (what outputs record).
        path: absolute path of the file on this machine.
        hints: optional geometry from a list file (``bbox``, ``landmarks5``, ``landmarks68``).
    """

    sample_id: str
    identity: str
    label: int
    source_path: str
    path: Path
    hints: dict[str, Any] | None = None


@dataclass
class Listing:
    """The result of :func:`list_samples`."""

    root: Path
    samples: list[SourceSample]
    labels: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def identities(self) -> list[str]:
        return list(self.labels)


def sample_id_for(source_path: str) -> str:
    """Stable id of a sample: 16 hex characters of a BLAKE2b hash of its relative path."""
    return hashlib.blake2b(source_path.encode("utf-8"), digest_size=8).hexdigest()


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_samples(source: str | os.PathLike[str]) -> Listing:
    """List a dataset folder or list file. Raises :class:`SourceError` when it cannot."""
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(
            f"input {str(path)!r} does not exist: pass a folder of identity folders "
            "or a .csv/.parquet list with columns path,identity"
        )
    if path.is_dir():
        entries, skipped = _scan_folder(path)
        root = path.resolve()
    elif path.suffix.lower() in LIST_EXTENSIONS:
        entries, skipped = _read_list(path)
        root = path.resolve().parent
    else:
        raise SourceError(
            f"input {str(path)!r} is neither a folder nor a .csv/.parquet list file"
        )
    if not entries:
        raise SourceError(
            f"no images found in {str(path)!r} (expected identity folders holding "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))} files); skipped: {dict(skipped) or 'nothing'}"
        )
    return _build(root, entries, skipped)


def _build(
    root: Path, entries: list[tuple[str, str, Path, dict | None]], skipped: Counter
) -> Listing:
    entries.sort(key=lambda e: (e[0], e[1]))
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry[1] in seen:
            skipped["duplicate_path"] += 1
            continue
        seen.add(entry[1])
        unique.append(entry)
    labels = {name: i for i, name in enumerate(sorted({e[0] for e in unique}))}
    samples = [
        SourceSample(
            sample_id=sample_id_for(rel),
            identity=identity,
            label=labels[identity],
            source_path=rel,
            path=abspath,
            hints=hints,
        )
        for identity, rel, abspath, hints in unique
    ]
    return Listing(root=root, samples=samples, labels=labels, skipped=dict(sorted(skipped.items())))


def _scan_folder(root: Path) -> tuple[list[tuple[str, str, Path, dict | None]], Counter]:
    skipped: Counter = Counter()
    entries: list[tuple[str, str, Path, dict | None]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        kept_dirs = []
        for d in dirnames:
            if d.startswith("."):
                skipped["hidden"] += 1
            else:
                kept_dirs.append(d)
        dirnames[:] = sorted(kept_dirs)
        rel_dir = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        for name in sorted(filenames):
            if name.startswith("."):
                skipped["hidden"] += 1
            elif not is_image_name(name):
                skipped["not_an_image_file"] += 1
            elif rel_dir == PurePosixPath("."):
                skipped["not_in_identity_folder"] += 1
            else:
                rel = str(rel_dir / name)
                entries.append((rel_dir.parts[0], rel, Path(dirpath) / name, None))
    return entries, skipped


def _read_list(list_path: Path) -> tuple[list[tuple[str, str, Path, dict | None]], Counter]:
    rows = _list_rows(list_path)
    base = list_path.resolve().parent
    skipped: Counter = Counter()
    entries: list[tuple[str, str, Path, dict | None]] = []
    for lineno, row in enumerate(rows, start=2):
        raw_path = str(row.get("path") or "").strip()
        identity = str(row.get("identity") or "").strip()
        if not raw_path or not identity:
            raise SourceError(
                f"{list_path}: row {lineno} lacks a path or an identity; every row needs both"
            )
        name = PurePosixPath(raw_path.replace("\\", "/")).name
        if name.startswith("."):
            skipped["hidden"] += 1
            continue
        if not is_image_name(name):
            skipped["not_an_image_file"] += 1
            continue
        p = Path(raw_path)
        abspath = p if p.is_absolute() else base / p
        rel = _relative(abspath, base)
        hints = {k: _parse_hint(k, row.get(k), list_path, lineno) for k in HINT_COLUMNS}
        hints = {k: v for k, v in hints.items() if v is not None} or None
        entries.append((identity, rel, abspath, hints))
    return entries, skipped


def _relative(abspath: Path, base: Path) -> str:
    try:
        return abspath.resolve().relative_to(base).as_posix()
    except ValueError:
        return abspath.resolve().as_posix()


def _list_rows(list_path: Path) -> list[dict[str, Any]]:
    if list_path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(list_path)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"cannot read the list {list_path}: {exc}") from exc
        columns = set(table.column_names)
        rows = table.to_pylist()
    else:
        try:
            with open(list_path, newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                columns = set(reader.fieldnames or [])
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise SourceError(f"cannot read the list {list_path}: {exc}") from exc
    missing = {"path", "identity"} - columns
    if missing:
        raise SourceError(
            f"{list_path} lacks column(s) {', '.join(sorted(missing))}; "
            f"a list needs a header with path,identity (found: {', '.join(sorted(columns))})"
        )
    return rows


def _parse_hint(key: str, value: Any, list_path: Path, lineno: int) -> list | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else [
                float(v) for v in value.split(",")
            ]
        out = [list(map(float, v)) if isinstance(v, list | tuple) else float(v) for v in value]
    except (ValueError, TypeError) as exc:
        raise SourceError(f"{list_path}: row {lineno}: cannot parse {key}={value!r}: {exc}") from exc
    expected = {"bbox": 4, "landmarks5": 5, "landmarks68": 68}[key]
    if len(out) != expected:
        raise SourceError(
            f"{list_path}: row {lineno}: {key} needs {expected} values, got {len(out)}"
        )
    return out
