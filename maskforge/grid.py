"""Contact-sheet layout: equal-size image tiles in rows, with an optional label bar on top.

The one grid behind every contact sheet (occluder previews, the run report's sample sheet).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

#: Height in pixels of the label bar drawn above each column.
LABEL_HEIGHT = 22


def label_bar(text: str, width: int, height: int = LABEL_HEIGHT) -> np.ndarray:
    """A white ``(height, width, 3)`` uint8 RGB bar with ``text`` in dark grey."""
    bar = np.full((height, width, 3), 255, np.uint8)
    scale = 0.4 if len(text) * 8 < width else 0.33
    cv2.putText(
        bar, text, (3, height - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA
    )
    return bar


def tile_grid(
    rows: Sequence[Sequence[np.ndarray | None]],
    tile: int | tuple[int, int],
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """One RGB uint8 image of ``rows`` of RGB uint8 images, each resized to ``tile`` (pixels,
    ``size`` or ``(height, width)``; area interpolation) unless already that size. A ``None``
    tile and the end of a shorter row are white; ``labels`` adds a bar above the columns."""
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    ncols = max([len(r) for r in rows] + [len(labels or [])] + [1])
    out = []
    if labels:
        out.append(np.hstack([label_bar(t, tw) for t in labels] + [label_bar("", tw)] * (ncols - len(labels))))
    for row in rows:
        tiles: list[np.ndarray] = []
        for img in list(row) + [None] * (ncols - len(row)):
            if img is None:
                tiles.append(np.full((th, tw, 3), 255, np.uint8))
            elif img.shape[:2] != (th, tw):
                tiles.append(cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA))
            else:
                tiles.append(img)
        out.append(np.hstack(tiles))
    return np.vstack(out) if out else np.full((th, tw, 3), 255, np.uint8)
