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
Read them back with ``webdataset.WebDataset(urls).decode("pil").to_tuple("jpg;png;webp", "cls")``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..errors import OutputError
from ..io.reader import dataset_files
from ..io.selection import RowFilter, occluded_column, scan_columns

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
        dst: the folder for the tar shards; it must not hold ``shard-*.tar`` files already.
        row_filter: which rows (see :meth:`maskforge.io.selection.RowFilter.resolve`); all if None.
        maxcount: samples per tar shard.
        allow_partial: export a run that has not finished (its done shards).
    """
    import webdataset as wds

    dst = Path(dst)
    files = dataset_files(out, allow_partial=allow_partial)
    if dst.is_dir() and any(dst.glob("shard-*.tar")):
        raise OutputError(f"{str(dst)!r} already holds shard-*.tar files; export into an empty folder")
    dst.mkdir(parents=True, exist_ok=True)
    row_filter = row_filter or RowFilter()
    opened: list[Any] = []

    def opener(name: str) -> Any:  # exclusive create: never overwrite a file
        fh = open(name, "xb")  # noqa: SIM115 - closed below, after the writer has finished it
        opened.append(fh)
        return fh

    n = 0
    try:
        with wds.ShardWriter(str(dst / PATTERN), maxcount=maxcount, verbose=0, mtime=0.0, opener=opener) as sink:
            for f in files:
                n += _write_file(sink, f, row_filter)
    finally:
        for fh in opened:
            fh.close()
    return n
