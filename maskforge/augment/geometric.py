"""Geometric transforms: random crop, rotation, horizontal flip.

Each one moves the image and carries ``landmarks5``, ``landmarks68``, ``bbox`` and
``occlusion_mask`` (nearest-neighbour) with it, in the pixel frame of docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .base import Transform, register, uniform
from .targets import Targets, affine_box, affine_points, as_range, warp_targets

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
    out = pts[perm]  # fancy indexing copies
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
        return Targets.trusted(
            cv2.flip(t.image, 1),
            flip_points(t.landmarks5, w, FLIP_5),
            flip_points(t.landmarks68, w, FLIP_68),
            box,
            mask,
        )


def crop_size(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    """``(width, height)`` of the zoomed image: the original size times ``scale``, rounded."""
    h, w = shape[:2]
    return max(w, int(round(w * scale))), max(h, int(round(h * scale)))


@register
class RandomCrop(Transform):
    """Zoom by ``scale`` then crop back to the original size at a random offset (the reference
    recipe: resize 1.15x, random crop).

    The zoomed size is ``round(W*scale) x round(H*scale)`` (``cv2.resize``, bilinear); the crop
    keeps columns ``x .. x+W-1`` and rows ``y .. y+H-1`` of it, with integer offsets drawn
    uniformly. A source point ``(px, py)`` lands at ``(sx*(px + 0.5) - 0.5 - x, sy*(py + 0.5) -
    0.5 - y)`` with ``sx = round(W*scale)/W`` (the pixel-centre convention of ``cv2.resize``).

    ``scale``: a number or ``[lo, hi]``, each in [1, 4].
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
        zw, zh = crop_size(shape, s)
        return {"scale": s, "x": int(rng.integers(0, zw - w + 1)), "y": int(rng.integers(0, zh - h + 1))}

    @staticmethod
    def matrix(shape: tuple[int, ...], scale: float, x: int, y: int) -> np.ndarray:
        """The 2x3 affine of a crop with these params for an image of ``shape`` (source ->
        output pixels)."""
        h, w = shape[:2]
        zw, zh = crop_size(shape, scale)
        sx, sy = zw / w, zh / h
        return np.array(
            [[sx, 0.0, 0.5 * (sx - 1.0) - x], [0.0, sy, 0.5 * (sy - 1.0) - y]], dtype=np.float64
        )

    def apply(self, t: Targets, scale: float = 1.0, x: int = 0, y: int = 0, **_: Any) -> Targets:
        h, w = t.image.shape[:2]
        zw, zh = crop_size(t.image.shape, scale)
        x, y = int(x), int(y)
        if not (0 <= x <= zw - w and 0 <= y <= zh - h):
            raise ValueError(f"crop offset ({x}, {y}) outside the {zw}x{zh} zoomed image")
        zoomed = cv2.resize(t.image, (zw, zh), interpolation=cv2.INTER_LINEAR)
        image = np.ascontiguousarray(zoomed[y : y + h, x : x + w])
        mask = None
        if t.occlusion_mask is not None:
            big = cv2.resize(t.occlusion_mask.view(np.uint8), (zw, zh), interpolation=cv2.INTER_NEAREST_EXACT)
            mask = np.ascontiguousarray(big[y : y + h, x : x + w]).view(bool)
        m = self.matrix(t.image.shape, scale, x, y)
        return Targets.trusted(
            image, affine_points(t.landmarks5, m), affine_points(t.landmarks68, m),
            affine_box(t.bbox, m), mask,
        )


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
