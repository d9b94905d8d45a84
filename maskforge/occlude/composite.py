"""Compositing a warped occluder onto an image: premultiplied alpha + luminance-matched shading.

The occluder arrives premultiplied (``rgb`` already multiplied by ``alpha``), so interpolated edge
pixels never carry the colour of fully transparent texels: ``out = occ_rgb + (1 - alpha) * image``
cannot create a light (or dark) halo. Shading: the occluder's colour is modulated by the local
luminance of the skin it covers (heavily blurred, relative to its alpha-weighted mean), so a mask
in a shadow is darker on that side, like a worn one, instead of a flat sticker.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Alpha at or above which a pixel counts as covered in the occlusion mask.
MASK_THRESHOLD = 0.5


def luminance_gain(patch: np.ndarray, alpha: np.ndarray, strength: float = 0.7,
                   lo: float = 0.55, hi: float = 1.3) -> np.ndarray:
    """(h, w) float32 gain: blurred luminance of ``patch`` (h, w, 3) uint8 RGB over its
    alpha-weighted mean, raised to ``strength`` and clipped to [lo, hi]."""
    h, w = alpha.shape
    lum = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = (max(2, w // 8), max(2, h // 8))
    blur = cv2.resize(cv2.resize(lum, small, interpolation=cv2.INTER_AREA), (w, h),
                      interpolation=cv2.INTER_LINEAR)
    total = float(alpha.sum())
    if total < 1e-3:
        return np.ones((h, w), np.float32)
    mean = float((blur * alpha).sum()) / total
    ratio = np.clip(blur / max(mean, 1.0), lo, hi)
    return np.power(ratio, strength, dtype=np.float32)


def composite(image: np.ndarray, occ: np.ndarray, x0: int, y0: int, shade: bool = True,
              threshold: float = MASK_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Composite premultiplied ``occ`` (h, w, 4) float32 0..1 at ``(x0, y0)`` of ``image``.

    Returns ``(out, mask)``: a new uint8 RGB image and the (H, W) bool occlusion mask
    (alpha >= ``threshold``). ``image`` is not modified."""
    h, w = occ.shape[:2]
    out = image.copy()
    mask = np.zeros(image.shape[:2], bool)
    patch = image[y0 : y0 + h, x0 : x0 + w]
    a = occ[..., 3]
    rgb = occ[..., :3] * 255.0
    if shade:
        gain = luminance_gain(patch, a)
        rgb = np.minimum(rgb * gain[..., None], a[..., None] * 255.0)
    blended = rgb + patch.astype(np.float32) * (1.0 - a[..., None])
    out[y0 : y0 + h, x0 : x0 + w] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    mask[y0 : y0 + h, x0 : x0 + w] = a >= threshold
    return out, mask
