"""Ear loops: the elastic straps from a mask's side corners back to the ears.

A real mask is held by two loops per side, which leave its upper and lower side corners and run
over the cheek to the root of the ear (the top of the jaw line, dlib points 0 and 16, at about eye
height) and to the ear lobe (between points 1 and 2, and 14 and 15). :func:`ear_loop_layers` draws
them as a layer of their own (both sides, its box spanning them), composited after the mask with
the photograph's light and blur (:mod:`.render`), so the mask itself is drawn exactly as without
loops.

Geometry, all in the image's pixel frame:

- the mask's side corners are read from its rendered alpha: on each side, among the pixels within
  ``0.06`` IOD of the mask's outermost extent along the eye line, the highest and the lowest one
  (measured along ``n``, the eye line turned to point down the face);
- each loop is a quadratic curve from a corner to its ear point (none when shorter than
  :data:`MIN_LENGTH_IOD`); the ear points sit ``0.03`` IOD (at least 1.5 px) inside the face
  outline, and a loop is clipped to the outline (beyond it, it runs behind the head), so the
  spill figure of docs/occluders.md does not grow;
- the loops of the side turned away from the camera are hidden by the cheek: a side is drawn
  only while its half of the face (jaw end to nose tip, along the eye line) is at least
  :data:`FAR_SIDE_RATIO` of the other half;
- width ``0.022`` IOD (about 1 px on a 250 px LFW image), anti-aliased on a 4x finer grid.

Nothing here is random: the loops follow from the mask and the landmarks.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .anchors import eye_frame
from .quality import face_outline_mask

#: A side's loops are hidden when its half-width is under this share of the other side's.
FAR_SIDE_RATIO = 0.55
#: Loop width in IOD units.
WIDTH_IOD = 0.022
#: A loop shorter than this (IOD units) is hidden behind the mask's corner and not drawn.
MIN_LENGTH_IOD = 0.08
#: Supersampling of the loops' drawing.
_SS = 4
#: Alpha over which a pixel belongs to the mask when its corners are found.
_SOLID = 0.5


def _corners(alpha: np.ndarray, x0: int, y0: int, u: np.ndarray, n: np.ndarray, mid: np.ndarray):
    """``{side: (upper, lower)}`` corner points (image px) of the mask whose alpha is ``alpha``
    placed at ``(x0, y0)``; ``side`` -1 is the image-left end of the eye line, +1 the right."""
    solid = cv2.compare(alpha, _SOLID, cv2.CMP_GE)  # type: ignore[call-overload]  # scalar src2
    # the corners are extreme points, so they lie on the outline: its pixels are enough
    contours, _ = cv2.findContours(solid, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours or sum(len(c) for c in contours) < 8:
        return {}
    pts = np.concatenate(contours).reshape(-1, 2).astype(np.float64) + (x0 + 0.5, y0 + 0.5)
    iod = math.hypot(float(u[0]), float(u[1]))
    pu = (pts - mid) @ (u / iod)
    pn = (pts - mid) @ (n / iod)
    out = {}
    for side, extreme in ((-1, pu.min()), (1, pu.max())):
        band = np.abs(pu - extreme) <= 0.06 * iod
        up, lo = np.argmin(np.where(band, pn, np.inf)), np.argmax(np.where(band, pn, -np.inf))
        out[side] = (pts[up], pts[lo])
    return out


def _ear_points(lm: np.ndarray, u: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{side: (ear root, ear lobe)}``, 0.03 IOD (at least 1.5 px) inside the jaw line."""
    iod = max(math.hypot(float(u[0]), float(u[1])), 1e-9)
    inward = u * max(0.03, 1.5 / iod)
    return {
        -1: (lm[0] + inward, 0.5 * (lm[1] + lm[2]) + inward),
        1: (lm[16] - inward, 0.5 * (lm[14] + lm[15]) - inward),
    }


def visible_sides(lm: np.ndarray) -> list[int]:
    """The sides (-1 image-left, +1 image-right) whose ear faces the camera enough to show."""
    u, _ = eye_frame(lm)
    unit = u / max(math.hypot(float(u[0]), float(u[1])), 1e-9)
    left = float((lm[30] - lm[0]) @ unit)
    right = float((lm[16] - lm[30]) @ unit)
    if min(left, right) <= 0:
        return [1] if right > left else [-1]
    sides = []
    if left >= FAR_SIDE_RATIO * right:
        sides.append(-1)
    if right >= FAR_SIDE_RATIO * left:
        sides.append(1)
    return sides


#: Quadratic Bezier basis at 12 samples of a loop's curve parameter: rows (1-t)^2, 2(1-t)t, t^2.
_T = np.linspace(0.0, 1.0, 12)
_BASIS = np.stack([(1 - _T) ** 2, 2 * (1 - _T) * _T, _T**2], axis=1)


def _curve(a: np.ndarray, b: np.ndarray, bow: np.ndarray) -> np.ndarray:
    return _BASIS @ np.stack([a, 0.5 * (a + b) + bow, b])


def loop_paths(alpha: np.ndarray, x0: int, y0: int, lm: np.ndarray) -> dict[int, list[np.ndarray]]:
    """The loops to draw, ``{side: [polyline, ...]}`` with (K, 2) polylines in image px: up to
    two per visible side (-1 image-left, +1 image-right)."""
    lm = np.asarray(lm, np.float64)
    u, n = eye_frame(lm)
    iod = math.hypot(float(u[0]), float(u[1]))
    if iod < 4:
        return {}
    mid = 0.5 * (lm[36:42].sum(0) / 6.0 + lm[42:48].sum(0) / 6.0)
    corners = _corners(alpha, x0, y0, u, n, mid)
    ears = _ear_points(lm, u)
    paths: dict[int, list[np.ndarray]] = {}
    for side in visible_sides(lm) if corners else []:
        (upper, lower), (root, lobe) = corners[side], ears[side]
        for a, b, bow in ((upper, root, -0.04 * n), (lower, lobe, 0.05 * n)):
            # shorter: hidden at the corner
            if math.hypot(float(b[0] - a[0]), float(b[1] - a[1])) >= MIN_LENGTH_IOD * iod:
                paths.setdefault(side, []).append(_curve(a, b, bow))
    return paths


def ear_loop_layers(
    occ: np.ndarray, x0: int, y0: int, lm: np.ndarray, image_shape: tuple[int, ...]
) -> list[tuple[np.ndarray, int, int]]:
    """The ear loops of the mask ``occ`` ((h, w, 4) premultiplied float32 RGBA placed at
    ``(x0, y0)``) as one layer of their own (both sides; an empty list when no side shows
    loops): ``[(layer, lx, ly)]``, a premultiplied (h', w', 4) float32 RGBA placed at
    ``(lx, ly)`` and clipped to the image (``image_shape`` (H, W, ...)). Where the mask covers a
    loop's end, the layer is transparent: composited over the masked image, the loops pass
    behind the mask. Their colour is the mask's
    alpha-weighted mean colour taken halfway to light grey (elastic)."""
    lm = np.asarray(lm, np.float64)
    sides = loop_paths(cv2.extractChannel(occ, 3), x0, y0, lm)
    if not sides:
        return []
    sums = cv2.sumElems(occ)  # premultiplied: the alpha-weighted mean colour is a ratio of sums
    mean = np.array(sums[:3]) / sums[3] if sums[3] > 1e-6 else np.full(3, 0.8)
    color = (0.5 * mean + 0.5 * 0.88).astype(np.float32)
    ux, uy = eye_frame(lm)[0].tolist()
    iod = math.hypot(ux, uy)
    face = face_outline_mask(lm, (int(image_shape[0]), int(image_shape[1])))
    # both sides in one layer: one drawing, blur and composite instead of two
    got = _loops_layer([p for side in sorted(sides) for p in sides[side]], occ, x0, y0, face, iod)
    if got is None:
        return []
    alpha, bx0, by0 = got
    r, g, b = (float(c) for c in color)
    return [(cv2.merge((alpha * r, alpha * g, alpha * b, alpha)), bx0, by0)]


def _loops_layer(
    paths: list[np.ndarray],
    occ: np.ndarray,
    x0: int,
    y0: int,
    face: np.ndarray,
    iod: float,
) -> tuple[np.ndarray, int, int] | None:
    """The coverage (h', w') float32 of the loops ``paths`` and its placement, behind the mask
    and on the face (``face``: the (H, W) bool face outline of the whole image)."""
    image_shape = face.shape
    h, w = occ.shape[:2]
    pts = np.concatenate(paths)
    pad = math.ceil(WIDTH_IOD * iod) + 2
    (lx, ly), (hx, hy) = pts.min(0).tolist(), pts.max(0).tolist()
    bx0, by0 = max(math.floor(lx) - pad, 0), max(math.floor(ly) - pad, 0)
    bx1, by1 = min(math.ceil(hx) + pad, image_shape[1]), min(math.ceil(hy) + pad, image_shape[0])
    if bx1 <= bx0 or by1 <= by0:
        return None
    fine = np.zeros(((by1 - by0) * _SS, (bx1 - bx0) * _SS), np.uint8)
    shift = 4  # cv2's fixed-point fractional bits
    thick = max(int(round(WIDTH_IOD * iod * _SS)), 2)
    for path in paths:
        poly = np.round((path - (bx0, by0)) * (_SS * (1 << shift))).astype(np.int32)
        cv2.polylines(fine, [poly], False, 255, thick, cv2.LINE_AA, shift)
    loop = cv2.resize(fine, (bx1 - bx0, by1 - by0), interpolation=cv2.INTER_AREA)
    loop = loop.astype(np.float32) / 255.0
    body = np.zeros_like(loop)  # the mask's alpha in the layer's frame
    ix0, iy0 = max(x0, bx0), max(y0, by0)
    ix1, iy1 = min(x0 + w, bx1), min(y0 + h, by1)
    if ix1 > ix0 and iy1 > iy0:
        body[iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0] = occ[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0, 3]
    # beyond the face's outline a loop runs behind the head: clipped to it (no spill)
    alpha = loop * (1.0 - body) * face[by0:by1, bx0:bx1]
    if float(alpha.max()) <= 0.0:
        return None
    return alpha, bx0, by0
