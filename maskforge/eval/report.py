"""The files of ``maskforge eval pairs``: metrics.json, scores.csv, failures.csv, roc.png and
report.html (metrics, the ROC, and the most confident false accepts and false rejects as thumbnail
pairs of the crops actually embedded -- masked ones masked -- embedded in the page as data URIs).

The page is the ``EVAL_PAIRS`` template of :mod:`maskforge.report.templates` (the audit report's
jinja2 setup and style).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from . import output
from .verify import VerifyResult, pair_masks

#: False accepts and false rejects shown in report.html, each.
SHOWN = 20



def draw_roc(far: np.ndarray, tar: np.ndarray, metrics: dict, path: Path) -> Path:
    """ROC (TAR against FAR, log FAR axis) as a PNG, without touching matplotlib's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    floor = 0.5 / max(metrics["mismatched"], 1)  # FAR 0 drawn at half the finest resolvable FAR
    ax.step(np.maximum(far, floor), tar, where="post", color="#4c72b0", label="ROC")
    for key, r in metrics["tar_at_far"].items():
        if r["resolvable"]:
            ax.plot(float(key), r["tar"], "o", color="#d62728", ms=4)
            ax.annotate(f"{r['tar']:.3f}", (float(key), r["tar"]), fontsize=7, xytext=(3, -10),
                        textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.set_xlabel(f"FAR ({metrics['mismatched']} impostor pairs)")
    ax.set_ylabel(f"TAR ({metrics['matched']} matched pairs)")
    ax.set_title(f"AUC {metrics['auc']:.4f}, EER {metrics['eer']:.2%}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    output.write_bytes_atomic(buf.getvalue(), path)
    return path


def confident_errors(result: VerifyResult, threshold: float, n: int = SHOWN):
    """``(false accepts, false rejects)`` at ``threshold``: pair indices, most confident first
    (false accepts by increasing distance, false rejects by decreasing finite distance)."""
    d = result.distances
    same = np.array([p.same for p in result.pairs], bool)
    fa = np.flatnonzero(~same & (d <= threshold))
    fr = np.flatnonzero(same & (d > threshold) & np.isfinite(d))
    fa = fa[np.argsort(d[fa], kind="stable")][:n]
    fr = fr[np.argsort(-d[fr], kind="stable")][:n]
    return fa.tolist(), fr.tolist()


def uri(data: bytes | None) -> str:
    """A JPEG as a data URI (empty for none)."""
    if not data:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def fmt(value: float | None) -> str:
    """A distance for the page (``n/a`` for none)."""
    return "n/a" if value is None else f"{value:.3f}"


def pct(value: float | None) -> str:
    """A rate as a percentage for the page (``n/a`` for none)."""
    return "n/a" if value is None else f"{100 * value:.2f} %"


def write_report(result: VerifyResult, out: Path) -> Path:
    """Write roc.png and report.html into ``out``; returns the page's path."""
    from ..report import templates

    m = output.json_safe(result.metrics)
    far, tar, _ = result.roc()
    draw_roc(far, tar, m, out / "roc.png")
    ma, mb = pair_masks(result.mask)
    thumbs = result.embeddings.thumbs
    fa, fr = confident_errors(result, result.metrics["threshold"])

    def items(indices: list[int]) -> list[dict[str, Any]]:
        rows = []
        for k in indices:
            p = result.pairs[k]
            a, b = thumbs.get((p.path_a, ma)), thumbs.get((p.path_b, mb))
            rows.append({"path_a": p.path_a, "path_b": p.path_b, "ma": ma, "mb": mb,
                         "a": uri(a), "b": uri(b), "d": float(result.distances[k])})  # fmt: skip
        return rows

    html = templates.render(
        templates.EVAL_PAIRS,
        m=m,
        style=templates.markup(templates.STYLE),
        script=templates.markup(templates.SCRIPT),
        fmt=fmt,
        pct=pct,
        sections=[
            (
                f"Most confident false accepts (impostor pairs at distance <= {m['threshold']:.3f})",
                items(fa),
            ),
            (
                f"Most confident false rejects (matched pairs at distance > {m['threshold']:.3f})",
                items(fr),
            ),
        ],  # fmt: skip
        failures=result.failures,
    )
    page = out / "report.html"
    output.write_bytes_atomic(html.encode("utf-8"), page)
    return page


def write_verify_outputs(result: VerifyResult, out: Path) -> dict[str, Path]:
    """Every file of ``maskforge eval pairs`` (metrics.json last); ``out`` was :func:`started
    <maskforge.eval.output.start>`. Returns the paths by name."""
    ma, mb = pair_masks(result.mask)
    scores = output.write_csv(
        out / "scores.csv",
        ("fold", "same", "path_a", "path_b", "masked_a", "masked_b", "distance"),
        ((p.fold, int(p.same), p.path_a, p.path_b, int(ma), int(mb), float(d))
         for p, d in zip(result.pairs, result.distances, strict=True)),
    )  # fmt: skip
    failures = output.write_csv(
        out / "failures.csv", ("path", "reason", "detail"),
        ((f.path, f.reason, f.detail) for f in result.failures),
    )  # fmt: skip
    page = write_report(result, out)
    metrics = output.finish(out, "pairs", result.metrics)
    return {"metrics": metrics, "roc": out / "roc.png", "report": page, "scores": scores,
            "failures": failures}  # fmt: skip
