"""The ``clean_scores.parquet`` table: one row per input sample (see docs/cleaning.md).

Required columns (what ``maskforge audit`` needs; ``maskforge run`` writes at least these):

==================  =========  ==========================================================
sample_id           string     stable id of the sample (maskforge.io.sources)
identity            string     identity label the sample came with
source_path         string     dataset-relative POSIX path
clean_score         float32    the method's score, L2 scale 0..2 (null: not scored)
threshold           float32    threshold it was compared with (null: not scored)
flagged             bool       score > threshold and not whitelisted
method              string     ``robust`` | ``mean-distance``
==================  =========  ==========================================================

Optional columns written by ``maskforge clean``: ``status`` (kept, flagged, too_few_images,
whitelisted, rejected), ``reason`` (distance, closer_to_other, or the reject reason of samples
without a usable face), ``nearest_identity``, ``nearest_distance``, ``embedder``; and, in
``maskforge run`` outputs, ``image`` (encoded image bytes, used for thumbnails).
Schema metadata ``maskforge.clean`` holds JSON: source_root, embedder info, config, summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import OutputError
from ..io.writer import write_table_atomic

if TYPE_CHECKING:  # torch-free at import time
    from .stage import CleanResult

REQUIRED_COLUMNS = (
    "sample_id",
    "identity",
    "source_path",
    "clean_score",
    "threshold",
    "flagged",
    "method",
)
METADATA_KEY = b"maskforge.clean"


def _floats(a: np.ndarray) -> pa.Array:
    a = np.asarray(a, dtype=np.float32)
    return pa.array(a, type=pa.float32(), mask=~np.isfinite(a))


def result_table(
    result: CleanResult,
    sample_ids: Sequence[str],
    identities: Sequence[str],
    source_paths: Sequence[str],
    rejected: Sequence[tuple[str, str, str, str]] = (),
    metadata: dict[str, Any] | None = None,
) -> pa.Table:
    """The clean_scores table of scored samples plus ``rejected`` ones
    (``(sample_id, identity, source_path, reason)``: no usable face, never scored)."""
    n, r = len(result), len(rejected)
    rej = list(zip(*rejected, strict=True)) if r else [[], [], [], []]
    nan = np.full(r, np.nan, np.float32)
    cols = {
        "sample_id": pa.array(list(sample_ids) + list(rej[0]), pa.string()),
        "identity": pa.array(list(identities) + list(rej[1]), pa.string()),
        "source_path": pa.array(list(source_paths) + list(rej[2]), pa.string()),
        "clean_score": _floats(np.concatenate([result.score, nan])),
        "threshold": _floats(np.concatenate([result.threshold, nan])),
        "flagged": pa.array(np.concatenate([result.flagged, np.zeros(r, bool)])),
        "method": pa.array([result.method] * (n + r), pa.string()),
        "status": pa.array(list(result.status) + ["rejected"] * r, pa.string()),
        "reason": pa.array(list(result.reason) + list(rej[3]), pa.string()),
        "nearest_identity": pa.array(list(result.nearest_identity) + [None] * r, pa.string()),
        "nearest_distance": _floats(np.concatenate([result.nearest_distance, nan])),
        "embedder": pa.array([result.embedder] * (n + r), pa.string()),
    }
    table = pa.table(cols)
    if metadata:
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata, default=str)})
    return table


def write_clean_scores(table: pa.Table, path: str | Path) -> None:
    """Write atomically (:func:`maskforge.io.writer.write_table_atomic`)."""
    write_table_atomic(table, Path(path))


def read_clean_scores(path: str | Path, with_images: bool = True) -> pa.Table:
    """Read a clean_scores.parquet (a file, or a folder holding one); OutputError when missing or
    lacking a required column."""
    path = Path(path)
    if path.is_dir():
        path = path / "clean_scores.parquet"
    if not path.is_file():
        raise OutputError(f"{str(path)!r} not found: run `maskforge clean` (or `run`) first")
    try:
        schema = pq.read_schema(path)
        columns = None if with_images else [c for c in schema.names if c != "image"]
        table = pq.read_table(path, columns=columns)
    except Exception as exc:  # noqa: BLE001 - arrow raises several types for bad files
        raise OutputError(f"cannot read {str(path)!r}: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise OutputError(f"{str(path)!r} lacks column(s) {', '.join(missing)}")
    return table


def table_metadata(table: pa.Table) -> dict[str, Any]:
    """The ``maskforge.clean`` JSON metadata ({} when absent)."""
    meta = table.schema.metadata or {}
    raw = meta.get(METADATA_KEY)
    return json.loads(raw) if raw else {}
