"""Which rows a reader keeps: strict ``split`` / ``variants`` / ``occluded`` filters, and labels.

Filters are checked against the values the run's files hold: an unknown split or variant raises a
``ValueError`` listing the known ones, and so does a combination that keeps no row, so a training
loop never runs zero steps without a word.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .reader import run_root

#: The small columns a dataset scans once to build its filter and index.
SCAN_COLUMNS = ["split", "variant", "label", "identity"]


def variant_matches(name: str, wanted: str) -> bool:
    """``wanted`` names variant ``name`` itself or is its prefix before ``+`` or ``#``:
    ``"mask"`` matches ``mask``, ``mask+aug`` and ``mask+aug#2``, not ``masked``."""
    return name == wanted or name.startswith((wanted + "+", wanted + "#"))


def occluded_column(table: pa.Table) -> pa.Array:
    """The ``occluded`` flags of ``table``'s rows; derived from ``occluders`` where null/absent."""
    derived = None
    if "occluders" in table.column_names:
        derived = pc.greater(pc.fill_null(pc.list_value_length(table["occluders"]), 0), 0)
    if "occluded" not in table.column_names:
        return derived if derived is not None else pa.array(np.zeros(table.num_rows, bool))
    col = table["occluded"]
    if derived is None:
        return pc.fill_null(col, False)
    return pc.if_else(pc.is_null(col), derived, col)


def scan_columns(schema: pa.Schema, wanted: Sequence[str]) -> list[str]:
    """``wanted`` columns that exist in ``schema`` (older files lack ``occluded``)."""
    return [c for c in wanted if c in schema.names]


def read_scan(file: Path) -> pa.Table:
    """The scan columns of one shard plus its ``occluded`` flags."""
    pf = pq.ParquetFile(file)
    cols = scan_columns(pf.schema_arrow, [*SCAN_COLUMNS, "occluded", "occluders"])
    t = pf.read(columns=cols)
    flags = occluded_column(t)
    t = t.select([c for c in SCAN_COLUMNS if c in t.column_names])
    return t.append_column("occluded", flags)


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _known(values: set[str | None]) -> str:
    names = sorted(v for v in values if v)
    return ", ".join(repr(v) for v in names) if names else "none (this run has no such values)"


@dataclass(frozen=True)
class RowFilter:
    """Resolved filters: concrete split names and variant names to keep (None: all)."""

    splits: frozenset[str] | None = None
    variants: frozenset[str] | None = None
    occluded: bool | None = None

    @classmethod
    def resolve(
        cls,
        scans: Sequence[pa.Table],
        *,
        split: str | Sequence[str] | None,
        variants: str | Sequence[str] | None,
        occluded: bool | None,
    ) -> RowFilter:
        """Check the requested values against the files' values and resolve variant prefixes.

        Raises:
            ValueError: an unknown split or variant (the message lists the known ones).
        """
        known_splits: set[str | None] = set()
        known_variants: set[str | None] = set()
        for t in scans:
            known_splits.update(pc.unique(t["split"]).to_pylist())
            known_variants.update(pc.unique(t["variant"]).to_pylist())
        splits = _as_list(split)
        for s in splits or []:
            if s not in known_splits:
                raise ValueError(f"unknown split {s!r}; this run's splits: {_known(known_splits)}")
        chosen: set[str] | None = None
        if variants is not None:
            chosen = set()
            for v in _as_list(variants) or []:
                hits = {n for n in known_variants if n and variant_matches(n, v)}
                if not hits:
                    raise ValueError(
                        f"unknown variant {v!r}; this run's variants: {_known(known_variants)} "
                        "(a prefix such as 'mask' selects 'mask+aug' and 'mask+aug#2')"
                    )
                chosen |= hits
        return cls(
            splits=None if splits is None else frozenset(splits),
            variants=None if chosen is None else frozenset(chosen),
            occluded=occluded,
        )

    def mask(self, table: pa.Table) -> np.ndarray:
        """Boolean keep-mask over ``table``'s rows (needs ``split``, ``variant``, ``occluded``)."""
        keep = np.ones(table.num_rows, bool)
        for name, values in (("split", self.splits), ("variant", self.variants)):
            if values is not None:
                hit = pc.is_in(table[name], value_set=pa.array(sorted(values), pa.string()))
                keep &= pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
        if self.occluded is not None:
            flags = table["occluded"] if "occluded" in table.column_names else occluded_column(table)
            keep &= flags.to_numpy(zero_copy_only=False) == self.occluded
        return keep

    def describe(self) -> str:
        parts = [f"split={sorted(self.splits)}" if self.splits is not None else "",
                 f"variants={sorted(self.variants)}" if self.variants is not None else "",
                 f"occluded={self.occluded}" if self.occluded is not None else ""]
        return ", ".join(p for p in parts if p) or "no filter"


def label_table(path: Path, scans: Sequence[pa.Table]) -> dict[str, int]:
    """identity -> label: the run's ``labels.csv`` when there is one, else the files' own pairs."""
    root = run_root(path) if path.is_dir() else run_root(path.parent.parent)
    if root is not None and (root / "labels.csv").is_file():
        with open(root / "labels.csv", newline="", encoding="utf-8") as fh:
            return {r["identity"]: int(r["label"]) for r in csv.DictReader(fh)}
    pairs: dict[str, int] = {}
    for t in scans:
        for ident, label in zip(t["identity"].to_pylist(), t["label"].to_pylist(), strict=True):
            pairs[ident] = int(label)
    return dict(sorted(pairs.items(), key=lambda kv: kv[1]))
