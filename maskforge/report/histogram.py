"""The score histogram (matplotlib) with the threshold drawn on it.

Drawn on a ``matplotlib.figure.Figure`` with its own Agg canvas: pyplot and the process-wide
backend are never touched, so an application's matplotlib set-up stays as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def draw_histogram(
    scores: np.ndarray,
    flagged_scores: np.ndarray,
    path: str | Path,
    threshold_range: tuple[float, float] | None,
    title: str = "",
) -> Path:
    """Write a PNG histogram of ``scores`` (flagged ones stacked in red) with the threshold line
    (and the span of per-identity thresholds when they differ). Returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if len(scores):
        lo, hi = float(np.min(scores)), float(np.max(scores))
        if threshold_range:
            lo, hi = min(lo, threshold_range[0]), max(hi, threshold_range[1])
        bins = np.linspace(lo, hi + 1e-6, 61).tolist()
        log = len(scores) > 200  # log counts only where the tail would otherwise vanish
        ax.hist(scores, bins=bins, color="#4c72b0", label="all scored", log=log)
        if len(flagged_scores):
            ax.hist(flagged_scores, bins=bins, color="#d62728", label="flagged", log=log)
    if threshold_range:
        t0, t1 = threshold_range
        ax.axvline(t0, color="black", linestyle="--", linewidth=1.2, label=f"threshold {t0:.3f}")
        if t1 > t0 + 1e-6:
            ax.axvspan(t0, t1, color="grey", alpha=0.2, label=f"per-identity up to {t1:.3f}")
    ax.set_xlabel("clean score (L2 distance, unit vectors)")
    ax.set_ylabel("images")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
