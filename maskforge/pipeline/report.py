"""The run report: ``OUT/report/pipeline.html`` (counts per stage, rejects, variants, balance and a
contact sheet), plus the cleaning audit (``OUT/report/index.html``) when the run cleaned.

Without cleaning, ``index.html`` is the pipeline summary itself. Everything is static files that
open from disk without a server.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from PIL import Image

from ..io.decode import decode_image
from ..io.writer import is_done
from .plan import RunPlan

log = logging.getLogger("maskforge")

SHEET_COLUMNS = 8
SHEET_ROWS = 6
THUMB = 112


def contact_sheet(plan: RunPlan, target: Path) -> Path | None:
    """A grid of dataset images: the variants of the first samples, one sample per row."""
    layout = plan.layout
    files = [layout.shard_file(layout.dataset, s.index) for s in plan.shards]
    files = [f for f in files if is_done(f)]
    if not files:
        return None
    table = pq.read_table(files[0], columns=["sample_id", "variant", "image"])
    rows: dict[str, list[bytes]] = {}
    for sid, img in zip(table.column("sample_id").to_pylist(), table.column("image").to_pylist(), strict=True):
        if sid in rows or len(rows) < SHEET_ROWS:
            rows.setdefault(sid, []).append(img)
    if not rows:
        return None
    ncols = min(SHEET_COLUMNS, max(len(v) for v in rows.values()))
    sheet = Image.new("RGB", (ncols * THUMB, len(rows) * THUMB), (255, 255, 255))
    for r, images in enumerate(rows.values()):
        for c, data in enumerate(images[:ncols]):
            try:
                im = Image.fromarray(decode_image(data)).resize((THUMB, THUMB))
            except Exception:  # noqa: BLE001 - a bad thumbnail must not break the report
                continue
            sheet.paste(im, (c * THUMB, r * THUMB))
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(target)
    return target


def _table(title: str, rows: list[tuple[Any, Any]]) -> str:
    if not rows:
        return f"<h2>{html.escape(title)}</h2><p>none</p>"
    body = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<h2>{html.escape(title)}</h2><table>{body}</table>"


def pipeline_html(manifest: dict[str, Any], sheet: str | None, audit_link: bool) -> str:
    c = manifest["counts"]
    t = manifest["timings_s"]
    bal = c.get("balance", {})
    parts = [
        _table("Counts", [
            ("images listed", c["listed"]), ("identities", c["identities"]),
            ("files skipped", json.dumps(c.get("skipped_files", {}))),
            ("shards", c["shards"]), ("samples written", c["samples"]), ("rejects", c["rejects"]),
            ("flagged by cleaning", c.get("flagged", 0)), ("removed by cleaning", c.get("removed", 0)),
            ("identities dropped", json.dumps(c.get("dropped_identities", {}))),
        ]),
        _table("Rejects by stage and reason", list(c["rejects_by_reason"].items())),
        _table("Variants", list(c["variants"].items())),
        _table("Occluders", list(c.get("occluders", {}).items())),
        _table("Images per identity", [("input", json.dumps(bal.get("before"))), ("output", json.dumps(bal.get("after")))]),
        _table("Time", [("total (s)", t["total"])] + list(t.get("stages_cpu_s", {}).items())),
        _table("Models", [(k, json.dumps(v)) for k, v in manifest.get("models", {}).items()]),
    ]
    if sheet:
        parts.append(f'<h2>Sample contact sheet</h2><img src="{html.escape(sheet)}" alt="contact sheet">')
    link = '<p><a href="index.html">Cleaning audit</a></p>' if audit_link else ""
    style = ("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
             "td{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>maskforge run</title>"
        f"<style>{style}</style></head><body><h1>maskforge run: {html.escape(str(manifest['output']))}</h1>"
        f"{link}{''.join(parts)}</body></html>"
    )


def write_run_report(plan: RunPlan, manifest: dict[str, Any]) -> Path:
    """Write the report folder; returns the path of its ``index.html``."""
    folder = plan.layout.report
    folder.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet(plan, folder / "contact_sheet.png")
    audit = False
    if plan.has("clean") and (plan.out / "clean_scores.parquet").is_file():
        try:
            from ..report import build_report

            index = build_report(
                plan.out, folder, title=f"maskforge run: {plan.out}",
                links=[("Pipeline summary: counts per stage, rejects, variants, balance, contact sheet", "pipeline.html")],
            )
            audit = index.is_file()
        except ImportError:
            audit = False
    page = pipeline_html(manifest, sheet.name if sheet else None, audit)
    (folder / "pipeline.html").write_text(page, encoding="utf-8")
    if not audit:
        (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"


__all__ = ["contact_sheet", "pipeline_html", "write_run_report"]
