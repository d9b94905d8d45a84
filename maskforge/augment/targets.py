"""The bundle of things an augmentation moves together: image, landmarks, box, occlusion mask.

All geometry is in the image's pixel frame (docs/architecture.md): x to the right, y down, the
centre of pixel ``(row i, column j)`` at ``(x=j, y=i)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..detect.align import apply_transform, transform_box


def _as_points(value: object, count: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    pts = np.asarray(value, dtype=np.float32)
    if pts.shape != (count, 2):
        raise ValueError(f"{name} must have shape ({count}, 2), got {pts.shape}")
    return pts


@dataclass(frozen=True, eq=False)
class Targets:
    """One image and the annotations that must follow it through geometric transforms.

    - ``image``: ``uint8`` ``(H, W, 3)`` RGB.
    - ``landmarks5`` / ``landmarks68``: ``float32`` ``(5, 2)`` / ``(68, 2)`` ``(x, y)`` pixels,
      orders as in docs/architecture.md (left/right mean the image's left/right), or None.
    - ``bbox``: ``float32`` ``(4,)`` ``(x1, y1, x2, y2)`` pixels, or None. Its corners are treated
      as points (a flip maps ``x`` to ``W - 1 - x``).
    - ``occlusion_mask``: ``bool`` ``(H, W)``, True where an occluder covers the face, or None.

    Instances are immutable; transforms return new ones and never modify their input. Fields a
    transform does not change are shared between input and output, so treat the arrays as
    read-only (copy before modifying in place).
    """

    image: np.ndarray
    landmarks5: np.ndarray | None = None
    landmarks68: np.ndarray | None = None
    bbox: np.ndarray | None = None
    occlusion_mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            shape = getattr(img, "shape", None)
            dtype = getattr(img, "dtype", None)
            raise ValueError(f"image must be uint8 (H, W, 3), got {dtype} {shape}")
        if not img.flags.c_contiguous:
            object.__setattr__(self, "image", np.ascontiguousarray(img))
        object.__setattr__(self, "landmarks5", _as_points(self.landmarks5, 5, "landmarks5"))
        object.__setattr__(self, "landmarks68", _as_points(self.landmarks68, 68, "landmarks68"))
        if self.bbox is not None:
            box = np.asarray(self.bbox, dtype=np.float32).reshape(-1)
            if box.shape != (4,):
                raise ValueError(f"bbox must be (x1, y1, x2, y2), got shape {box.shape}")
            object.__setattr__(self, "bbox", box)
        mask = self.occlusion_mask
        if mask is not None:
            mask = np.ascontiguousarray(mask, dtype=bool)
            if mask.shape != img.shape[:2]:
                raise ValueError(f"occlusion_mask shape {mask.shape} != image shape {img.shape[:2]}")
            object.__setattr__(self, "occlusion_mask", mask)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, 3)`` of the image."""
        return self.image.shape

    def replace(self, **changes: Any) -> Targets:
        """A copy with some fields replaced (the others are shared, not copied); validated."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def trusted(
        cls,
        image: np.ndarray,
        landmarks5: np.ndarray | None = None,
        landmarks68: np.ndarray | None = None,
        bbox: np.ndarray | None = None,
        occlusion_mask: np.ndarray | None = None,
    ) -> Targets:
        """Construct without validation, for transforms whose outputs are valid by
        construction (saves a few microseconds per step on small images)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "image", image)
        object.__setattr__(obj, "landmarks5", landmarks5)
        object.__setattr__(obj, "landmarks68", landmarks68)
        object.__setattr__(obj, "bbox", bbox)
        object.__setattr__(obj, "occlusion_mask", occlusion_mask)
        return obj

    def with_image(self, image: np.ndarray, occlusion_mask: np.ndarray | None = None) -> Targets:
        """Same annotations, new pixels (and optionally a new occlusion mask); not validated."""
        mask = self.occlusion_mask if occlusion_mask is None else occlusion_mask
        return Targets.trusted(image, self.landmarks5, self.landmarks68, self.bbox, mask)

    def face_center(self) -> tuple[float, float]:
        """Centre of the face in pixels: mean of landmarks68, else landmarks5, else the box centre,
        else the image centre."""
        for pts in (self.landmarks68, self.landmarks5):
            if pts is not None:
                c = pts.mean(axis=0)
                return float(c[0]), float(c[1])
        if self.bbox is not None:
            x1, y1, x2, y2 = (float(v) for v in self.bbox)
            return (x1 + x2) / 2.0, (y1 + y2) / 2.0
        h, w = self.image.shape[:2]
        return (w - 1) / 2.0, (h - 1) / 2.0


def warp_image(image: np.ndarray, m: np.ndarray, border: int, interpolation: int) -> np.ndarray:
    """``cv2.warpAffine`` to the same size. 3-channel images are warped as RGBA (OpenCV's
    4-channel path is about twice as fast and gives the same values per channel)."""
    h, w = image.shape[:2]
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    out = cv2.warpAffine(rgba, m, (w, h), flags=interpolation, borderMode=border)
    return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)


def warp_mask(mask: np.ndarray | None, m: np.ndarray) -> np.ndarray | None:
    """Nearest-neighbour warp of a boolean mask; outside the source is False."""
    if mask is None:
        return None
    h, w = mask.shape
    out = cv2.warpAffine(
        mask.view(np.uint8), m, (w, h),
        flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    return out.view(bool)


def warp_targets(
    t: Targets,
    m: np.ndarray,
    *,
    border: int = cv2.BORDER_REFLECT_101,
    interpolation: int = cv2.INTER_LINEAR,
) -> Targets:
    """Apply the 2x3 affine ``m`` (source pixels -> output pixels) to every field of ``t``.

    The output keeps the input size. The image uses ``interpolation`` and ``border``; the
    occlusion mask uses nearest-neighbour and a zero (not occluded) border.
    """
    return Targets.trusted(
        warp_image(t.image, m, border, interpolation),
        apply_transform(m, t.landmarks5),
        apply_transform(m, t.landmarks68),
        transform_box(m, t.bbox),
        warp_mask(t.occlusion_mask, m),
    )
