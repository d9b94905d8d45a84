"""Per-pixel noise: impulse (salt-and-pepper) and Gaussian.

The noise field is not stored in the params; a 63-bit ``seed`` is, and ``apply`` regenerates the
field from it, so records stay small and replay is exact.
"""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np

from .base import Transform, noise_seed, register, uniform
from .schema import BaseInitSchema, Flag, Span, span
from .targets import Targets


def _gen(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(int(seed)))


@register
class ImpulseNoise(Transform):
    """Salt-and-pepper noise: a fraction ``amount`` (uniform in the range) of the pixel values
    (each channel separately when ``per_channel``, else whole pixels) set to 0 or 255."""

    name = "impulse_noise"

    class InitSchema(BaseInitSchema):
        amount: Annotated[Span, span(0, 1)]
        per_channel: Flag

    def __init__(
        self, p: float = 0.5, amount: float | tuple[float, float] = (0.0, 0.03),
        per_channel: bool = True,
    ) -> None:
        o = self.InitSchema.check(p=p, amount=amount, per_channel=per_channel)
        self.p, self.amount, self.per_channel = o.p, o.amount, o.per_channel

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {
            "amount": uniform(rng, *self.amount),
            "per_channel": self.per_channel,
            "seed": noise_seed(rng),
        }

    def apply(
        self, t: Targets, amount: float = 0.0, per_channel: bool = True, seed: int = 0, **_: Any,
    ) -> Targets:
        out = t.image.copy()
        h, w, c = out.shape
        cells = out.reshape(-1) if per_channel else out.reshape(-1, c)
        n = int(round(float(amount) * cells.shape[0]))
        if n == 0:
            return t.with_image(out)
        g = _gen(seed)
        idx = g.integers(0, cells.shape[0], size=n)
        salt = g.integers(0, 2, size=n, dtype=np.uint8) * np.uint8(255)
        cells[idx] = salt if per_channel else salt[:, None]
        return t.with_image(out)


@register
class GaussianNoise(Transform):
    """Additive Gaussian noise with standard deviation ``sigma`` (in 0-255 pixel units, uniform
    in the range), independent per channel when ``per_channel`` else shared (grey noise)."""

    name = "gaussian_noise"

    class InitSchema(BaseInitSchema):
        sigma: Annotated[Span, span(0, 255)]
        per_channel: Flag

    def __init__(
        self, p: float = 0.5, sigma: float | tuple[float, float] = (3.0, 12.0),
        per_channel: bool = True,
    ) -> None:
        o = self.InitSchema.check(p=p, sigma=sigma, per_channel=per_channel)
        self.p, self.sigma, self.per_channel = o.p, o.sigma, o.per_channel

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {
            "sigma": uniform(rng, *self.sigma),
            "per_channel": self.per_channel,
            "seed": noise_seed(rng),
        }

    def apply(
        self, t: Targets, sigma: float = 0.0, per_channel: bool = True, seed: int = 0, **_: Any,
    ) -> Targets:
        h, w, c = t.image.shape
        g = _gen(seed)
        noise = g.standard_normal((h, w, c if per_channel else 1), dtype=np.float32)
        noise *= np.float32(sigma)
        if not per_channel:
            noise = np.repeat(noise, c, axis=2)
        # one pass: uint8 + float32 -> rounded, saturated uint8
        return t.with_image(cv2.add(t.image, noise, dtype=cv2.CV_8U))
