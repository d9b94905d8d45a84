"""Hygiene's outputs: the records table (``hygiene.parquet``) and the findings file
(``hygiene.json``: duplicate sets, identity pairs and overlaps with their evidence, by path), the
input of the audit report's hygiene pages.

``hygiene.parquet`` columns: :data:`RECORD_SCHEMA` (one row per (sample, issue), see
:mod:`.decide`). ``hygiene.json``: ``summary``, ``config``, ``cache_key``, ``eval_sets``
(label, images, root: the folder its images are read from), ``duplicate_sets`` (``across``; ``members``: source_path, identity, how, cosine,
bits, action), ``identity_pairs`` (a, b, cosine, action of b's images, ``evidence``: path_a,
path_b, cosine), ``overlaps`` (identity, eval_identity, eval_set, signals, centre_cosine, overlap,
reason, ``evidence``: path, eval_path, cosine).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..io.schema import to_table
from ..io.writer import write_json_atomic, write_table_atomic
from .config import HygieneConfig, cache_key
from .decide import HygieneResult
from .search import EvalEmbeddings, HygieneInput

RECORD_SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string()),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("identity", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("issue", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("partner", pa.string()),
        pa.field("partner_identity", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("new_identity", pa.string()),
        pa.field("detail", pa.string()),
    ],
    metadata={"maskforge.kind": "hygiene"},
)


def records_table(result: HygieneResult) -> pa.Table:
    """The records as a table with :data:`RECORD_SCHEMA`."""
    return to_table(result.records, RECORD_SCHEMA)


def _actions(result: HygieneResult) -> dict[tuple[str, str], str]:
    return {(r["source_path"], r["issue"]): r["action"] for r in result.records}


def findings_json(
    result: HygieneResult, inp: HygieneInput, config: HygieneConfig,
    evals: Sequence[EvalEmbeddings] = (),
) -> dict[str, Any]:  # fmt: skip
    """The findings with paths instead of row numbers (see module doc)."""
    f, paths, ids = result.findings, list(inp.source_paths), list(inp.identities)
    act = _actions(result)
    by_label = {e.label: e for e in evals}
    dups = []
    for d in f.duplicate_sets:
        issue = "duplicate_across_identities" if d.across else "duplicate"
        members = [
            {"source_path": paths[m], "identity": ids[m], "how": how, "cosine": round(c, 5),
             "bits": b, "action": "keep" if m == d.keeper else act.get((paths[m], issue), "")}
            for m, how, c, b in zip(d.members, d.how, d.cosine, d.bits, strict=True)
        ]  # fmt: skip
        dups.append({"across": d.across, "members": members})
    pairs = [
        {"a": p.a, "b": p.b, "cosine": round(p.cosine, 5),
         "evidence": [{"path_a": paths[i], "path_b": paths[j], "cosine": round(s, 5)}
                      for i, j, s in p.evidence]}
        for p in f.identity_pairs
    ]  # fmt: skip
    overlaps = []
    for o in f.overlaps:
        ev = by_label.get(o.eval_set)
        eval_paths = list(ev.paths) if ev is not None and len(ev.paths) else []
        overlaps.append({
            "identity": o.identity, "eval_identity": o.eval_identity, "eval_set": o.eval_set,
            "signals": list(o.signals), "centre_cosine": round(o.centre_cosine, 5),
            "overlap": o.overlap, "reason": o.reason,
            "evidence": [{"path": paths[i], "eval_path": eval_paths[j] if eval_paths else "",
                          "cosine": round(s, 5)} for i, j, s in o.evidence],
        })  # fmt: skip
    summary = result.summary()
    summary.pop("seconds", None)  # the file is the same bytes for the same input
    return {
        "summary": summary,
        "config": config.to_dict(),
        "cache_key": cache_key(config),
        "eval_sets": [{"label": e.label, "images": len(e.names), "root": e.root} for e in evals],
        "duplicate_sets": dups,
        "identity_pairs": pairs,
        "overlaps": overlaps,
    }


def write_outputs(
    out: Path, result: HygieneResult, inp: HygieneInput, config: HygieneConfig,
    evals: Sequence[EvalEmbeddings] = (),
) -> dict[str, Path]:  # fmt: skip
    """Write ``out/hygiene.parquet`` and ``out/hygiene.json`` (atomic); returns their paths."""
    out = Path(out)
    files = {"records": out / "hygiene.parquet", "findings": out / "hygiene.json"}
    write_table_atomic(records_table(result), files["records"])
    write_json_atomic(findings_json(result, inp, config, evals), files["findings"])
    return files
