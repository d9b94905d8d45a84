"""Write a run's samples as identity folders of image files.

Two layouts:

- ``identity`` (``maskforge export``): ``DST/<identity>/<file stem>_<variant>.<ext>`` — the way
  earlier masked CASIA / VGGFace2 sets were shared;
- ``source`` (``maskforge detect --export-images``): ``DST/<source_path>`` with the extension of
  the stored encoding, mirroring the input folders (one variant per sample expected). An absolute
  ``source_path`` (a list file's image outside the list's folder) is mapped under DST without its
  leading ``/``; ``..`` parts become ``__`` (:func:`maskforge.io.paths.path_under`).

Names are unique: two identities whose folder names would coincide (``A B`` and ``A_B``, or names
differing only in case) or two files that would share a name (``pic.jpg`` and ``pic.png``) get a
short hash of what tells them apart (``A_B-3f2a9c1e``, ``pic_original-77c1d0aa.jpg``); the first in
sorted order keeps the plain name. Every destination is checked before the first write: an export
refuses a DST that already holds any of its files, the run's own folder, and a DST inside the
run's input folder. Files are created exclusively (never replaced). Names depend only on the
samples, so exports are deterministic.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.dataset as ds

from ..errors import OutputError
from ..io.paths import check_export_targets, path_under
from ..io.reader import read_shards

_EXT = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
_META = ["sample_id", "identity", "source_path", "variant", "image_format"]


def _safe(part: str) -> str:
    """A file-name part of letters, digits and ``-_.+``; never empty, ``.`` or ``..``."""
    out = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in part)
    return "_" if not out.strip(".") else out


def _tag(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


def _unique(names: dict[Any, str], tag: Any) -> dict[Any, str]:
    """Make the values of ``names`` (keys in sorted order) unique, case-insensitively: the first
    key keeps its name, later ones get ``-<hash of key>`` before the extension."""
    used: set[str] = set()
    out = {}
    for key in sorted(names):
        name, salt = names[key], ""
        stem, ext = os.path.splitext(name)
        while name.casefold() in used:  # a second round only if a tagged name is taken too
            name, salt = f"{stem}-{_tag(tag(key) + salt)}{ext}", salt + "+"
        used.add(name.casefold())
        out[key] = name
    return out


def plan_targets(rows: Sequence[dict[str, Any]], layout: str) -> list[PurePosixPath]:
    """DST-relative paths, unique, for ``rows`` (dicts with the :data:`_META` columns)."""
    if layout not in ("identity", "source"):
        raise ValueError("layout must be 'identity' or 'source'")
    keys = [(r["identity"], r["source_path"], r["variant"], r["sample_id"]) for r in rows]
    ext = {k: _EXT.get(r["image_format"] or "", ".img") for k, r in zip(keys, rows, strict=True)}
    if layout == "identity":
        folders = _unique({k[0]: _safe(k[0]) for k in keys}, tag=str)
        by_folder: dict[str, dict[tuple, str]] = {}
        for k in keys:
            stem = PurePosixPath(k[1].replace("\\", "/")).stem
            by_folder.setdefault(folders[k[0]], {})[k] = f"{_safe(stem)}_{_safe(k[2])}{ext[k]}"
        named = {
            k: PurePosixPath(folder, name)
            for folder, files in by_folder.items()
            for k, name in _unique(files, tag=lambda k: f"{k[1]}\0{k[2]}").items()
        }
    else:
        wanted = {k: path_under('', k[1], ext[k]).as_posix() for k in keys}
        named = {k: PurePosixPath(p) for k, p in _unique(wanted, tag=lambda k: k[1]).items()}
    return [named[k] for k in keys]


def _batches(dset: ds.Dataset, flt: Any, columns: list[str]) -> Iterator[dict[str, Any]]:
    for batch in dset.to_batches(columns=columns, filter=flt, batch_size=256):
        yield from batch.to_pylist()


def _write_new(target: Path, data: bytes) -> None:
    """Create ``target`` holding ``data``; never replaces a file (removes a partial one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fh = open(target, "xb")  # noqa: SIM115 - closed below; "x" refuses an existing file
    except FileExistsError as exc:
        raise OutputError(
            f"{str(target)!r} appeared during the export; export into a new or empty folder"
        ) from exc
    try:
        with fh:
            fh.write(data)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def export_folders(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    layout: str = "identity",
    variants: Sequence[str] | None = None,
    split: str | None = None,
    allow_partial: bool = False,
) -> int:
    """Write images of run ``out`` under ``dst``; returns the number of files written (each a new
    file). Raises :class:`OutputError`, before writing anything, when a destination is unusable
    (see the module docstring), and IncompleteRunError for an unfinished run unless
    ``allow_partial`` (then the shards done so far are written)."""
    if layout not in ("identity", "source"):
        raise ValueError("layout must be 'identity' or 'source'")
    out, dst = Path(out), Path(dst)
    dset = read_shards(out, allow_partial=allow_partial)
    flt = None
    if variants:
        flt = ds.field("variant").isin(list(variants))
    if split:
        f2 = ds.field("split") == split
        flt = f2 if flt is None else (flt & f2)
    rows = list(_batches(dset, flt, _META))
    targets = [dst / rel for rel in plan_targets(rows, layout)]
    check_export_targets(out, dst, targets)
    n = 0
    for planned, target, row in zip(rows, targets, _batches(dset, flt, ["sample_id", "image"]), strict=True):
        if row["sample_id"] != planned["sample_id"]:
            raise OutputError(f"the shards of {str(out)!r} changed during the export; run it again")
        _write_new(target, row["image"])
        n += 1
    return n
