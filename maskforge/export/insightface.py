"""Write a run's samples as an insightface RecordIO dataset (``maskforge export --format
insightface``): ``DST/train.rec``, ``DST/train.idx``, ``DST/property`` and ``DST/labels.csv``.

The layout is insightface's, as ``arcface_torch``'s ``MXFaceDataset`` reads it:

- record 0: a header (flag 2, labels ``[N + 1, N + 1 + K]``): the keys of the identity headers;
- records 1 .. N: one per exported row (every variant row, masked and unmasked), the stored image
  bytes unchanged, label = the identity's exported label;
- records N + 1 .. N + K: per identity, a header whose labels are its record range ``[a, b)``.

Labels are contiguous over the exported rows, 0 .. K - 1 in the order of the run's labels (so a
split's classes all appear in it, as a softmax or ArcFace head needs); ``labels.csv`` maps them
back (``label,identity,run_label``). ``property`` is ``K,height,width`` of the images. Every file
is written under a temporary name and renamed into place; an export refuses a DST that already
holds any of them (checked before the first write).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from ..errors import OutputError
from ..io.paths import check_export_targets
from ..io.reader import dataset_files
from ..io.recordio import RecordWriter, pack_image_record, write_property
from ..io.selection import RowFilter, occluded_column, scan_columns
from ..io.writer import write_text_atomic

#: The files an insightface export writes.
FILES = ("train.rec", "train.idx", "property", "labels.csv")


@dataclass
class _Selected:
    """The exported rows of one shard file: row numbers, exported labels and record keys."""

    file: Path
    rows: np.ndarray
    labels: np.ndarray
    keys: np.ndarray | None = None


def _select(files: list[Path], row_filter: RowFilter) -> tuple[list[_Selected], dict[int, str], tuple[int, int]]:
    """Pass 1: the rows each file exports, the run labels' identities, and the first row's
    ``(height, width)``."""
    chosen: list[_Selected] = []
    names: dict[int, str] = {}
    size = (0, 0)
    for f in files:
        pf = pq.ParquetFile(f)
        cols = scan_columns(pf.schema_arrow, ["split", "variant", "label", "identity", "width",
                                              "height", "occluded", "occluders"])  # fmt: skip
        t = pf.read(columns=cols)
        flags = occluded_column(t)
        t = t.drop_columns([c for c in ("occluded",) if c in t.column_names]).append_column("occluded", flags)
        rows = np.flatnonzero(row_filter.mask(t))
        if not len(rows):
            continue
        labels = t["label"].to_numpy()[rows].astype(np.int64)
        uniq, first = np.unique(labels, return_index=True)
        names.update(zip(uniq.tolist(), t["identity"].take(rows[first]).to_pylist(), strict=True))
        if size == (0, 0):
            size = (int(t["height"][int(rows[0])].as_py() or 0), int(t["width"][int(rows[0])].as_py() or 0))
        chosen.append(_Selected(f, rows, labels))
    return chosen, names, size


def _assign_keys(chosen: list[_Selected], run_labels: list[int]) -> list[tuple[int, int]]:
    """Give every exported row its label (contiguous) and key (1 .. N, grouped by label, then in
    file and row order); returns each identity's key range ``[a, b)``."""
    lookup = np.array(run_labels, np.int64)
    for s in chosen:
        s.labels = np.searchsorted(lookup, s.labels)
    labels = np.concatenate([s.labels for s in chosen])
    files = np.concatenate([np.full(len(s.rows), k, np.int64) for k, s in enumerate(chosen)])
    rows = np.concatenate([s.rows for s in chosen])
    order = np.lexsort((rows, files, labels))
    keys = np.empty(len(order), np.int64)
    keys[order] = np.arange(1, len(order) + 1)
    start = 0
    for s in chosen:
        s.keys, start = keys[start : start + len(s.rows)], start + len(s.rows)
    ends = np.cumsum(np.bincount(labels, minlength=len(run_labels))) + 1
    starts = np.concatenate([[1], ends[:-1]])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _write_records(writer: RecordWriter, chosen: list[_Selected]) -> int:
    """Pass 2: each file's exported rows, in key order, with their stored image bytes."""
    n = 0
    for s in chosen:
        images = pq.read_table(s.file, columns=["image"])["image"]
        keys = s.keys if s.keys is not None else np.arange(len(s.rows))
        for i in np.argsort(keys, kind="stable"):
            image = images[int(s.rows[i])].as_py()
            if not image:
                raise OutputError(f"{str(s.file)!r} row {int(s.rows[i])} holds no image; rerun the run")
            writer.write(pack_image_record(float(s.labels[i]), image, id=int(keys[i])), key=int(keys[i]))
            n += 1
    return n


def _labels_csv(run_labels: list[int], names: dict[int, str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", "identity", "run_label"])
    for i, lab in enumerate(run_labels):
        w.writerow([i, names[lab], lab])
    return buf.getvalue()


def export_insightface(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    row_filter: RowFilter | None = None,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Write the rows of run ``out`` (those ``row_filter`` keeps; all if None) as an insightface
    dataset in ``dst``. Returns ``{"records", "identities", "size"}`` (images, classes,
    ``(height, width)``). Raises OutputError before any write when a destination is unusable
    or no row is selected."""
    out, dst = Path(out), Path(dst)
    files = dataset_files(out, allow_partial=allow_partial)
    check_export_targets(out, dst, [dst / name for name in FILES])
    chosen, names, (h, w) = _select(files, row_filter or RowFilter())
    if not chosen:
        raise OutputError(f"no rows of {str(out)!r} match {(row_filter or RowFilter()).describe()}")
    run_labels = sorted(names)
    ranges = _assign_keys(chosen, run_labels)
    total = sum(len(s.rows) for s in chosen)
    dst.mkdir(parents=True, exist_ok=True)
    with RecordWriter(dst / "train.rec", dst / "train.idx") as writer:
        first = total + 1
        writer.write(pack_image_record([float(first), float(first + len(ranges))], b""), key=0)
        n = _write_records(writer, chosen)
        for k, (a, b) in enumerate(ranges):
            writer.write(pack_image_record([float(a), float(b)], b"", id=first + k), key=first + k)
    write_property(dst / "property", len(run_labels), h, w)
    write_text_atomic(_labels_csv(run_labels, names), dst / "labels.csv")
    return {"records": n, "identities": len(run_labels), "size": (h, w)}
