"""Piecewise-affine warp of a template onto a face, as dense remap tables.

The template's anchor triangulation is mapped triangle by triangle: each output pixel of the
region of interest (ROI) is assigned the destination triangle that contains it (rasterised with
sub-pixel precision), and the inverse affine map of that triangle gives its template coordinates.
Neighbouring triangles share edges, so the mapping is continuous (no seams), and one
``cv2.remap`` then samples the whole occluder. Frames: ``src`` = template PNG pixels, ``dst`` =
image pixels; both follow the centre-of-pixel convention of docs/architecture.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for rasterisation
_OUTSIDE = -1.0e4


@dataclass
class WarpMaps:
    """``xy`` (h, w, 2) float32 template coordinates (x, y) of the ROI whose top-left pixel is
    ``(x0, y0)`` in the image (one ``cv2.remap`` map); pixels outside every triangle map far
    outside the template."""

    x0: int
    y0: int
    xy: np.ndarray

    @property
    def map_x(self) -> np.ndarray:
        """(h, w) template x of each ROI pixel."""
        return self.xy[..., 0]

    @property
    def map_y(self) -> np.ndarray:
        """(h, w) template y of each ROI pixel."""
        return self.xy[..., 1]


def inverse_affines(
    src: np.ndarray, dst: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle affine maps from ``dst`` to ``src`` points: coefficients (T, 6) as
    ``(a, b, c, d, e, f)`` with ``sx = a x + b y + c``, ``sy = d x + e y + f``, and a validity
    flag (T,) (False for degenerate destination triangles)."""
    s = np.asarray(src, np.float64)[triangles].reshape(-1, 6)
    d = np.asarray(dst, np.float64)[triangles].reshape(-1, 6)
    coef, ok = _affine_rows(s, d)
    return coef.T, ok


def _affine_rows(s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`inverse_affines` of triangles given as corner rows (T, 6) ``x0 y0 x1 y1 x2 y2``
    (source ``s``, destination ``d``), in closed form, as coefficient rows (6, T): with edge
    vectors ``e1, e2`` of the destination and ``f1, f2`` of the source triangle the linear part
    is ``[f1 f2] [e1 e2]^-1``, and the offset sends corner 0 onto corner 0. Degenerate triangles
    get the constant map onto their source corner 0."""
    dt = np.ascontiguousarray(d.T).reshape(3, 2, -1)  # (corner, x/y, T)
    st = np.ascontiguousarray(s.T).reshape(3, 2, -1)
    e = dt[1:] - dt[0]  # destination edges e1, e2: (2, 2, T)
    f = st[1:] - st[0]  # source edges f1, f2, rows (u, v)
    det = e[0, 0] * e[1, 1] - e[1, 0] * e[0, 1]
    ok = np.abs(det) > 1e-6
    inv = np.divide(1.0, det, out=np.zeros_like(det), where=ok)
    col_x = (f[0] * e[1, 1] - f[1] * e[0, 1]) * inv  # d(u, v)/dx: (2, T)
    col_y = (f[1] * e[0, 0] - f[0] * e[1, 0]) * inv  # d(u, v)/dy
    out = np.empty((3, 2, len(det)))  # (a, b, c) x (u, v) -> rows a b c d e f after a swap
    out[0], out[1] = col_x, col_y
    out[2] = st[0] - col_x * dt[0, 0] - col_y * dt[0, 1]
    return out.transpose(1, 0, 2).reshape(6, -1), ok


def warp_maps(
    src: np.ndarray,
    dst: np.ndarray,
    triangles: np.ndarray,
    image_size: tuple[int, int],
    step: int = 2,
) -> WarpMaps | None:
    """Remap tables sending image pixels inside the destination triangulation to template pixels.

    ``src``/``dst`` are (A, 2) anchor positions in template / image pixels, ``image_size`` is
    (W, H). Returns None when the triangulation does not intersect the image.

    The map is continuous and piecewise linear, so it is evaluated on a grid ``step`` times
    coarser and bilinearly upsampled (exact inside triangles, sub-texel error across edges).
    Coarse samples outside every triangle hold a huge negative coordinate, so any full-resolution
    pixel that interpolates one of them maps far outside the template (transparent): this drops
    a band under one coarse cell wide along the outer boundary of the triangulation, where the
    anchors guarantee the template is fully transparent anyway."""
    w_img, h_img = image_size
    d = np.asarray(dst, np.float64)[triangles].reshape(-1, 6)  # (T, 6) destination corners
    lo, hi = d.min(0).tolist(), d.max(0).tolist()
    x0 = max(math.floor(min(lo[0], lo[2], lo[4])), 0)
    y0 = max(math.floor(min(lo[1], lo[3], lo[5])), 0)
    x1 = min(math.ceil(max(hi[0], hi[2], hi[4])) + 1, w_img)
    y1 = min(math.ceil(max(hi[1], hi[3], hi[5])) + 1, h_img)
    if x1 <= x0 or y1 <= y0:
        return None
    w, h = x1 - x0, y1 - y0
    cw, ch = -(-w // step), -(-h // step)
    n = len(d)
    coef, ok = _affine_rows(np.asarray(src, np.float64)[triangles].reshape(-1, 6), d)
    # coarse sample (u, v) sits at full-resolution ROI coordinate (step*u + off, step*v + off),
    # the centre convention cv2.resize uses when upsampling by ``step``
    off = (step - 1) / 2.0
    small = n < 255  # ids fit uint8: coefficients are then looked up with cv2.LUT
    ids = np.zeros((ch, cw), np.uint8 if small else np.int16)
    origin = np.array([x0 + off, y0 + off] * 3)
    fixed = np.round((d - origin) * ((1 << _SHIFT) / step)).astype(np.int32).reshape(-1, 3, 2)
    fill = cv2.fillConvexPoly
    for k in np.flatnonzero(ok).tolist():
        fill(ids, fixed[k], k + 1, cv2.LINE_8, _SHIFT)
    # one row per coefficient, column = triangle id (0: outside every triangle)
    table = np.zeros((6, 256 if small else n + 1), np.float32)
    table[2, 0] = table[5, 0] = _OUTSIDE
    table[:, 1 : n + 1] = coef
    t = [cv2.LUT(ids, row) for row in table] if small else [row.take(ids) for row in table]
    xs = np.arange(cw, dtype=np.float32) * step + np.float32(x0 + off)
    ys = (np.arange(ch, dtype=np.float32) * step + np.float32(y0 + off))[:, None]
    coarse = cv2.merge((t[0] * xs + t[1] * ys + t[2], t[3] * xs + t[4] * ys + t[5]))
    if step > 1:
        full = cv2.resize(coarse, (cw * step, ch * step), interpolation=cv2.INTER_LINEAR)
        coarse = full[:h, :w]
    return WarpMaps(x0, y0, coarse)
