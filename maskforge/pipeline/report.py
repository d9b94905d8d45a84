"""The run report: ``OUT/report/pipeline.html`` (counts per stage, rejects, variants, balance and a
contact sheet), plus the cleaning audit (``OUT/report/index.html``) when the run cleaned.

Without cleaning, ``index.html`` is the pipeline summary itself. Everything is static files that
open from disk without a server; the HTML comes from the templates of :mod:`maskforge.report`.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from PIL import Image

from ..errors import DecodeError
from ..grid import tile_grid
from ..io.decode import decode_image
from ..io.writer import is_done, write_bytes_atomic, write_text_atomic
from ..report import build_report, templates
from .plan import RunPlan

log = logging.getLogger("maskforge")

SHEET_COLUMNS = 8
SHEET_ROWS = 6
THUMB = 112


def sample_sheet(plan: RunPlan, target: Path) -> Path | None:
    """Write a PNG grid of dataset images, the variants of the first samples (one sample per
    row, tiles of THUMB x THUMB pixels), to ``target``; None when no shard is done."""
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
    grid = tile_grid([[_pixels(d) for d in images[:SHEET_COLUMNS]] for images in rows.values()], THUMB)
    buf = io.BytesIO()
    # zlib level 1: a third of the default's time at the end of every run, the file ~7% larger
    Image.fromarray(grid).save(buf, format="PNG", compress_level=1)
    write_bytes_atomic(buf.getvalue(), target)
    return target


def _pixels(data: bytes | None) -> Any:
    """Decoded pixels, or None (a blank tile) when a stored image cannot be decoded."""
    try:
        return decode_image(data) if data else None
    except DecodeError:
        return None


def _sections(manifest: dict[str, Any]) -> list[tuple[str, list[tuple[Any, Any]]]]:
    c = manifest["counts"]
    t = manifest["timings_s"]
    bal = c.get("balance", {})
    return [
        ("Counts", [
            ("images listed", c["listed"]), ("identities", c["identities"]),
            ("files skipped", json.dumps(c.get("skipped_files", {}))),
            ("shards", c["shards"]), ("samples written", c["samples"]), ("rejects", c["rejects"]),
            ("flagged by cleaning", c.get("flagged", 0)), ("removed by cleaning", c.get("removed", 0)),
            ("identities dropped", json.dumps(c.get("dropped_identities", {}))),
        ]),
        ("Identity hygiene (report/hygiene/index.html)", [
            (k, json.dumps(v) if isinstance(v, dict) else v) for k, v in (c.get("hygiene") or {}).items()
        ]),
        ("Rejects by stage and reason", list(c["rejects_by_reason"].items())),
        ("Variants", list(c["variants"].items())),
        ("Occluders", list(c.get("occluders", {}).items())),
        ("Images per identity", [("input", json.dumps(bal.get("before"))), ("output", json.dumps(bal.get("after")))]),
        ("Time", [("total (s)", t["total"])] + list(t.get("stages_cpu_s", {}).items())),
        ("Models", [(k, json.dumps(v)) for k, v in manifest.get("models", {}).items()]),
    ]  # fmt: skip


def pipeline_html(manifest: dict[str, Any], sheet: str | None, audit_link: bool) -> str:
    """The run summary page (HTML) of ``manifest``; ``sheet`` is the contact sheet's file name."""
    return templates.render(
        templates.PIPELINE,
        output=str(manifest["output"]),
        sections=_sections(manifest),
        sheet=sheet,
        audit_link=audit_link,
    )


def write_run_report(plan: RunPlan, manifest: dict[str, Any]) -> Path:
    """Write the report folder; returns the path of its ``index.html``."""
    folder = plan.layout.report
    folder.mkdir(parents=True, exist_ok=True)
    sheet = sample_sheet(plan, folder / "contact_sheet.png")
    audit = False
    links = [("Pipeline summary: counts per stage, rejects, variants, balance, contact sheet", "pipeline.html")]
    if plan.has("hygiene") and (plan.out / "hygiene.json").is_file():
        links.append(("Identity hygiene: duplicates, one person under two identities, evaluation overlap",
                      "hygiene/index.html"))  # fmt: skip
    if plan.has("clean") and (plan.out / "clean_scores.parquet").is_file():
        index = build_report(plan.out, folder, title=f"maskforge run: {plan.out}", links=links)
        audit = index.is_file()
    if plan.has("hygiene") and (plan.out / "hygiene.json").is_file():
        from ..report.hygiene import build_hygiene_pages

        build_hygiene_pages(plan.out / "hygiene.json", folder, source_root=plan.input_path)
    page = pipeline_html(manifest, sheet.name if sheet else None, audit)
    write_text_atomic(page, folder / "pipeline.html")
    if not audit:
        write_text_atomic(page, folder / "index.html")
    return folder / "index.html"


__all__ = ["pipeline_html", "sample_sheet", "write_run_report"]
