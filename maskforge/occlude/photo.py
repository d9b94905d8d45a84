"""Compositing a warped mask so that it looks photographed with the face (:class:`PhotoLook`).

:func:`composite_photo` is the ``match_photo`` counterpart of :func:`.composite.composite`. On
the occluder's bounding box (plus room under it for the contact shadow), in this order:

1. **blur**: the occluder is blurred until it is no crisper than the eyes (:mod:`.camera`);
2. **colour**: its colour is multiplied by the scene's cast (grey world of the image) to the
   power ``look.color_cast``, at constant luminance, and its chroma scaled with how colourful
   the camera renders the face (``look.saturation``); then its mean luminance is set to the
   colour's as real masks photograph (:mod:`.palette`; the drawing's shading keeps its relative
   folds but no longer lifts a black mask to grey) times the face's exposure against real
   masked photos', ``(upper-face luminance / camera.REF_LUMINANCE) ** look.exposure``, with a
   seeded per-face spread ``look.luminance_spread``;
3. **light**: multiplied by the covered skin's low-frequency luminance relative to its mean
   (:func:`.composite.luminance_gain`, exponent ``look.shading``, clipped to 0.5..1.45): the
   shadow side of the face darkens the mask on that side, the lit cheek brightens it; and
   light from above (``look.overhead``): the mask's lower part, turned down, is darker;
4. **contact shadow** under the lower edge: the alpha shifted down by 0.04 IOD and blurred over
   0.03 IOD darkens the skin there by up to ``look.lower_shadow``;
5. composite with premultiplied alpha, then **noise** up to ``look.noise`` times the face's
   (seeded, only what the mask lacks; per face scaled, with the fabric texture, by a seeded
   log-normal grain of spread ``look.grain_spread``: smooth and grainy masks, as real ones are)
   and the face's **JPEG** quality re-applied on the image's 8x8 grid under the mask.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .camera import (
    REF_LUMINANCE,
    REF_SATURATION,
    Camera,
    add_noise,
    detail_gain,
    match_blur,
    reapply_jpeg,
)
from .composite import ALPHA_FLOOR, MASK_THRESHOLD, luminance_gain
from .look import PhotoLook

#: Alpha at which the blurred edge starts (re-ramped to 0..1 from there).
FADE = 0.12
#: Alpha under which noise and JPEG are not re-applied (the mask's faint anti-aliased fringe).
FX_FLOOR = 0.2
#: Luma weights (RGB) used to keep a colour cast from changing brightness.
_LUMA = (0.299, 0.587, 0.114)


def _cast(cam: Camera, look: PhotoLook) -> list[float]:
    """Per-channel RGB gains of the scene's colour cast (grey world of the image) to the power
    ``look.color_cast``, at constant luminance (plain floats: numpy is slower on three)."""
    c = [min(max(v, 0.5), 2.0) ** look.color_cast for v in cam.cast]
    luma = sum(ci * li for ci, li in zip(c, _LUMA, strict=True))
    return [ci / luma for ci in c]


def _recolor(occ: np.ndarray, cam: Camera, look: PhotoLook) -> np.ndarray:
    """(h, w, 3) premultiplied RGB of ``occ`` (h, w, 4) in the scene's colour: :func:`_cast`,
    then the chroma scaled by (the face's saturation over :data:`.camera.REF_SATURATION`) **
    ``look.saturation`` (clipped 0.6..1.6: a camera that renders the face colourful renders the
    mask colourful too), at constant luminance."""
    gains = (*_cast(cam, look), 0.0)  # a scalar per channel
    rgb = cv2.multiply(cv2.cvtColor(occ, cv2.COLOR_RGBA2RGB), gains)  # type: ignore[call-overload]
    g = min(max((cam.saturation / REF_SATURATION) ** look.saturation, 0.6), 1.6)
    if abs(g - 1.0) < 1e-3:
        return rgb
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # the weights of _LUMA
    return cv2.addWeighted(rgb, g, cv2.merge((y, y, y)), 1.0 - g, 0.0)


def _exposure(sums: tuple[float, ...], cast: list[float], cam: Camera, look: PhotoLook,
              color_luma: float | None, z: float) -> float:
    """Gain that brings the mean luminance of the mask (``sums``: the sums of its premultiplied
    RGBA channels, in the scene's colour ``cast``; the saturation step keeps luminance) to
    ``color_luma`` (the colour's luminance as real masks photograph, 0..255; None: the
    drawing's own mean) plus ``look.luminance_spread * z`` times :data:`.camera.REF_LUMINANCE`
    (a spread in grey levels: a dark mask varies more, relative to its own luminance, than a
    white one), times the face's exposure, ``(cam.luminance / REF_LUMINANCE) ** look.exposure``."""
    total = float(sums[3])
    if total < 1.0:
        return 1.0
    mean = 255.0 * sum(li * ci * v for li, ci, v in zip(_LUMA, cast, sums[:3], strict=True)) / total
    base = mean if color_luma is None else color_luma
    face = max(cam.luminance, 1.0) / REF_LUMINANCE
    own = max(base + look.luminance_spread * z * REF_LUMINANCE, 0.25 * base, 2.0)
    target = own * face**look.exposure
    return min(max(target / max(mean, 1.0), 0.2), 5.0)


@lru_cache(maxsize=256)
def _overhead(h: int, strength: float) -> np.ndarray:
    """(h, 1) float32 gain of light from above: ``exp(strength * (0.5 - t))``, t from 0 at the
    patch's top row to 1 at its bottom (the mask's lower part turns down, away from the light).
    Cached per height (read-only)."""
    t = np.linspace(0.0, 1.0, max(h, 1), dtype=np.float32)[:, None]
    out = np.exp(np.float32(strength) * (0.5 - t)).astype(np.float32)
    out.setflags(write=False)
    return out


def _pad_below(occ: np.ndarray, y0: int, pad: int, height: int) -> np.ndarray:
    """``occ`` with ``pad`` transparent rows added below (clipped to the image ``height``)."""
    pad = max(min(pad, height - (y0 + occ.shape[0])), 0)
    if pad == 0:
        return occ
    return cv2.copyMakeBorder(occ, 0, pad, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0, 0))


def lower_shadow(alpha: np.ndarray, iod: float, strength: float) -> np.ndarray:
    """(h, w) float32 opacity of the shadow under the lower edge (0 under the mask itself and
    above it: only rows at or below the mask's top in each column are darkened)."""
    shift = max(int(round(0.04 * iod)), 1)
    moved = np.zeros_like(alpha)
    moved[shift:] = alpha[:-shift]
    soft = cv2.GaussianBlur(moved, (0, 0), max(0.03 * iod, 0.5))
    under = np.maximum.accumulate(alpha, axis=0)  # at or below the mask in its column
    return (np.float32(strength) * soft * (1.0 - alpha) * under).astype(np.float32)


def composite_photo(
    image: np.ndarray,
    occ: np.ndarray,
    x0: int,
    y0: int,
    *,
    cam: Camera,
    look: PhotoLook,
    iod: float,
    rng: np.random.Generator,
    color_luma: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Composite premultiplied ``occ`` (h, w, 4) float32 0..1 at ``(x0, y0)`` of ``image`` (RGB
    uint8) with the photographic look (module doc); ``cam``: what the camera did to the face
    (:func:`.camera.measure_camera`); ``iod``: the face's inter-ocular distance (px);
    ``color_luma``: the luminance (0..255) of the mask's colour as photographed (None: the
    drawing's own). Per face, two standard normal draws from ``rng`` (grain, luminance) set where
    this mask falls in the spreads of ``look``. Returns ``(out, mask)`` like
    :func:`.composite.composite`; ``image`` is not modified."""
    z_grain, z_lum = (float(v) for v in rng.standard_normal(2))
    out = image.copy()
    mask = np.zeros(image.shape[:2], bool)
    h0 = occ.shape[0]  # the rows the mask covers (below them: room for its shadow only)
    if look.lower_shadow > 0:
        occ = _pad_below(occ, y0, int(0.12 * iod) + 2, image.shape[0])
    # blurring softens edges inwards only: no pixel the sharp occluder left alone changes
    keep = cv2.threshold(cv2.extractChannel(occ, 3), ALPHA_FLOOR, 1.0, cv2.THRESH_BINARY)[1]
    occ = match_blur(occ, cam)
    h, w = occ.shape[:2]
    patch = out[y0 : y0 + h, x0 : x0 + w]
    alpha = cv2.extractChannel(occ, 3)
    # the blurred edge is re-ramped to start at FADE: the faint tail the blur spreads (and the
    # colour, noise and JPEG changes it would carry) stays off the skin next to the eyes
    a = cv2.multiply(np.maximum(alpha - FADE, 0.0), keep, scale=1.0 / (1.0 - FADE))
    gain = luminance_gain(patch, a, strength=look.shading, lo=0.5, hi=1.45)
    if look.overhead > 0:
        gain *= _overhead(h, look.overhead)
    expo = _exposure(cv2.sumElems(occ), _cast(cam, look), cam, look, color_luma, z_lum)
    scale = cv2.multiply(gain, keep, scale=255.0 * expo)
    rgb = cv2.multiply(_recolor(occ, cam, look), cv2.merge((scale, scale, scale)))
    a3 = cv2.merge((a, a, a))
    cv2.min(rgb, a3 * 255.0, dst=rgb)
    # the skin under the mask's edge and beside it, darkened by the contact shadow
    skin = 1.0 - a
    if look.lower_shadow > 0:
        skin *= 1.0 - lower_shadow(a, iod, look.lower_shadow)
    rgb = cv2.add(rgb, cv2.multiply(patch, cv2.merge((skin, skin, skin)), dtype=cv2.CV_32F))
    # noise and JPEG only where the mask is clearly there: its faint outer fringe (alpha under
    # FX_FLOOR) keeps the flat look's values, so no pixel beyond the sharp mask's reach changes
    fx = cv2.threshold(a, FX_FLOOR, 1.0, cv2.THRESH_TOZERO)[1]
    grain = float(np.exp(look.grain_spread * z_grain))
    fx = fx[:h0]  # none in the shadow's rows
    tex = look.texture * grain * detail_gain(cam.detail, look.detail)
    rgb[:h0] = add_noise(rgb[:h0], fx, cam, rng, tex, look.noise * grain, look.weave * iod)
    # rounded and saturated to uint8
    patch[...] = cv2.add(rgb, 0.0, dtype=cv2.CV_8U)  # type: ignore[call-overload]
    if cam.quality is not None:
        reapply_jpeg(out, fx, x0, y0, cam.quality)
    mask[y0 : y0 + h, x0 : x0 + w] = a >= MASK_THRESHOLD
    return out, mask
