"""The files of ``maskforge eval identify``: metrics.json, probes.csv, failures.csv and
report.html (the metrics, the rank distribution, and the most confident misidentifications as
thumbnails of the crops actually embedded -- masked probes masked -- next to the gallery image
they were taken for and their own gallery image, embedded as data URIs).

The page is the ``EVAL_IDENTIFY`` template of :mod:`maskforge.report.templates`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import output
from .identify import IdentifyResult
from .report import fmt, pct, uri

#: Misidentified probes shown in report.html.
SHOWN = 20

#: Rank buckets of the page: (label, lowest rank, highest rank).
RANK_BUCKETS = (("1", 1, 1), ("2-5", 2, 5), ("6-10", 6, 10), ("> 10", 11, None))


def rank_counts(result: IdentifyResult) -> list[tuple[str, int]]:
    """Probes per rank bucket of their own identity, then those without a distance to it (a
    failed probe, or an identity whose gallery images all failed)."""
    ranks = np.array([r[3] for r in result.ranks], np.int64)
    rows = []
    for label, lo, hi in RANK_BUCKETS:
        hit = (ranks >= lo) if hi is None else (ranks >= lo) & (ranks <= hi)
        rows.append((label, int(hit.sum())))
    rows.append(("no distance (failed)", int((ranks == 0).sum())))
    return rows


def _nearest_image(vec: np.ndarray, paths: list[str], result: IdentifyResult) -> tuple[str, float]:
    """The gallery image among ``paths`` nearest to ``vec``, and its distance (unit vectors)."""
    best, best_d = "", float("inf")
    for p in paths:
        g = result.embeddings.get(p, False)
        if g is None:
            continue
        d = float(np.sqrt(max(2.0 - 2.0 * float(np.dot(vec, g)), 0.0)))
        if d < best_d:
            best, best_d = p, d
    return best, best_d


def misidentified(result: IdentifyResult, n: int = SHOWN) -> list[dict[str, Any]]:
    """The ``n`` probes taken for another identity at the smallest distance (most confident
    first), with the gallery image they were taken for and their own nearest gallery image."""
    masked = result.metrics.get("mask") == "probes"
    gallery: dict[str, list[str]] = {}
    for path, ident in result.gallery:
        gallery.setdefault(ident, []).append(path)
    rows: list[tuple[float, dict[str, Any]]] = []
    for path, ident, nearest, rank, d_own in result.ranks:
        vec = result.embeddings.get(path, masked)
        if vec is None or not nearest or nearest == ident:
            continue
        near_path, d_near = _nearest_image(vec, gallery.get(nearest, []), result)
        own_path, _ = _nearest_image(vec, gallery.get(ident, []), result)
        thumbs = result.embeddings.thumbs
        rows.append((d_near, {
            "path": path, "identity": ident, "masked": masked, "rank": rank,
            "d_own": d_own if np.isfinite(d_own) else None, "nearest": nearest,
            "d_nearest": d_near, "nearest_path": near_path, "own_path": own_path,
            "probe": uri(thumbs.get((path, masked))), "nearest_img": uri(thumbs.get((near_path, False))),
            "own_img": uri(thumbs.get((own_path, False))),
        }))  # fmt: skip
    rows.sort(key=lambda r: r[0])
    return [row for _, row in rows[:n]]


def write_report(result: IdentifyResult, out: Path) -> Path:
    """Write report.html into ``out``; returns its path."""
    from ..report import templates

    html = templates.render(
        templates.EVAL_IDENTIFY,
        m=output.json_safe(result.metrics),
        style=templates.markup(templates.STYLE),
        script=templates.markup(templates.SCRIPT),
        fmt=fmt,
        pct=pct,
        ranks=rank_counts(result),
        wrong=misidentified(result),
        failures=result.failures,
    )
    page = out / "report.html"
    output.write_bytes_atomic(html.encode("utf-8"), page)
    return page


def write_identify_outputs(result: IdentifyResult, out: Path) -> dict[str, Path]:
    """Every file of ``maskforge eval identify`` (metrics.json last); ``out`` was
    :func:`started <maskforge.eval.output.start>`. Returns the paths by name."""
    failures = output.write_csv(
        out / "failures.csv", ("path", "reason", "detail"),
        ((f.path, f.reason, f.detail) for f in result.failures),
    )  # fmt: skip
    probes = output.write_csv(
        out / "probes.csv", ("path", "identity", "nearest", "rank", "distance"), result.ranks
    )
    page = write_report(result, out)
    metrics = output.finish(out, "identify", result.metrics)
    return {"metrics": metrics, "report": page, "probes": probes, "failures": failures}
