"""Piecewise-affine warp of a template onto a face, as dense remap tables.

The template's anchor triangulation is mapped triangle by triangle: each output pixel of the
region of interest (ROI) is assigned the destination triangle that contains it (rasterised with
sub-pixel precision), and the inverse affine map of that triangle gives its template coordinates.
Neighbouring triangles share edges, so the mapping is continuous (no seams), and one
``cv2.remap`` then samples the whole occluder. Frames: ``src`` = template PNG pixels, ``dst`` =
image pixels; both follow the centre-of-pixel convention of docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for rasterisation
_OUTSIDE = -1.0e4


@dataclass
class WarpMaps:
    """``map_x``/``map_y`` (h, w) float32 template coordinates of the ROI whose top-left pixel is
    ``(x0, y0)`` in the image; pixels outside every triangle map far outside the template."""

    x0: int
    y0: int
    map_x: np.ndarray
    map_y: np.ndarray


def inverse_affines(
    src: np.ndarray, dst: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle affine maps from ``dst`` to ``src`` points: coefficients (T, 6) as
    ``(a, b, c, d, e, f)`` with ``sx = a x + b y + c``, ``sy = d x + e y + f``, and a validity
    flag (T,) (False for degenerate destination triangles)."""
    d = dst[triangles]  # (T, 3, 2)
    s = src[triangles]
    mat = np.concatenate([d, np.ones(d.shape[:2] + (1,))], axis=2)  # (T, 3, 3)
    det = np.linalg.det(mat)
    ok = np.abs(det) > 1e-6
    mat[~ok] = np.eye(3)
    coef = np.linalg.solve(mat, s)  # (T, 3, 2): columns for sx, sy
    out = np.concatenate([coef[:, :, 0], coef[:, :, 1]], axis=1)
    return out, ok


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
    used = dst[np.unique(triangles)]
    x0 = max(int(np.floor(used[:, 0].min())), 0)
    y0 = max(int(np.floor(used[:, 1].min())), 0)
    x1 = min(int(np.ceil(used[:, 0].max())) + 1, w_img)
    y1 = min(int(np.ceil(used[:, 1].max())) + 1, h_img)
    if x1 <= x0 or y1 <= y0:
        return None
    w, h = x1 - x0, y1 - y0
    cw, ch = -(-w // step), -(-h // step)
    coef, ok = inverse_affines(src, dst, triangles)
    # coarse sample (u, v) sits at full-resolution ROI coordinate (step*u + off, step*v + off),
    # the centre convention cv2.resize uses when upsampling by ``step``
    off = (step - 1) / 2.0
    ids = np.zeros((ch, cw), np.int16)
    fixed = np.round((dst - (x0 + off, y0 + off)) / step * (1 << _SHIFT)).astype(np.int32)
    for k, tri in enumerate(triangles):
        if ok[k]:
            cv2.fillConvexPoly(ids, fixed[tri], k + 1, lineType=cv2.LINE_8, shift=_SHIFT)
    table = np.vstack([np.zeros((1, 6)), coef]).astype(np.float32)
    table[0] = (0.0, 0.0, _OUTSIDE, 0.0, 0.0, _OUTSIDE)
    xs = (np.arange(cw, dtype=np.float32) * step + (x0 + off))[None, :]
    ys = (np.arange(ch, dtype=np.float32) * step + (y0 + off))[:, None]
    t = table[ids]  # (ch, cw, 6)
    map_x = t[..., 0] * xs + t[..., 1] * ys + t[..., 2]
    map_y = t[..., 3] * xs + t[..., 4] * ys + t[..., 5]
    if step > 1:
        size = (cw * step, ch * step)
        map_x = cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR)[:h, :w]
        map_y = cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR)[:h, :w]
    return WarpMaps(x0, y0, map_x, map_y)
