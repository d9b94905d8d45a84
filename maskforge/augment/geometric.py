"""Geometric transforms: random crop, rotation, horizontal flip.

Each one moves the image and carries ``landmarks5``, ``landmarks68``, ``bbox`` and
``occlusion_mask`` (nearest-neighbour) with it, in the pixel frame of docs/architecture.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np

from ..detect.align import apply_transform, mirror_box, transform_box
from ..detect.landmarks import MIRROR5, MIRROR68, mirror_points
from .base import Transform, register, uniform
from .schema import BaseInitSchema, Span, one_of, span
from .targets import Targets, warp_targets

BORDERS = {
    "reflect": cv2.BORDER_REFLECT_101,
    "constant": cv2.BORDER_CONSTANT,
    "replicate": cv2.BORDER_REPLICATE,
}


#: The flip tables of :mod:`maskforge.detect.landmarks` (``MIRROR68``, ``MIRROR5``), under the
#: names augment has always exported.
FLIP_68 = MIRROR68
FLIP_5 = MIRROR5


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
        mask = None if t.occlusion_mask is None else np.ascontiguousarray(t.occlusion_mask[:, ::-1])
        return Targets.trusted(
            cv2.flip(t.image, 1),
            mirror_points(t.landmarks5, w),
            mirror_points(t.landmarks68, w),
            mirror_box(t.bbox, w),
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

    class InitSchema(BaseInitSchema):
        scale: Annotated[Span, span(1, 4)]

    def __init__(self, p: float = 0.5, scale: float | tuple[float, float] = 1.15) -> None:
        o = self.InitSchema.check(p=p, scale=scale)
        self.p, self.scale = o.p, o.scale

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
            image, apply_transform(m, t.landmarks5), apply_transform(m, t.landmarks68),
            transform_box(m, t.bbox), mask,
        )


@register
class Rotate(Transform):
    """Rotate by an angle uniform in ``limit`` degrees (a number ``v`` means ``[-v, v]``;
    positive = counter-clockwise on screen, as ``cv2.getRotationMatrix2D``) about the image
    centre (``center="image"``) or the face centre (``"face"``: mean of the landmarks, else the
    box centre, else the image centre). ``border``: "reflect", "constant" (black) or "replicate".
    """

    name = "rotate"

    class InitSchema(BaseInitSchema):
        limit: Annotated[Span, span(-180, 180, symmetric=True, unit=" degrees")]
        center: Annotated[str, one_of(("image", "face"), "'image' or 'face'")]
        border: Annotated[str, one_of(tuple(BORDERS), f"one of {sorted(BORDERS)}")]

    def __init__(
        self,
        p: float = 0.5,
        limit: float | tuple[float, float] = 10.0,
        center: str = "image",
        border: str = "reflect",
    ) -> None:
        o = self.InitSchema.check(p=p, limit=limit, center=center, border=border)
        self.p, self.limit, self.center, self.border = o.p, o.limit, o.center, o.border

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
