"""The files of ``maskforge eval pairs``: metrics.json, scores.csv, failures.csv, roc.png and
report.html (metrics, the ROC, and the most confident false accepts and false rejects as thumbnail
pairs of the crops actually embedded -- masked ones masked -- embedded in the page as data URIs).

The page uses the audit report's jinja2 setup and style (:mod:`maskforge.report.templates`).
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

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskforge eval: {{ m.embedder }}, mask {{ m.mask }}</title>
<style>{{ style }}
.pair{display:flex;gap:2px;margin:0 0 .3em}.pair img{width:112px;height:112px}
.pairs{display:flex;flex-wrap:wrap;gap:10px}</style></head>
<body>
<h1>Verification: {{ m.embedder }}, mask {{ m.mask }}</h1>
<table>
<tr><th>pairs</th><td class="n">{{ m.pairs }} ({{ m.matched }} matched, {{ m.mismatched }} mismatched)</td></tr>
<tr><th>accuracy ({{ m.folds }}-fold)</th><td class="n">{{ pct(m.accuracy) }} &plusmn; {{ pct(m.accuracy_std) }}</td></tr>
<tr><th>best threshold (all pairs)</th><td class="n">{{ fmt(m.threshold) }} (accuracy {{ pct(m.threshold_accuracy) }})</td></tr>
<tr><th>AUC</th><td class="n">{{ '%.4f' % m.auc }}</td></tr>
<tr><th>EER</th><td class="n">{{ pct(m.eer) }}</td></tr>
<tr><th>failures</th><td class="n">{{ m.failures.images }} images, {{ m.failures.pairs }} pairs</td></tr>
<tr><th>occluder</th><td>{{ m.occluder or 'none' }}</td></tr>
</table>
<h2>TAR at FAR</h2>
<table><tr><th>FAR</th><th>TAR</th><th>threshold</th><th>false accepts / impostor pairs</th></tr>
{% for far, r in m.tar_at_far.items() %}<tr><td>{{ far }}</td>
<td class="n">{% if r.resolvable %}{{ pct(r.tar) }}{% else %}<span class="muted">unresolvable: {{ r.impostors }} impostor pairs resolve FAR &ge; {{ '%.1g' % (1.0 / r.impostors) }}</span>{% endif %}</td>
<td class="n">{{ fmt(r.threshold) }}</td><td class="n">{{ r.false_accepts }} / {{ r.impostors }}</td></tr>
{% endfor %}</table>
<h2>ROC</h2>
<img src="roc.png" alt="ROC curve" width="640">
{% for title, items in sections %}
<h2>{{ title }}</h2>
{% if not items %}<p class="muted">none</p>{% endif %}
<div class="pairs">{% for it in items %}<figure style="width:auto">
<div class="pair"><img src="{{ it.a }}" alt="{{ it.path_a }}"><img src="{{ it.b }}" alt="{{ it.path_b }}"></div>
<figcaption>{{ it.path_a }}{% if it.ma %} (masked){% endif %}<br>{{ it.path_b }}{% if it.mb %} (masked){% endif %}<br>distance <b>{{ fmt(it.d) }}</b></figcaption></figure>
{% endfor %}</div>
{% endfor %}
<h2>Failures (no embedding)</h2>
{% if not failures %}<p class="muted">none</p>{% else %}<table><tr><th>image</th><th>reason</th><th>detail</th></tr>
{% for f in failures %}<tr><td>{{ f.path }}</td><td>{{ f.reason }}</td><td>{{ f.detail }}</td></tr>{% endfor %}</table>{% endif %}
<script>{{ script }}</script>
</body></html>
"""


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


def _uri(data: bytes | None) -> str:
    if not data:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def write_report(result: VerifyResult, out: Path) -> Path:
    """Write roc.png and report.html into ``out``; returns the page's path."""
    import jinja2

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
                         "a": _uri(a), "b": _uri(b), "d": float(result.distances[k])})  # fmt: skip
        return rows

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(PAGE).render(
        m=m,
        style=jinja2.utils.markupsafe.Markup(templates.STYLE),
        script=jinja2.utils.markupsafe.Markup(templates.SCRIPT),
        fmt=lambda v: "n/a" if v is None else f"{v:.3f}",
        pct=lambda v: "n/a" if v is None else f"{100 * v:.2f} %",
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
