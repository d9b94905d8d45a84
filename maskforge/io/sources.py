"""List identity-labelled face datasets.

Three kinds of input are understood:

- a **folder of identity folders**, as CASIA-WebFace (``0000045/001.jpg``), VGGFace2
  (``n000002/0001_01.jpg``) and LFW (``Name/Name_0001.jpg``) are distributed. The identity is the
  first folder under the root; images deeper inside it belong to it too;
- a **list file** (``.csv`` or ``.parquet``) with columns ``path`` and ``identity``; paths are
  relative to the list file's folder unless absolute. Optional geometry columns (see
  :data:`HINT_COLUMNS`) are passed on to the detection stage as hints;
- an insightface **RecordIO** dataset: a ``.rec`` file, or a folder holding ``train.rec`` (with
  ``train.idx`` and ``property``), listed by :mod:`maskforge.io.recsource`.

Images are files with one of :data:`IMAGE_EXTENSIONS` (any case). Hidden files and folders (name
starting with ``.``) and other files are skipped and counted by reason in :attr:`Listing.skipped`.

Order is deterministic: identities sorted by name, then paths sorted within an identity. A
sample's ``sample_id`` is derived from its dataset-relative path, so it is stable across runs and
machines; ``label`` is the identity's index in the sorted identity names.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import DecodeError, SourceError
from .decode import read_bytes
from .recordio import read_record
from .recsource import list_recordio, recordio_input
from .samples import Listing, SkippedFile, SourceSample, sample_id_for

__all__ = [
    "HINT_COLUMNS", "IMAGE_EXTENSIONS", "LIST_EXTENSIONS", "Listing", "SkippedFile",
    "SourceSample", "is_image_name", "is_output_folder", "list_samples", "read_sample_bytes",
    "sample_id_for",
]

#: File extensions (any case) of the image formats Pillow decodes; every such file is tried, and
#: one that does not decode becomes a decode reject with its name and reason.
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".gif",
    ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k",
})
LIST_EXTENSIONS = frozenset({".csv", ".parquet"})
#: Optional columns of a list file, passed to detection as geometry hints (source pixels).
#: ``bbox`` is "x1,y1,x2,y2"; ``landmarks5``/``landmarks68`` are JSON lists of [x, y] pairs.
HINT_COLUMNS = ("bbox", "landmarks5", "landmarks68")


@dataclass
class _Entry:
    identity: str
    rel: str
    path: Path
    hints: dict | None = None
    via_link: bool = False  # reached through a symbolic link below the root
    row: int | None = None  # line of the list file
    key: Any = None  # what identifies the real file (see _file_key), when already known


def read_sample_bytes(sample: SourceSample) -> bytes:
    """The encoded image of ``sample``: its file's bytes, or the image of its RecordIO record.

    Raises:
        DecodeError: the file is unreadable, or the record is malformed (see
            :mod:`maskforge.io.recordio`) or holds no image (``empty_file``).
    """
    if sample.offset is None:
        return read_bytes(sample.path)
    image = read_record(sample.path, sample.offset).image
    if not image:
        raise DecodeError("empty_file", f"record at byte {sample.offset} holds no image bytes")
    return image


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_samples(
    source: str | os.PathLike[str], *, exclude: Iterable[str | os.PathLike[str]] = ()
) -> Listing:
    """List a dataset folder or list file. Raises :class:`SourceError` when it cannot.

    Output folders are never input: a folder in ``exclude`` (e.g. the run's own output, a
    ``--move-to`` folder) and any folder holding a maskforge ``manifest.json`` are skipped with
    reason ``output_folder``, so an output inside the input does not come back as an identity.

    Symbolic links are followed; a folder link back to one of its own parents is skipped
    (``symlink_loop``), and a real file reached by several paths is listed once: under the path
    without links when there is one, else the first in sorted order (``duplicate_file``). In a
    list file, one file under two different identities is an error (its label would be a guess).
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(
            f"input {str(path)!r} does not exist: pass a folder of identity folders "
            "or a .csv/.parquet list with columns path,identity"
        )
    skipped: list[SkippedFile] = []
    excluded = frozenset(os.path.realpath(p) for p in exclude)
    if (rec := recordio_input(path)) is not None:
        return list_recordio(rec)
    if path.is_dir():
        root = path.resolve()
        entries = _scan_folder(root, skipped, excluded)
    elif path.suffix.lower() in LIST_EXTENSIONS:
        entries = _without_outputs(_read_list(path, skipped), skipped, excluded)
        root = path.resolve().parent
    else:
        raise SourceError(
            f"input {str(path)!r} is neither a folder nor a .csv/.parquet list file"
        )
    entries = _unique_files(entries, skipped, from_list=not path.is_dir(), list_path=path)
    if not entries:
        counts = Counter(s.reason for s in skipped)
        raise SourceError(
            f"no images found in {str(path)!r} (expected identity folders holding "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))} files); skipped: {dict(counts) or 'nothing'}"
        )
    return _build(root, entries, skipped)


def _build(root: Path, entries: list[_Entry], skipped: list[SkippedFile]) -> Listing:
    entries.sort(key=lambda e: (e.identity, e.rel))
    labels = {name: i for i, name in enumerate(sorted({e.identity for e in entries}))}
    samples = [
        SourceSample(
            sample_id=sample_id_for(e.rel),
            identity=e.identity,
            label=labels[e.identity],
            source_path=e.rel,
            path=e.path,
            hints=e.hints,
        )
        for e in entries
    ]
    skipped = sorted(skipped, key=lambda s: (s.path, s.reason))
    counts = dict(sorted(Counter(s.reason for s in skipped).items()))
    return Listing(root=root, samples=samples, labels=labels, skipped=counts, skipped_files=skipped)


def _file_key(path: Path) -> tuple[int, int] | str:
    """What identifies a real file: (device, inode), or its resolved path when stat fails."""
    try:
        st = path.stat()
    except OSError:
        return str(path.resolve())
    return (st.st_dev, st.st_ino)


def _unique_files(
    entries: list[_Entry], skipped: list[SkippedFile], *, from_list: bool, list_path: Path
) -> list[_Entry]:
    """Keep one entry per real file (see :func:`list_samples`)."""
    groups: dict[Any, list[_Entry]] = {}
    for e in entries:
        groups.setdefault(e.key if e.key is not None else _file_key(e.path), []).append(e)
    kept: list[_Entry] = []
    conflicts: list[str] = []
    for group in groups.values():
        group.sort(key=lambda e: (e.via_link, e.identity, e.rel))
        first = group[0]
        if from_list and len({e.identity for e in group}) > 1:
            rows = ", ".join(f"row {e.row} ({e.identity!r})" for e in group)
            conflicts.append(f"{first.rel}: {rows}")
            continue
        kept.append(first)
        for e in group[1:]:
            skipped.append(SkippedFile(e.rel, "duplicate_file", f"same file as {first.rel}"))
    if conflicts:
        more = f" (and {len(conflicts) - 3} more)" if len(conflicts) > 3 else ""
        raise SourceError(
            f"{list_path}: {len(conflicts)} file(s) listed under more than one identity: "
            f"{'; '.join(sorted(conflicts)[:3])}{more}; keep one row per file, under its identity"
        )
    return kept


def is_output_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a maskforge ``manifest.json`` (a run's or a direct mode's
    output, finished or not)."""
    manifest = os.path.join(folder, "manifest.json")
    if not os.path.isfile(manifest):
        return False
    try:
        with open(manifest, encoding="utf-8") as fh:
            return "maskforge_manifest" in json.load(fh)
    except (OSError, ValueError, TypeError):
        return False


def _without_outputs(
    entries: list[_Entry], skipped: list[SkippedFile], excluded: frozenset[str]
) -> list[_Entry]:
    """List-file entries outside the ``excluded`` folders (resolved paths)."""
    if not excluded:
        return entries
    kept = []
    for e in entries:
        real = os.path.realpath(e.path)
        if any(real == x or real.startswith(x + os.sep) for x in excluded):
            skipped.append(SkippedFile(e.rel, "output_folder", "inside an excluded folder"))
        else:
            kept.append(e)
    return kept


def _scan_folder(root: Path, skipped: list[SkippedFile], excluded: frozenset[str]) -> list[_Entry]:
    """Walk ``root`` (already resolved) following links, with a guard against link loops;
    output folders (``excluded`` real paths, or holding a maskforge manifest) are skipped."""
    entries: list[_Entry] = []
    # (folder path, its dataset-relative path ("" for the root), its real path, real paths of
    # the folders above it, reached through a link)
    stack: list[tuple[str, str, str, frozenset[str], bool]] = [
        (str(root), "", str(root), frozenset(), False)
    ]
    while stack:
        folder, rel_dir, real, parents, via_link = stack.pop()
        try:
            children = sorted(os.scandir(folder), key=lambda d: d.name)
            device = os.stat(folder).st_dev
        except OSError as exc:
            raise SourceError(
                f"cannot list {folder!r}: {exc.strerror or exc}; check its permissions"
            ) from exc
        below = parents | {real}
        subdirs = []
        for child in children:
            rel = f"{rel_dir}/{child.name}" if rel_dir else child.name
            is_link = child.is_symlink()
            if child.is_dir():
                child_real = os.path.realpath(child.path)
                if child.name.startswith("."):
                    skipped.append(SkippedFile(rel, "hidden"))
                elif child_real in below:
                    skipped.append(SkippedFile(rel, "symlink_loop", f"links back to {child_real}"))
                elif child_real in excluded or is_output_folder(child.path):
                    skipped.append(SkippedFile(rel, "output_folder", "an output, not input"))
                else:
                    subdirs.append((child.path, rel, child_real, below, via_link or is_link))
            elif child.name.startswith("."):
                skipped.append(SkippedFile(rel, "hidden"))
            elif not is_image_name(child.name):
                skipped.append(SkippedFile(rel, "not_an_image_file"))
            elif not rel_dir:
                skipped.append(SkippedFile(rel, "not_in_identity_folder"))
            else:
                # a plain file's inode comes free with the listing; a link's needs a stat
                key = None if is_link else (device, child.inode())
                entries.append(_Entry(rel_dir.split("/", 1)[0], rel, Path(child.path),
                                      via_link=via_link or is_link, key=key))  # fmt: skip
        stack.extend(reversed(subdirs))
    return entries


def _read_list(list_path: Path, skipped: list[SkippedFile]) -> list[_Entry]:
    rows = _list_rows(list_path)
    base = list_path.resolve().parent
    entries: list[_Entry] = []
    for lineno, row in enumerate(rows, start=2):
        raw_path = str(row.get("path") or "").strip()
        identity = str(row.get("identity") or "").strip()
        if not raw_path or not identity:
            raise SourceError(
                f"{list_path}: row {lineno} lacks a path or an identity; every row needs both"
            )
        name = PurePosixPath(raw_path.replace("\\", "/")).name
        if name.startswith("."):
            skipped.append(SkippedFile(raw_path, "hidden", f"row {lineno}"))
            continue
        if not is_image_name(name):
            skipped.append(SkippedFile(raw_path, "not_an_image_file", f"row {lineno}"))
            continue
        p = Path(raw_path)
        abspath = p if p.is_absolute() else base / p
        rel = _relative(abspath, base)
        parsed = {k: _parse_hint(k, row.get(k), list_path, lineno) for k in HINT_COLUMNS}
        hints = {k: v for k, v in parsed.items() if v is not None} or None
        entries.append(_Entry(identity, rel, abspath, hints, row=lineno))
    return entries


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
