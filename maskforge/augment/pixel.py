"""Photometric transforms: brightness, colour jitter, blur, JPEG re-compression.

They change pixel values only; landmarks, box and occlusion mask pass through unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np

from ..io.decode import jpeg_roundtrip
from .base import Transform, register, uniform
from .schema import BaseInitSchema, Span, int_span, span
from .targets import Targets

_IDENTITY = np.arange(256, dtype=np.float64)


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _hue_lut(shift: int) -> np.ndarray:
    """A 3-channel LUT for an HSV image: hue rotated by ``shift`` (mod 180), S and V kept."""
    lut = np.empty((1, 256, 3), dtype=np.uint8)
    levels = np.arange(256)
    lut[0, :, 0] = np.where(levels < 180, (levels + shift) % 180, levels)
    lut[0, :, 1] = levels
    lut[0, :, 2] = levels
    return lut


@register
class Brightness(Transform):
    """Multiply every pixel by a factor uniform in ``factor`` (the reference: x0.7-1.3),
    rounding and saturating to ``[0, 255]``."""

    name = "brightness"

    class InitSchema(BaseInitSchema):
        factor: Annotated[Span, span(0)]

    def __init__(self, p: float = 0.5, factor: float | tuple[float, float] = (0.7, 1.3)) -> None:
        o = self.InitSchema.check(p=p, factor=factor)
        self.p, self.factor = o.p, o.factor

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {"factor": uniform(rng, *self.factor)}

    def apply(self, t: Targets, factor: float = 1.0, **_: Any) -> Targets:
        return t.with_image(cv2.LUT(t.image, _lut(_IDENTITY * float(factor))))


@register
class ColorJitter(Transform):
    """Contrast, saturation and hue jitter, applied in that order.

    ``contrast`` and ``saturation`` are factors (1 = unchanged; contrast scales around the mean
    grey level, saturation blends with the grey image), ``hue`` a shift in degrees (a number ``v``
    means ``[-v, v]``). Steps whose factor is neutral are skipped.
    """

    name = "color_jitter"

    class InitSchema(BaseInitSchema):
        contrast: Annotated[Span, span(0)]
        saturation: Annotated[Span, span(0)]
        hue: Annotated[Span, span(-180, 180, symmetric=True, unit=" degrees")]

    def __init__(
        self,
        p: float = 0.5,
        contrast: float | tuple[float, float] = (0.8, 1.2),
        saturation: float | tuple[float, float] = (0.8, 1.2),
        hue: float | tuple[float, float] = 0.0,
    ) -> None:
        o = self.InitSchema.check(p=p, contrast=contrast, saturation=saturation, hue=hue)
        self.p, self.contrast, self.saturation, self.hue = o.p, o.contrast, o.saturation, o.hue

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {
            "contrast": uniform(rng, *self.contrast),
            "saturation": uniform(rng, *self.saturation),
            "hue": uniform(rng, *self.hue),
        }

    def apply(
        self, t: Targets, contrast: float = 1.0, saturation: float = 1.0, hue: float = 0.0,
        **_: Any,
    ) -> Targets:
        img = t.image
        if contrast != 1.0:
            mean = float(cv2.mean(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))[0])
            img = cv2.LUT(img, _lut((_IDENTITY - mean) * float(contrast) + mean))
        if saturation != 1.0:
            grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            img = cv2.addWeighted(img, float(saturation), grey, 1.0 - float(saturation), 0.0)
        shift = int(round(float(hue) / 2.0)) % 180  # OpenCV's 8-bit hue is in [0, 180)
        if shift:
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            img = cv2.cvtColor(cv2.LUT(hsv, _hue_lut(shift)), cv2.COLOR_HSV2RGB)
        return t.with_image(img)


@register
class Blur(Transform):
    """Gaussian blur with ``sigma`` (pixels) uniform in the given range; the kernel size follows
    from sigma (``cv2.GaussianBlur`` with ``ksize=(0, 0)``)."""

    name = "blur"

    class InitSchema(BaseInitSchema):
        sigma: Annotated[Span, span(0, 20, lo_open=True, unit=" pixels")]

    def __init__(self, p: float = 0.5, sigma: float | tuple[float, float] = (0.5, 1.5)) -> None:
        o = self.InitSchema.check(p=p, sigma=sigma)
        self.p, self.sigma = o.p, o.sigma

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {"sigma": uniform(rng, *self.sigma)}

    def apply(self, t: Targets, sigma: float = 1.0, **_: Any) -> Targets:
        return t.with_image(cv2.GaussianBlur(t.image, (0, 0), float(sigma)))


@register
class JpegCompression(Transform):
    """Re-encode as JPEG at an integer ``quality`` uniform in the range (1-100) and decode back
    (``cv2.imencode``/``cv2.imdecode``), adding realistic block and ringing artefacts."""

    name = "jpeg"

    class InitSchema(BaseInitSchema):
        quality: Annotated[tuple[int, int], int_span(1, 100)]

    def __init__(self, p: float = 0.5, quality: int | tuple[int, int] = (30, 90)) -> None:
        o = self.InitSchema.check(p=p, quality=quality)
        self.p, self.quality = o.p, o.quality

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {"quality": int(rng.integers(self.quality[0], self.quality[1] + 1))}

    def apply(self, t: Targets, quality: int = 90, **_: Any) -> Targets:
        return t.with_image(jpeg_roundtrip(t.image, quality))
