"""The Hugging Face ``datasets`` features of a run's Parquet files, for the dataset card.

Declared in the card's ``dataset_info.features`` block, they make ``load_dataset(OUT)`` (and the
Hub's viewer) decode ``image`` and ``occlusion_mask`` as images (``Image``: PIL images from the
stored PNG / JPEG bytes) and ``label`` as a ``ClassLabel`` whose names are the identities, label
``k`` named by ``labels.csv``. The other columns keep their Arrow types (``datasets`` >= 4
vocabulary: ``list`` with an optional ``length`` for lists, a list of fields for structs).

Every column of the schema is declared (``datasets`` casts each file to the declared features, so
a column left out would fail the load). The block is written as one YAML flow mapping (JSON) per
column, which any YAML reader parses and which escapes every identity name safely.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

#: Binary columns holding encoded images.
IMAGE_COLUMNS = ("image", "occlusion_mask")
#: The integer column holding the identity's label.
LABEL_COLUMN = "label"

_SCALARS = {
    pa.string(): "string",
    pa.large_string(): "large_string",
    pa.bool_(): "bool",
    pa.int8(): "int8",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float16(): "float16",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.binary(): "binary",
    pa.large_binary(): "large_binary",
}


def _item(t: pa.DataType) -> Any:
    """What stands for ``t`` as a list's item: a scalar's name, a nested list's mapping, a
    struct's list of fields."""
    if t in _SCALARS:
        return _SCALARS[t]
    if pa.types.is_struct(t):
        return [{"name": f.name, **_type(f.type)} for f in t]
    return _type(t)


def _type(t: pa.DataType) -> dict[str, Any]:
    """The YAML keys of a column of type ``t``: ``dtype``, ``list`` [+ ``length``], ``struct``."""
    if t in _SCALARS:
        return {"dtype": _SCALARS[t]}
    if pa.types.is_struct(t):
        return {"struct": _item(t)}
    if pa.types.is_fixed_size_list(t):
        return {"list": _item(t.value_type), "length": t.list_size}
    if pa.types.is_list(t):
        return {"list": _item(t.value_type)}
    raise ValueError(f"no Hugging Face feature for Arrow type {t}")


def features(schema: pa.Schema, labels: Mapping[str, int]) -> list[dict[str, Any]]:
    """``dataset_info.features`` of ``schema``: images, the identity ClassLabel (names in label
    order), every other column by its Arrow type."""
    names = {str(k): ident for ident, k in sorted(labels.items(), key=lambda kv: kv[1])}
    out: list[dict[str, Any]] = []
    for field in schema:
        if field.name in IMAGE_COLUMNS:
            out.append({"name": field.name, "dtype": "image"})
        elif field.name == LABEL_COLUMN:
            out.append({"name": field.name, "dtype": {"class_label": {"names": names}}})
        else:
            out.append({"name": field.name, **_type(field.type)})
    return out


def features_yaml(schema: pa.Schema, labels: Mapping[str, int], indent: int = 2) -> str:
    """The ``features:`` block as YAML lines (one JSON flow mapping per column), indented by
    ``indent`` spaces, to nest under ``dataset_info:``."""
    pad = " " * indent
    lines = [f"{pad}features:"]
    lines += [f"{pad}- {json.dumps(f, ensure_ascii=True)}" for f in features(schema, labels)]
    return "\n".join(lines)
