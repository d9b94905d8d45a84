"""The per-pixel test behind :mod:`maskforge.occlude.front_objects`: each pixel of a crop around
the lower face against the *same face's* visible skin.

The skin is measured as CIELAB medians of the cheeks under the eyes and of the nose (a patch far
darker than the brightest is under an object and left out). A pixel is:

- of a **foreign colour**: chroma (a*, b*) farther than :data:`COLOUR_DIST` skin chromas from the
  skin's, and more saturated than the skin or of an opposite hue (a yellow ball, a blue cloth);
- **dark**: lightness under :data:`DARK_RATIO` of the darker patch, nearly neutral (a microphone,
  hair); **black** under :data:`BLACK_RATIO` of it.

The face's own parts that differ from its skin are left out (lips, teeth, open mouth, nostrils,
eyes). Which groups of such pixels are objects is decided in :mod:`.front_objects`.

Frames: images (H, W, 3) uint8 RGB, landmarks (68, 2) float in the pixels of the image given;
every map is (h, w) in the crop's pixels, the crop's origin in the image recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Chroma distance (a*, b*) from the skin's median, in units of the skin's chroma, of a pixel of
#: foreign colour (a neutral pixel is at 1.0 exactly: grey beards stay under it).
COLOUR_DIST = 1.2
#: Chroma a pixel of foreign colour has at least (a*, b* units): hues of near-grey pixels are noise.
CHROMA_MIN = 8.0
#: Floor of the skin's chroma (a*, b* units).
CHROMA_FLOOR = 5.0
#: Lightness ratio to the darker skin patch under which a pixel is black (a microphone's foam).
BLACK_RATIO = 0.15
#: Lightness ratio to the darker skin patch (a cheek or the nose) under which a pixel is dark.
DARK_RATIO = 0.35
#: Chroma of a dark pixel at most, in units of the skin's chroma (skin in shadow keeps its hue).
DARK_CHROMA = 0.5
#: Loose lightness ratio (to the darker cheek) into which a found dark object grows.
GROW_DARK = 0.55
#: Loose chroma distance (skin chroma units) into which a found coloured object grows.
GROW_COLOUR = 0.8
#: Lightness ratio to the brightest skin patch under which a patch is not skin (an object over
#: it) and is left out of the skin model.
PATCH_RATIO = 0.4
#: Margin of the searched box around the lower face, in jaw widths.
BOX_MARGIN = 0.25
#: Widening of the mouth's hull left out of the test, in jaw widths.
MOUTH_MARGIN = 0.03


def _poly(mask: np.ndarray, pts: np.ndarray, shrink: float = 0.0) -> None:
    """Fill the convex hull of ``pts`` (crop pixels) into ``mask``, shrunk towards its centroid by
    ``shrink`` (a fraction)."""
    p = np.asarray(pts, np.float64)
    p = p + (p.mean(0) - p) * shrink
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(p).astype(np.int32)), 1)


def crop_box(lm: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) image pixels searched: the lower face's box widened by
    :data:`BOX_MARGIN` jaw widths, clipped to the image."""
    pts = np.vstack([lm[0:17], lm[27:28]])
    m = BOX_MARGIN * float(np.hypot(*(lm[16] - lm[0])))
    x0, y0 = np.floor(pts.min(0) - m).astype(int)
    x1, y1 = np.ceil(pts.max(0) + m).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def _regions(lm: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face, skin, own) uint8 maps of a crop of ``size`` (h, w), ``lm`` in crop pixels: the lower
    face (hull of 0-16 and 27), the reference skin (cheeks under the eyes, the nose), the face's
    own parts left out (mouth, nostrils, eyes)."""
    width = float(np.hypot(*(lm[16] - lm[0])))
    face, own = np.zeros(size, np.uint8), np.zeros(size, np.uint8)
    skin = np.zeros(size, np.uint8)
    _poly(face, np.vstack([lm[0:17], lm[27:28]]))
    for label, idx, shrink in ((1, [1, 2, 3, 31, 39, 40, 41], 0.35),
                               (2, [15, 14, 13, 35, 42, 47, 46], 0.35), (3, [27, 31, 33, 35], 0.3)):  # fmt: skip
        part = np.zeros(size, np.uint8)
        _poly(part, lm[idx], shrink)
        skin[part.astype(bool)] = label
    for lo, hi in ((48, 60), (36, 42), (42, 48), (31, 36)):
        _poly(own, lm[lo:hi])
    r = max(int(round(MOUTH_MARGIN * width)), 1)
    wide = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return face, skin, np.asarray(wide, np.uint8)


def mirror_maps(lm: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y) float32 maps of a crop of ``size`` (h, w) to each pixel's reflection across
    the face's midline (the line fitted through the nose, lips and chin points, crop pixels)."""
    mid = lm[[27, 28, 29, 30, 33, 51, 57, 8]]
    centre = mid.mean(0)
    _, _, vt = np.linalg.svd(mid - centre)
    d = vt[0]
    n = np.array([-d[1], d[0]])
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float32)
    off = (xs - centre[0]) * n[0] + (ys - centre[1]) * n[1]
    return (xs - 2 * off * n[0]).astype(np.float32), (ys - 2 * off * n[1]).astype(np.float32)


@dataclass
class PixelMaps:
    """Per-pixel test of a crop around the lower face (crop pixels, (h, w) maps).

    ``kind``: 0 skin or the face's own part, 1 dark, 2 black, 3 foreign colour (strict limits);
    ``loose``: foreign at the loose limits (:data:`GROW_DARK`, :data:`GROW_COLOUR`) outside the face's
    own parts, or at the strict ones inside them: where a found object may extend;
    ``face``: the lower face (uint8); ``lm``: the landmarks; ``origin``: the crop's (x0, y0);
    ``shade``: dark pixels of any hue (lightness under :data:`DARK_RATIO`) outside the face's own
    parts, where thin lines are looked for (:func:`~maskforge.occlude.front_objects._lines`);
    ``depth``: float32 distance (px) of each pixel into the lower face (0 outside it);
    ``mirror``: (map_x, map_y) of each pixel's reflection across the midline
    (:func:`mirror_maps`)."""

    kind: np.ndarray
    loose: np.ndarray
    face: np.ndarray
    lm: np.ndarray
    origin: tuple[int, int]
    shade: np.ndarray
    depth: np.ndarray
    mirror: tuple[np.ndarray, np.ndarray]


def foreign_pixels(image: np.ndarray, landmarks68: np.ndarray) -> PixelMaps:
    """The per-pixel test (module doc) of the crop around the lower face of the face with
    ``landmarks68`` in ``image``."""
    lm = np.asarray(landmarks68, np.float64)
    x0, y0, x1, y1 = crop_box(lm, image.shape)
    crop = image[y0:y1, x0:x1]
    local = lm - (x0, y0)
    size = (int(crop.shape[0]), int(crop.shape[1]))
    face, skin, own = _regions(local, size)
    kind = np.zeros(size, np.uint8)
    maps = PixelMaps(kind, np.zeros(kind.shape, bool), face, local, (int(x0), int(y0)),
                     np.zeros(kind.shape, bool), cv2.distanceTransform(face, cv2.DIST_L2, 3),
                     mirror_maps(local, size))  # fmt: skip
    if min((skin == k).sum() for k in (1, 2, 3)) < 5:
        return maps
    lab = cv2.cvtColor(
        cv2.GaussianBlur(crop, (3, 3), 0).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab
    )
    # a patch far darker than the brightest is under an object (a microphone over the nose)
    light = {k: float(np.median(lab[skin == k, 0])) for k in (1, 2, 3)}
    patches = [k for k in light if light[k] >= PATCH_RATIO * max(light.values())]
    med = np.median(lab[np.isin(skin, patches)], 0)
    # the darker cheek (or the nose) sets the dark limit: a face lit from one side stays skin
    darkest = min(light[k] for k in patches)
    cs = max(float(np.hypot(med[1], med[2])), CHROMA_FLOOR)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    dist = np.hypot(lab[..., 1] - med[1], lab[..., 2] - med[2]) / cs
    cosine = (lab[..., 1] * med[1] + lab[..., 2] * med[2]) / np.maximum(chroma * cs, 1e-6)
    hue_off = (chroma > CHROMA_MIN) & ((chroma > cs) | (cosine < 0.0))
    ratio = lab[..., 0] / max(darkest, 1.0)
    neutral = chroma < DARK_CHROMA * cs
    kind[(ratio < DARK_RATIO) & neutral] = 1
    kind[(ratio < BLACK_RATIO) & neutral] = 2
    kind[(dist > COLOUR_DIST) & hue_off] = 3
    mine = own.astype(bool)
    loose = ((ratio < GROW_DARK) & neutral) | ((dist > GROW_COLOUR) & hue_off)
    maps.loose = np.where(mine, kind > 0, loose)
    maps.shade = (ratio < DARK_RATIO) & ~mine
    kind[mine] = 0
    return maps
