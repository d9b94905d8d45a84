"""The template frames of the drawn occluders and the supersampled canvas they are painted on.

A mask template is :data:`MASK_SIZE` px with the eye midpoint at :data:`MASK_ORIGIN` and
:data:`MASK_IOD` px between the eyes; glasses use the ``GLASSES_*`` frame. A :class:`Canvas` paints
at :data:`SS` x that size and area-downsamples into a :class:`Drawing`: premultiplied ``rgb``
(H, W, 3) float32 in [0, 1], ``alpha`` (H, W) and ``colorw`` (H, W), how much each pixel takes the
user's colour/texture. Shared by :mod:`.draw` (masks) and :mod:`.draw_glasses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SS = 2  # supersampling factor
MASK_SIZE = (512, 512)  # (width, height)
MASK_IOD = 150.0
MASK_ORIGIN = (256.0, 90.0)
GLASSES_SIZE = (512, 256)
GLASSES_IOD = 200.0
GLASSES_ORIGIN = (256.0, 128.0)


@dataclass
class Drawing:
    """Premultiplied layers of a template (see module doc)."""

    rgb: np.ndarray
    alpha: np.ndarray
    colorw: np.ndarray
    parts: list[str] = field(default_factory=list)


class Canvas:
    """Supersampled painter: layers are composited 'over' in premultiplied form."""

    def __init__(self, size: tuple[int, int], iod: float, origin: tuple[float, float]) -> None:
        self.w, self.h = size
        self.iod, self.origin = iod, origin
        ys, xs = np.mgrid[0 : self.h * SS, 0 : self.w * SS].astype(np.float32)
        # template-pixel coordinates of the supersample centres, then eye-frame units
        self.px = (xs + 0.5) / SS - 0.5
        self.py = (ys + 0.5) / SS - 0.5
        self.x = (self.px - origin[0]) / iod
        self.y = (self.py - origin[1]) / iod
        self.rgb = np.zeros((self.h * SS, self.w * SS, 3), np.float32)
        self.a = np.zeros((self.h * SS, self.w * SS), np.float32)
        self.cw = np.zeros((self.h * SS, self.w * SS), np.float32)

    def paint(self, cover: np.ndarray, rgb, alpha: float | np.ndarray = 1.0, colorw: float = 0.0):
        """Paint ``rgb`` (3 floats 0..1 or (H, W, 3)) over where ``cover`` (0..1) is set."""
        a = np.clip(cover, 0.0, 1.0).astype(np.float32) * alpha
        rgb = np.asarray(rgb, np.float32)
        keep = 1.0 - a
        self.rgb = self.rgb * keep[..., None] + (
            rgb * a[..., None] if rgb.ndim == 3 else a[..., None] * rgb
        )
        self.cw = self.cw * keep + a * colorw
        self.a = self.a * keep + a

    def result(self, parts: list[str]) -> Drawing:
        size = (self.w, self.h)
        rgb = cv2.resize(self.rgb, size, interpolation=cv2.INTER_AREA)
        a = cv2.resize(self.a, size, interpolation=cv2.INTER_AREA)
        cw = cv2.resize(self.cw, size, interpolation=cv2.INTER_AREA)
        return Drawing(np.clip(rgb, 0, 1), np.clip(a, 0, 1), np.clip(cw, 0, 1), parts)


def smooth_step(d: np.ndarray, width: float) -> np.ndarray:
    """Coverage 0..1 of a signed distance ``d`` (positive inside) with a soft edge of ``width``."""
    return np.clip(d / width + 0.5, 0.0, 1.0)


def ridge(d: np.ndarray, center: float, width: float) -> np.ndarray:
    """Gaussian ridge 0..1 (float32) of a distance field ``d`` around ``center``, ``width`` wide."""
    return np.exp(-(((d - center) / width) ** 2)).astype(np.float32)
