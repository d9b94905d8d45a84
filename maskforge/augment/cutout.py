"""Lower-face cutout: erase the region a face mask would cover (a common masked-face recipe).

The region comes from the best annotation present, in this order:

1. ``landmarks68``: the polygon jaw points 1-15 closed through nose-bridge point 29;
2. ``landmarks5``: a quadrilateral in the face's own frame (along the eye line) from a little
   below the eyes to below the mouth;
3. ``bbox``: its lower half;
4. nothing: the lower half of the image.

The erased pixels are also marked in ``occlusion_mask`` (created if absent), since they hide
the face just as an occluder would.
"""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np

from .base import Transform, noise_seed, register
from .schema import BaseInitSchema, some_of
from .targets import Targets

FILLS = ("gray", "black", "random", "noise")


def lower_face_polygon(t: Targets) -> tuple[np.ndarray, str]:
    """``(polygon (N, 2) float32 in pixels, source)``; source is "landmarks68", "landmarks5",
    "bbox" or "image"."""
    if t.landmarks68 is not None:
        lm = t.landmarks68
        return np.concatenate([lm[1:16], lm[29:30]]).astype(np.float32), "landmarks68"
    if t.landmarks5 is not None:
        lm = t.landmarks5.astype(np.float64)
        eye_l, eye_r, mouth = lm[0], lm[1], (lm[3] + lm[4]) / 2.0
        eyes = (eye_l + eye_r) / 2.0
        across = eye_r - eye_l
        ed = float(np.hypot(*across)) or 1.0
        u = across / ed  # along the eye line, towards the image's right
        v = np.array([-u[1], u[0]])  # perpendicular, pointing down the face
        d = max(float((mouth - eyes) @ v), 1.0)  # eyes-to-mouth distance
        corners = [(-0.95 * ed, 0.35 * d), (0.95 * ed, 0.35 * d), (0.7 * ed, 1.75 * d), (-0.7 * ed, 1.75 * d)]
        poly = np.array([eyes + a * u + b * v for a, b in corners])
        return poly.astype(np.float32), "landmarks5"
    if t.bbox is not None:
        x1, y1, x2, y2 = (float(v) for v in t.bbox)
        ym = (y1 + y2) / 2.0
        return np.array([[x1, ym], [x2, ym], [x2, y2], [x1, y2]], dtype=np.float32), "bbox"
    h, w = t.image.shape[:2]
    ym = h / 2.0
    return np.array([[0, ym], [w - 1, ym], [w - 1, h - 1], [0, h - 1]], dtype=np.float32), "image"


def _polygon(t: Targets) -> np.ndarray:
    return np.rint(lower_face_polygon(t)[0]).astype(np.int32)


def region_mask(t: Targets) -> np.ndarray:
    """Boolean ``(H, W)`` mask of :func:`lower_face_polygon` (filled with ``cv2.fillPoly``)."""
    h, w = t.image.shape[:2]
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(mask, [_polygon(t)], 1)
    return mask.view(bool)


@register
class LowerFaceCutout(Transform):
    """Erase the lower face (see module doc). ``fill``: "gray" (128), "black", "random" (one
    random colour per image) or "noise" (uniform random pixels); a list picks uniformly."""

    name = "cutout"

    class InitSchema(BaseInitSchema):
        fill: Annotated[list[str], some_of(FILLS)]

    def __init__(self, p: float = 0.5, fill: str | list[str] = "gray") -> None:
        o = self.InitSchema.check(p=p, fill=fill)
        self.p, self.fill = o.p, o.fill

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        kind = self.fill[0] if len(self.fill) == 1 else self.fill[int(rng.integers(len(self.fill)))]
        params: dict[str, Any] = {"fill": kind}
        if kind == "random":
            params["color"] = [int(c) for c in rng.integers(0, 256, size=3)]
        elif kind == "noise":
            params["seed"] = noise_seed(rng)
        return params

    def apply(
        self, t: Targets, fill: str = "gray", color: list[int] | None = None, seed: int = 0,
        **_: Any,
    ) -> Targets:
        poly = [_polygon(t)]
        h, w = t.image.shape[:2]
        mask = np.zeros((h, w), dtype=np.uint8)
        cv2.fillPoly(mask, poly, 1)
        mask = mask.view(bool)
        out = t.image.copy()
        if fill == "noise":
            g = np.random.Generator(np.random.PCG64(int(seed)))
            n = int(np.count_nonzero(mask))
            out[mask] = g.integers(0, 256, size=(n, 3), dtype=np.uint8)
        else:
            value = {"gray": [128, 128, 128], "black": [0, 0, 0]}.get(fill, color or [128] * 3)
            cv2.fillPoly(out, poly, tuple(int(v) for v in value))
        occ = mask if t.occlusion_mask is None else (t.occlusion_mask | mask)
        return t.with_image(out, occlusion_mask=occ)
