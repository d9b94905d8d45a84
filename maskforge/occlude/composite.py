"""Compositing a warped occluder onto an image: premultiplied alpha + luminance-matched shading.

The occluder arrives premultiplied (``rgb`` already multiplied by ``alpha``), so interpolated edge
pixels never carry the colour of fully transparent texels: ``out = occ_rgb + (1 - alpha) * image``
cannot create a light (or dark) halo. Shading: the occluder's colour is modulated by the local
luminance of the skin it covers (heavily blurred, relative to its alpha-weighted mean), so a mask
in a shadow is darker on that side, like a worn one, instead of a flat sticker.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

#: Alpha at or above which a pixel counts as covered in the occlusion mask.
MASK_THRESHOLD = 0.5
#: Alpha below which the resampled occluder is treated as absent: trims the faint tail that
#: resampling blur leaves outside an edge (invisible, at most ~8 grey levels of change).
ALPHA_FLOOR = 0.04


@lru_cache(maxsize=1024)
def _cell_weights(n: int, grid: int) -> np.ndarray:
    """(grid, n) float32 weights of the box average of ``n`` pixels into ``grid`` equal cells
    (fractional pixels at the cell boundaries; each row sums to 1)."""
    edges = np.linspace(0.0, float(n), grid + 1)
    px = np.arange(n, dtype=np.float64)
    lo, hi = edges[:-1, None], edges[1:, None]
    overlap = np.clip(np.minimum(px + 1, hi) - np.maximum(px, lo), 0.0, None)
    out = (overlap / (n / grid)).astype(np.float32)
    out.setflags(write=False)
    return out


def luminance_gain(
    patch: np.ndarray,
    alpha: np.ndarray,
    strength: float = 0.8,
    lo: float = 0.6,
    hi: float = 1.25,
    grid: int = 3,
) -> np.ndarray:
    """(h, w) float32 gain: the luminance of ``patch`` (h, w, 3) uint8 RGB averaged over a coarse
    ``grid`` x ``grid`` of cells (alpha-weighted, so only the covered skin counts) and smoothly
    interpolated, over its alpha-weighted mean, raised to ``strength``, clipped to [lo, hi].
    The coarse grid keeps large-scale lighting (one side in shadow) and drops facial features
    (an open mouth must not show through a mask)."""
    h, w = alpha.shape
    if h < 2 or w < 2:
        return np.ones((h, w), np.float32)
    alpha = np.asarray(alpha, np.float32)
    lum = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    # cell means of lum * alpha and alpha (equal-area cells: their sums give the overall mean),
    # the box average cv2.INTER_AREA takes, as two small matrix products (quicker than the
    # resize); on grid x grid values, plain floats are quicker than numpy
    rows, cols = _cell_weights(h, grid), _cell_weights(w, grid)
    num = (rows @ cv2.multiply(lum, alpha, dtype=cv2.CV_32F) @ cols.T).ravel().tolist()
    den = (rows @ alpha @ cols.T).ravel().tolist()
    cells = list(zip(num, den, strict=True))
    total = sum(d for _, d in cells)
    if total * (h / grid) * (w / grid) < 1e-3:
        return np.ones((h, w), np.float32)
    mean = sum(n for n, _ in cells) / total
    ref = max(mean, 1.0)
    gain = [min(max((n / d if d > 1e-3 else mean) / ref, lo), hi) ** strength for n, d in cells]
    cells_gain = np.array(gain, np.float32).reshape(grid, grid)
    return cv2.resize(cells_gain, (w, h), interpolation=cv2.INTER_LINEAR)


def composite(
    image: np.ndarray,
    occ: np.ndarray,
    x0: int,
    y0: int,
    shade: bool = True,
    threshold: float = MASK_THRESHOLD,
    in_place: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Composite premultiplied ``occ`` (h, w, 4) float32 0..1 at ``(x0, y0)`` of ``image``
    (alpha below :data:`ALPHA_FLOOR` counts as zero).

    Returns ``(out, mask)``: a new uint8 RGB image and the (H, W) bool occlusion mask
    (alpha >= ``threshold``). ``image`` is not modified, unless ``in_place`` (then ``out`` is
    ``image`` itself: for layers drawn over an image this module just made). Per-pixel work is
    done with OpenCV calls on same-shape float32 planes (no numpy broadcasting over channels)."""
    h, w = occ.shape[:2]
    out = image if in_place else image.copy()
    mask = np.zeros(image.shape[:2], bool)
    patch = out[y0 : y0 + h, x0 : x0 + w]  # still the input's pixels
    alpha = cv2.extractChannel(occ, 3)
    keep = cv2.threshold(alpha, ALPHA_FLOOR, 1.0, cv2.THRESH_BINARY)[1]
    a = cv2.multiply(alpha, keep)
    scale = cv2.multiply(luminance_gain(patch, a), keep, scale=255.0) if shade else keep * 255.0
    rgb: np.ndarray = cv2.multiply(cv2.cvtColor(occ, cv2.COLOR_RGBA2RGB), cv2.merge((scale, scale, scale)))
    a3 = cv2.merge((a, a, a))
    if shade:  # a brightened colour must stay a valid premultiplied value
        cv2.min(rgb, a3 * 255.0, dst=rgb)
    rgb += cv2.multiply(patch, 1.0 - a3, dtype=cv2.CV_32F)
    rgb += 0.5
    patch[...] = rgb.astype(np.uint8)  # values are within 0..255.5
    mask[y0 : y0 + h, x0 : x0 + w] = a >= threshold
    return out, mask
