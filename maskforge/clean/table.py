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
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import OutputError

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
