"""Arrow schemas of maskforge's Parquet outputs (documented column by column in docs/schema.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

#: Bumped whenever a column changes meaning or type; stored in every file's metadata.
SCHEMA_VERSION = "2"

_F32 = pa.float32()


def _points(n: int) -> pa.DataType:
    return pa.list_(pa.list_(_F32, 2), n)


OCCLUDER_TYPE = pa.struct(
    [
        ("kind", pa.string()),
        ("name", pa.string()),
        ("color", pa.string()),
        ("texture", pa.string()),
        ("wear", pa.string()),
    ]
)

SAMPLE_FIELDS: list[pa.Field] = [
    pa.field("sample_id", pa.string(), nullable=False),
    pa.field("identity", pa.string(), nullable=False),
    pa.field("label", pa.int32(), nullable=False),
    pa.field("source_path", pa.string(), nullable=False),
    pa.field("variant", pa.string(), nullable=False),
    pa.field("image", pa.binary()),
    pa.field("image_format", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("bbox", pa.list_(_F32, 4)),
    pa.field("det_score", _F32),
    pa.field("landmarks5", _points(5)),
    pa.field("landmarks68", _points(68)),
    pa.field("pose", pa.list_(_F32, 3)),
    pa.field("transform", pa.list_(pa.float64(), 6)),
    pa.field("embedding", pa.list_(_F32)),
    pa.field("clean_score", _F32),
    pa.field("clean_flagged", pa.bool_()),
    pa.field("occluders", pa.list_(OCCLUDER_TYPE)),
    pa.field("occluded", pa.bool_()),
    pa.field("occlusion_mask", pa.binary()),
    pa.field("augment", pa.string()),
    pa.field("seed", pa.int64()),
    pa.field("split", pa.string()),
]

REJECT_FIELDS: list[pa.Field] = [
    pa.field("sample_id", pa.string()),
    pa.field("source_path", pa.string(), nullable=False),
    pa.field("identity", pa.string()),
    pa.field("stage", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("detail", pa.string()),
]


def _with_meta(fields: list[pa.Field], kind: str) -> pa.Schema:
    return pa.schema(
        fields, metadata={"maskforge.schema_version": SCHEMA_VERSION, "maskforge.kind": kind}
    )


SAMPLE_SCHEMA = _with_meta(SAMPLE_FIELDS, "samples")
REJECT_SCHEMA = _with_meta(REJECT_FIELDS, "rejects")


def to_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table with exactly ``schema``'s columns; missing keys become nulls.

    numpy arrays are accepted for list columns (converted with ``tolist``).
    """
    names = schema.names
    columns: dict[str, list[Any]] = {n: [] for n in names}
    for row in rows:
        for n in names:
            v = row.get(n)
            tolist = getattr(v, "tolist", None)
            if tolist is not None and not isinstance(v, bytes | str):
                v = tolist()
            columns[n].append(v)
    return pa.table(columns, schema=schema)
