"""The score histogram with the threshold drawn on it, as a small SVG file.

Written as SVG text (bars, axes, ticks, the threshold line and the span of per-identity
thresholds), without matplotlib: importing and laying out a matplotlib figure cost ~1 s of every
run's end (docs/benchmarks.md), for 60 rectangles. Nothing process-wide is touched.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

import numpy as np

from ..io.writer import write_text_atomic

#: Figure size and the plot area's margins, in SVG pixels.
WIDTH, HEIGHT = 800, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 48
BINS = 60
ALL, FLAGGED = "#4c72b0", "#d62728"


def draw_histogram(
    scores: np.ndarray,
    flagged_scores: np.ndarray,
    path: str | Path,
    threshold_range: tuple[float, float] | None,
    title: str = "",
) -> Path:
    """Write an SVG histogram of ``scores`` (flagged ones drawn over them in red; a log count
    axis above 200 scores) with the threshold line (and the span of per-identity thresholds when
    they differ) to ``path``. Returns the path."""
    path = Path(path)
    scores = np.asarray(scores, np.float64)
    flagged = np.asarray(flagged_scores, np.float64)
    lo, hi = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    if threshold_range:
        lo, hi = min(lo, threshold_range[0]), max(hi, threshold_range[1])
    hi = max(hi, lo + 1e-6)
    edges = np.linspace(lo, hi + 1e-6, BINS + 1)
    counts = np.histogram(scores, edges)[0]
    red = np.histogram(flagged, edges)[0] if len(flagged) else np.zeros(BINS, np.int64)
    plot = _Plot(lo, hi + 1e-6, int(counts.max()) if len(scores) else 1, log=len(scores) > 200)
    parts = [plot.frame(title)]
    parts += plot.bars(edges, counts, ALL) + plot.bars(edges, red, FLAGGED)
    legend = [(ALL, "all scored", "")] + ([(FLAGGED, "flagged", "")] if len(flagged) else [])
    if threshold_range:
        t0, t1 = threshold_range
        if t1 > t0 + 1e-6:
            parts.append(plot.span(t0, t1))
            legend.append(("#bbbbbb", f"per-identity up to {t1:.3f}", ""))
        parts.append(plot.vline(t0))
        legend.append(("black", f"threshold {t0:.3f}", "4 3"))
    parts.append(plot.legend(legend))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">\n'
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>\n' + "".join(parts) + "</svg>\n")  # fmt: skip
    write_text_atomic(svg, path)
    return path


class _Plot:
    """Data to SVG coordinates over the plot area: x from ``lo`` to ``hi``, y from 0 to ``top``
    images (``log``: log10(1 + count))."""

    def __init__(self, lo: float, hi: float, top: int, log: bool) -> None:
        self.lo, self.hi, self.log = lo, hi, log
        self.top = self._y(max(top, 1))
        self.w, self.h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def _y(self, count: float) -> float:
        return math.log10(1 + count) if self.log else float(count)

    def x(self, value: float) -> float:
        return LEFT + (value - self.lo) / (self.hi - self.lo) * self.w

    def y(self, count: float) -> float:
        return TOP + self.h - self._y(count) / self.top * self.h

    def frame(self, title: str) -> str:
        """Axes, ticks, labels and the title."""
        base, right = TOP + self.h, LEFT + self.w
        out = [f'<path d="M{LEFT},{TOP} V{base} H{right}" stroke="black" fill="none"/>\n']
        for v in np.linspace(self.lo, self.hi, 6):
            x = self.x(float(v))
            out.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="black"/>'
                       f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{v:.2f}</text>\n')  # fmt: skip
        for c in self._count_ticks():
            y = self.y(c)
            out.append(f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="black"/>'
                       f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{c}</text>\n')  # fmt: skip
        out.append(f'<text x="{LEFT + self.w / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
                   "clean score (L2 distance, unit vectors)</text>\n")
        out.append(f'<text transform="translate(14,{TOP + self.h / 2}) rotate(-90)" '
                   'text-anchor="middle">images</text>\n')
        if title:
            out.append(f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13">'
                       f"{escape(title)}</text>\n")
        return "".join(out)

    def _count_ticks(self) -> list[int]:
        top = round(10**self.top - 1) if self.log else round(self.top)
        if self.log:
            return [0] + [10**k for k in range(int(math.log10(max(top, 1))) + 1)]
        step = max(1, 10 ** int(math.log10(max(top, 1))))
        step = step // 2 if top / step < 3 and step > 1 else step
        return list(range(0, top + 1, step))

    def bars(self, edges: np.ndarray, counts: np.ndarray, colour: str) -> list[str]:
        base = TOP + self.h
        out = []
        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True):
            if c:
                x0, x1, y = self.x(float(a)), self.x(float(b)), self.y(int(c))
                out.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
                           f'height="{base - y:.1f}" fill="{colour}"/>\n')  # fmt: skip
        return out

    def span(self, t0: float, t1: float) -> str:
        x0, x1 = self.x(t0), self.x(t1)
        return f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{self.h}" fill="grey" fill-opacity="0.2"/>\n'

    def vline(self, t: float) -> str:
        x = self.x(t)
        return (f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + self.h}" stroke="black" '
                'stroke-width="1.2" stroke-dasharray="4 3"/>\n')

    def legend(self, entries: list[tuple[str, str, str]]) -> str:
        """One line per entry at the top right: a swatch (or a dashed line) and its label."""
        x = WIDTH - RIGHT - 190
        out = [f'<rect x="{x - 6}" y="{TOP}" width="190" height="{16 * len(entries) + 4}" '
               'fill="white" fill-opacity="0.85" stroke="#cccccc"/>']
        for i, (colour, label, dash) in enumerate(entries):
            y = TOP + 8 + 16 * i
            if dash:
                out.append(f'<line x1="{x}" y1="{y}" x2="{x + 18}" y2="{y}" stroke="{colour}" '
                           f'stroke-dasharray="{dash}"/>')  # fmt: skip
            else:
                out.append(f'<rect x="{x}" y="{y - 5}" width="18" height="10" fill="{colour}"/>')
            out.append(f'<text x="{x + 24}" y="{y + 4}">{escape(label)}</text>\n')
        return "".join(out)
