"""The nose-wire crease: the ridge a mask's nose wire makes where it bends over the nose bridge.

Surgical and KN95 masks carry a metal wire in their top hem. Pressed onto the face it bends over
the nose bridge, and the fabric shows a thin ridge along the top edge that catches the light,
with a soft shadow line just beneath it, strongest over the bridge and fading out over the
cheeks. :func:`apply_nose_wire` draws it at render time, on the warped mask, from the face's own
landmarks, so it follows this face's bridge and this mask's top edge (the drawn templates only
carry a faint generic hem).

Geometry, in the pixel frame of the warped mask (a crop of the image placed at ``(x0, y0)``):

- the top edge: per column, the first row where alpha >= 0.5; depth below it: the vertical
  distance times the cosine of the edge's (smoothed) slope, i.e. the distance across the edge,
  in units of the inter-ocular distance (IOD);
- profile across the wire: a highlight ``+`` :data:`RIDGE_GAIN` at depth :data:`RIDGE_DEPTH`
  (Gaussian, sd :data:`RIDGE_WIDTH`) and a shadow ``-`` :data:`SHADOW_GAIN` at depth
  :data:`SHADOW_DEPTH` (sd :data:`SHADOW_WIDTH`), each at least :data:`MIN_SD_PX` px wide so
  it survives a 112 px aligned face;
- along the wire: a Gaussian fade of sd :data:`FADE_IOD` across the face from the bridge (the
  midpoint of landmarks 28 and 29; each column's top-edge point measured along the eye line),
  drawn out to :data:`REACH` sds; only the rows down to the shadow line's reach under the top
  edge are touched, so the mask's lower and side edges get no crease.

It is a relative luminance change of the mask's own (premultiplied) colour, applied before the
camera blur, the colour cast and the face's light (:mod:`.photo`), so it takes the mask's colour
and the face's light and is no crisper than the eyes. Drawn only where the mask covers the nose
tip (the ``correct`` wear: a mask pulled under the nose has no wire over the bridge), for the
families of :data:`NOSE_WIRE_FAMILIES`. The strength of each face's crease is drawn from the
generator passed in (uniform in ``1 -+`` :data:`STRENGTH_SPREAD`).
"""

from __future__ import annotations

import math

import numpy as np

from .anchors import eye_frame

#: Mask families whose drawn assets have a nose wire in the top hem (an N95 has its own metal
#: clip drawn on the template; cloth masks have none).
NOSE_WIRE_FAMILIES = frozenset({"surgical", "kn95"})
#: Depth (IOD) of the wire's ridge below the mask's top edge, its width (sd) and gain.
RIDGE_DEPTH, RIDGE_WIDTH, RIDGE_GAIN = 0.035, 0.012, 0.22
#: Depth (IOD) of the shadow line under the ridge, its width (sd) and its darkening.
SHADOW_DEPTH, SHADOW_WIDTH, SHADOW_GAIN = 0.085, 0.022, 0.24
#: Smallest sd (px) of the ridge and the shadow line.
MIN_SD_PX = 0.6
#: Fade along the wire away from the bridge (sd in IOD along the eye line); beyond
#: :data:`REACH` sds the crease is not drawn.
FADE_IOD, REACH = 0.3, 3.0
#: Per-face spread of the crease's strength (uniform in 1 - spread .. 1 + spread).
STRENGTH_SPREAD = 0.3
#: Alpha from which a pixel belongs to the mask.
_SOLID = 0.5


def _covers(alpha: np.ndarray, x0: int, y0: int, point: np.ndarray) -> bool:
    """Whether the mask (``alpha`` placed at ``(x0, y0)``) covers image ``point`` (x, y)."""
    cx, cy = int(round(float(point[0]))) - x0, int(round(float(point[1]))) - y0
    h, w = alpha.shape
    return 0 <= cx < w and 0 <= cy < h and float(alpha[cy, cx]) >= _SOLID


def _profile(per_row: float, iod: float) -> np.ndarray:
    """The crease across the wire, per row under the top edge: (K + 2,) float32 gains of rows
    0..K-1 under it (``per_row``: IOD per row), then two zeros (indices K and -1: outside)."""
    sd_r, sd_s = max(RIDGE_WIDTH, MIN_SD_PX / iod), max(SHADOW_WIDTH, MIN_SD_PX / iod)
    k = np.arange(int(math.ceil((SHADOW_DEPTH + 3.0 * sd_s) / per_row)) + 1) * per_row
    prof = RIDGE_GAIN * np.exp(-0.5 * ((k - RIDGE_DEPTH) / sd_r) ** 2) - SHADOW_GAIN * np.exp(
        -0.5 * ((k - SHADOW_DEPTH) / sd_s) ** 2
    )
    return np.concatenate([prof, [0.0, 0.0]]).astype(np.float32)


def crease(
    alpha: np.ndarray, x0: int, y0: int, landmarks: np.ndarray
) -> tuple[np.ndarray, int, int] | None:
    """The crease's relative luminance change (full strength) for the mask whose alpha (h, w)
    is placed at ``(x0, y0)`` of the image of the (68, 2) ``landmarks`` (px): ``(gain, bx, by)``,
    a (h', w') float32 band (positive on the ridge, negative on the shadow line, 0 elsewhere)
    at ``(bx, by)`` in ``alpha``'s frame; None when the mask does not cover the nose tip."""
    lm = np.asarray(landmarks, np.float64)
    if not _covers(alpha, x0, y0, lm[30]):
        return None
    ux, uy = eye_frame(lm)[0].tolist()
    iod = math.hypot(ux, uy)
    if iod < 4:
        return None
    (ax, ay), (cx, cy) = lm[28].tolist(), lm[29].tolist()
    bx_c, by_c = 0.5 * (ax + cx) - x0, 0.5 * (ay + cy) - y0  # the bridge, in alpha's frame
    reach = REACH * FADE_IOD * abs(ux)  # the fade's reach along the eye line, in columns
    h, w = alpha.shape
    bx, bx1 = max(int(bx_c - reach), 0), min(int(math.ceil(bx_c + reach)) + 1, w)
    if bx1 - bx < 2:
        return None
    solid = alpha[:, bx:bx1] >= _SOLID
    has = solid.any(axis=0)
    if not has.any():
        return None
    top = solid.argmax(axis=0)  # the top edge: first solid row per column
    # the fade along the wire: each column's top-edge point, along the eye line from the bridge
    along = ((np.arange(bx, bx1) - bx_c) * ux + (top - by_c) * uy) / (iod * iod * FADE_IOD)
    fade = (np.exp(-0.5 * along * along) * has).astype(np.float32)
    # depth across an edge parallel to the eye line: the vertical distance times cos(roll)
    prof = _profile(abs(ux) / (iod * iod), iod)
    k = len(prof) - 2
    by, by1 = int(top[has].min()), min(int(top[has].max()) + k, h)
    rows = np.clip(np.arange(by, by1)[:, None] - top, -1, k)  # -1 and k: outside (gain 0)
    return prof[rows] * fade, bx, by


def apply_nose_wire(
    occ: np.ndarray, x0: int, y0: int, landmarks: np.ndarray, rng: np.random.Generator
) -> None:
    """Draw the nose-wire crease into the colour channels of ``occ`` ((h, w, 4) premultiplied
    float32 RGBA of a warped mask placed at ``(x0, y0)``; modified in place). One uniform draw
    from ``rng`` sets this face's strength; nothing is drawn from it when the mask does not
    cover the nose tip."""
    got = crease(occ[..., 3], x0, y0, landmarks)
    if got is None:
        return
    gain, bx, by = got
    strength = 1.0 + STRENGTH_SPREAD * (2.0 * float(rng.random()) - 1.0)
    factor = gain * np.float32(strength) + np.float32(1.0)
    hh, ww = gain.shape
    band = occ[by : by + hh, bx : bx + ww]
    band[..., :3] *= factor[..., None]
