"""Write a run's samples as WebDataset tar shards (``maskforge export --format webdataset``).

``DST/shard-000000.tar``, ``shard-000001.tar``, ... hold ``maxcount`` samples each, written by the
``webdataset`` package's :class:`webdataset.ShardWriter`. A sample's key is
``<sample_id>_<variant>``; its files are:

- ``.jpg`` — the stored image bytes, untouched (``.png`` / ``.webp`` when the run stored that);
- ``.cls`` — the label (``labels.csv``), as text;
- ``.json`` — ``sample_id``, ``identity``, ``label``, ``variant``, ``split``, ``source_path``,
  ``occluded``, ``occluders``, ``width``, ``height``, ``bbox``, ``landmarks5``, ``landmarks68``
  (pixels of the stored image).

Samples keep the shards' order; tar members carry mtime 0, so the same run gives the same bytes.
Each tar is written under a temporary name and renamed when complete, so a killed export leaves
whole tars only; the tars are recorded as maskforge's (``DST/.maskforge/created``), so rerunning
the same command redoes the export, replacing them (and removing its own tars past the new last
one). The export holds DST's writer lock and a reader's lock on the run while it works.
Read them back with ``webdataset.WebDataset(urls).decode("pil").to_tuple("jpg;png;webp", "cls")``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..errors import OutputError
from ..io.lock import read_lock, write_lock
from ..io.names import printable
from ..io.owned import OutputRecord
from ..io.paths import check_export_folder, check_write_target
from ..io.reader import snapshot
from ..io.selection import RowFilter, occluded_column, scan_columns
from ..io.writer import atomic_path

_EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}
_META = ["sample_id", "identity", "label", "variant", "split", "source_path", "occluders",
         "width", "height", "bbox", "landmarks5", "landmarks68"]
PATTERN = "shard-%06d.tar"


def _key(row: dict[str, Any]) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{row['sample_id']}_{row['variant']}")
    return safe


def _sample(row: dict[str, Any], occluded: bool) -> dict[str, Any]:
    meta = {k: row.get(k) for k in _META}
    meta["occluded"] = occluded
    ext = _EXT.get(row.get("image_format") or "", "jpg")
    return {"__key__": _key(row), ext: row["image"], "cls": int(row["label"]), "json": meta}


def _write_file(sink: Any, file: Path, row_filter: RowFilter) -> int:
    pf = pq.ParquetFile(file)
    cols = scan_columns(pf.schema_arrow, [*_META, "image", "image_format", "occluded", "occluders"])
    n = 0
    for rg in range(pf.num_row_groups):
        table = pf.read_row_group(rg, columns=cols)
        flags = occluded_column(table)
        if "occluded" in table.column_names:
            table = table.drop_columns(["occluded"])
        table = table.append_column("occluded", flags)
        for row in table.filter(row_filter.mask(table)).to_pylist():
            sink.write(_sample(row, bool(row.pop("occluded"))))
            n += 1
    return n


def export_webdataset(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    row_filter: RowFilter | None = None,
    maxcount: int = 10_000,
    allow_partial: bool = False,
) -> int:
    """Write the samples of run ``out`` as tar shards under ``dst``; returns the samples written.

    Args:
        out: a run's output folder.
        dst: the folder for the tar shards; it must not hold ``shard-*.tar`` files that maskforge
            did not write.
        row_filter: which rows (see :meth:`maskforge.io.selection.RowFilter.resolve`); all if None.
        maxcount: samples per tar shard.
        allow_partial: export a run that has not finished (its done shards).
    """
    out, dst = Path(out), Path(dst)
    inputs = check_export_folder(out, dst)
    with read_lock(out), write_lock(dst):
        files = snapshot(out, allow_partial=allow_partial, verify=True).files  # hashes checked
        record = OutputRecord(dst)
        theirs = record.foreign(sorted(dst.glob("shard-*.tar")))
        if theirs:
            raise OutputError(
                f"{printable(str(dst))!r} already holds shard-*.tar files maskforge did not write "
                f"(e.g. {printable(theirs[0])!r}); export into an empty folder"
            )
        return _write_tars(files, dst, inputs, record, row_filter or RowFilter(), maxcount)


def _write_tars(
    files: list[Path], dst: Path, inputs: list[Path], record: OutputRecord, row_filter: RowFilter, maxcount: int
) -> int:
    import webdataset as wds

    written: list[Path] = []
    pending: dict[str, tuple[Any, Any]] = {}

    def opener(name: str) -> Any:  # a temporary file, renamed into place by ``post``
        target = Path(name)
        check_write_target(target, inputs, what="export")
        record.claim([target], what="export destination")
        ctx = atomic_path(target)
        tmp = ctx.__enter__()
        fh = open(tmp, "wb")  # noqa: SIM115 - closed by ``post`` or below
        pending[name] = (ctx, fh)
        return fh

    def post(name: str) -> None:
        ctx, fh = pending.pop(name)
        fh.close()
        ctx.__exit__(None, None, None)
        written.append(Path(name))

    n = 0
    try:
        with wds.ShardWriter(str(dst / PATTERN), maxcount=maxcount, verbose=0, mtime=0.0, opener=opener,
                             post=post) as sink:  # fmt: skip
            for f in files:
                n += _write_file(sink, f, row_filter)
    except BaseException as exc:
        for ctx, fh in pending.values():
            fh.close()
            ctx.__exit__(type(exc), exc, exc.__traceback__)
        raise
    for stale in sorted(set(dst.glob("shard-*.tar")) - set(written)):  # ours (checked above)
        stale.unlink()
    return n
