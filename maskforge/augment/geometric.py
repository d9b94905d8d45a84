"""Geometric transforms: random crop, rotation, horizontal flip.

Each one moves the image and carries ``landmarks5``, ``landmarks68``, ``bbox`` and
``occlusion_mask`` (nearest-neighbour) with it, in the pixel frame of docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .base import Transform, register, uniform
from .targets import Targets, as_range, warp_targets

BORDERS = {
    "reflect": cv2.BORDER_REFLECT_101,
    "constant": cv2.BORDER_CONSTANT,
    "replicate": cv2.BORDER_REPLICATE,
}


def _flip_permutation_68() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw 0<->16 ... 7<->9, 8 stays
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows 17<->26 ... 21<->22
    pairs += [(31, 35), (32, 34)]  # nose bottom; 27-30 (bridge) and 33 stay
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lip; 51, 57 stay
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lip; 62, 66 stay
    perm = np.arange(68)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


#: ``flipped[i] = mirrored[FLIP_68[i]]``: index ``i`` of a flipped face takes the mirrored point
#: that played the mirror role (e.g. 36, outer corner of the eye on the image's left, comes from 45).
FLIP_68 = _flip_permutation_68()
#: Same for the 5-point order (eyes swap, mouth corners swap, nose stays).
FLIP_5 = np.array([1, 0, 2, 4, 3])


def flip_points(pts: np.ndarray | None, width: int, perm: np.ndarray) -> np.ndarray | None:
    """Mirror points of a ``width``-wide image (``x -> width - 1 - x``) and re-index them by
    ``perm`` so each index keeps its semantic role."""
    if pts is None:
        return None
    out = pts[perm].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


@register
class HorizontalFlip(Transform):
    """Mirror left-right. 68 points are re-indexed (jaw 0<->16, brows, eyes 36<->45 ..., nose
    31<->35, mouth 48<->54 ...) and 5 points swap eyes and mouth corners, so landmarks stay
    semantically correct. No random parameters."""

    name = "flip"

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p)

    def apply(self, t: Targets, **params: Any) -> Targets:
        w = t.image.shape[1]
        box = None
        if t.bbox is not None:
            x1, y1, x2, y2 = (float(v) for v in t.bbox)
            box = np.array([w - 1 - x2, y1, w - 1 - x1, y2], dtype=np.float32)
        mask = None if t.occlusion_mask is None else np.ascontiguousarray(t.occlusion_mask[:, ::-1])
        return Targets(
            image=cv2.flip(t.image, 1),
            landmarks5=flip_points(t.landmarks5, w, FLIP_5),
            landmarks68=flip_points(t.landmarks68, w, FLIP_68),
            bbox=box,
            occlusion_mask=mask,
        )


@register
class RandomCrop(Transform):
    """Zoom by ``scale`` then crop back to the original size at a random offset (the reference
    recipe: resize 1.15x, random crop). Done as one affine warp: a source pixel ``(x, y)`` lands
    at ``(s*(x + 0.5) - 0.5 - ox, s*(y + 0.5) - 0.5 - oy)`` (the ``cv2.resize`` pixel-centre
    convention), with integer offsets ``0 <= ox <= floor(W*(s-1))``.

    ``scale``: a number or ``[lo, hi]``, each >= 1.
    """

    name = "crop"

    def __init__(self, p: float = 0.5, scale: float | tuple[float, float] = 1.15) -> None:
        super().__init__(p)
        self.scale = as_range(scale, "scale")
        if self.scale[0] < 1.0 or self.scale[1] > 4.0:
            raise ValueError(f"scale must lie in [1, 4], got {scale!r}")

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        h, w = shape[:2]
        s = uniform(rng, *self.scale)
        ox = int(rng.integers(0, int(np.floor(w * (s - 1.0) + 1e-9)) + 1))
        oy = int(rng.integers(0, int(np.floor(h * (s - 1.0) + 1e-9)) + 1))
        return {"scale": s, "x": ox, "y": oy}

    @staticmethod
    def matrix(scale: float, x: int, y: int) -> np.ndarray:
        """The 2x3 affine of a crop with these params (source -> output pixels)."""
        s = float(scale)
        shift = 0.5 * (s - 1.0)
        return np.array([[s, 0.0, shift - x], [0.0, s, shift - y]], dtype=np.float64)

    def apply(self, t: Targets, scale: float = 1.0, x: int = 0, y: int = 0, **_: Any) -> Targets:
        return warp_targets(t, self.matrix(scale, x, y))


@register
class Rotate(Transform):
    """Rotate by an angle uniform in ``limit`` degrees (a number ``v`` means ``[-v, v]``;
    positive = counter-clockwise on screen, as ``cv2.getRotationMatrix2D``) about the image
    centre (``center="image"``) or the face centre (``"face"``: mean of the landmarks, else the
    box centre, else the image centre). ``border``: "reflect", "constant" (black) or "replicate".
    """

    name = "rotate"

    def __init__(
        self,
        p: float = 0.5,
        limit: float | tuple[float, float] = 10.0,
        center: str = "image",
        border: str = "reflect",
    ) -> None:
        super().__init__(p)
        self.limit = as_range(limit, "limit", symmetric=True)
        if max(abs(self.limit[0]), abs(self.limit[1])) > 180:
            raise ValueError(f"limit must lie within [-180, 180] degrees, got {limit!r}")
        if center not in ("image", "face"):
            raise ValueError(f"center must be 'image' or 'face', got {center!r}")
        if border not in BORDERS:
            raise ValueError(f"border must be one of {sorted(BORDERS)}, got {border!r}")
        self.center = center
        self.border = border

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {"angle": uniform(rng, *self.limit), "center": self.center, "border": self.border}

    @staticmethod
    def matrix(t: Targets, angle: float, center: str = "image") -> np.ndarray:
        """The 2x3 affine of this rotation for ``t`` (source -> output pixels)."""
        if center == "face":
            c = t.face_center()
        else:
            h, w = t.image.shape[:2]
            c = ((w - 1) / 2.0, (h - 1) / 2.0)
        return cv2.getRotationMatrix2D(c, float(angle), 1.0)

    def apply(
        self, t: Targets, angle: float = 0.0, center: str = "image", border: str = "reflect",
        **_: Any,
    ) -> Targets:
        return warp_targets(t, self.matrix(t, angle, center), border=BORDERS[border])
