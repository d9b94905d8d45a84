"""The photograph's own camera, measured on the face and re-applied to a mask.

:func:`measure_camera` reads, from the visible upper face of one image (brows, eyes and upper
nose: the bounding box of landmarks 17-26 and 36-47, in the image's pixel frame), what the
camera did to it:

- **noise**: sigma (grey levels) of the luminance noise, from the median absolute response of the
  3x3 kernel ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` (robust to the eyes' edges; ``sigma = median / (6 *
  0.6745)``);
- **sharpness**: mean |Laplacian| over mean |gradient| of the luminance (about 1 / the width of
  an edge in px: blur lowers it);
- **JPEG**: blockiness, the mean |step| across the image's 8x8 grid lines over the mean |step|
  elsewhere (1 = no blocking; an aligned crop has no grid and reads ~1), mapped to a quality;
- **colour cast**: the mean colour of the whole image over its grey (grey world), per channel;
- **detail**: the fine detail the camera kept (its denoising, sharpening and compression decide
  how much survives, on the skin and on a fabric alike): the mean |difference of Gaussians of
  sigma 1 and 2 px| of the luminance, grey levels (:func:`fine_detail`).

:func:`apply_camera` then treats the composited mask patch the same way, in this order: blur (the
face's edge blur, estimated from its sharpness), noise (seeded,
only what the mask lacks: ``sqrt(face^2 - mask^2)``), JPEG (the patch re-encoded on the image's
own 8x8 grid at the estimated quality, blended in by the mask's alpha). All randomness comes from
the generator passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..seeding import GRAIN, rng_for

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_UPPER = list(range(17, 27)) + list(range(36, 48))
#: Sharpness of the upper face -> extra Gaussian blur (px) over a typical LFW face, measured by
#: blurring 40 lfw-dev faces by known widths (median sharpness per width; interpolated, clipped).
SHARPNESS_TO_BLUR = ((0.077, 3.0), (0.085, 2.0), (0.092, 1.5), (0.101, 1.0), (0.12, 0.5), (0.132, 0.0))
#: The blur (px) of a typical LFW face itself (lens, demosaicing, JPEG), added in quadrature.
BASE_BLUR = 0.8
#: The blur (px) a warped template already has (bilinear resampling of a 2x supersampled drawing).
OWN_BLUR = 0.5
#: Blockiness from which the image counts as visibly JPEG-compressed, and the quality map:
#: blockiness 1.1 -> quality 92, 1.7 and more -> quality 60 (linear in between; tuned on the
#: tune half of benchmarks/bench_realism.py so the mask's blockiness matches real masks').
BLOCK_START, BLOCK_FULL, Q_HIGH, Q_LOW = 1.1, 1.7, 92, 60

#: Median HSV saturation of the upper face in real masked photos (rwmfd-dev, tune half of
#: benchmarks/bench_realism.py): a face as colourful as this leaves a mask's colours as they are.
REF_SATURATION = 0.26
#: Median mean luminance (grey levels) of the upper face in real masked photos (same photos and
#: box; measured by benchmarks/measure_mask_palette.py --upper): the exposure at which the
#: colours of :data:`.palette.REAL_MASK_COLORS` were photographed.
REF_LUMINANCE = 131.6
#: Median :func:`fine_detail` of the upper face of lfw-dev's faces (the 734 that dlib and MTCNN
#: find in its 737 images; quartiles 4.76 and 6.49): a face with this much fine detail leaves
#: the fabric texture's amplitude as it is.
REF_DETAIL = 5.63
#: Bounds of the fabric texture's gain from the face's fine detail (:func:`detail_gain`).
DETAIL_GAIN_MIN, DETAIL_GAIN_MAX = 0.1, 4.0
#: Grey level added to the local brightness that scales the fabric texture (so a black mask
#: shows some texture; 30-80 were tried on the tune half of bench_realism.py and did not help).
TEXTURE_FLOOR = 8.0


@dataclass(frozen=True)
class Camera:
    """What the camera did to one face: ``noise`` (luminance sigma, grey levels), ``sharpness``
    (mean |Laplacian| / mean |gradient|), ``blur`` (Gaussian sigma, px, of the face's edges),
    ``quality`` (estimated JPEG quality, None when no
    blocking is visible), ``cast`` (3,) per-channel gain of the scene's colour cast (mean 1),
    ``saturation`` the upper face's mean HSV saturation (how colourful the camera renders),
    ``luminance`` the upper face's mean luminance (grey levels 0..255: how it was exposed),
    ``detail`` its fine detail (:func:`fine_detail`, grey levels: how much the camera kept)."""

    noise: float
    sharpness: float
    blur: float
    quality: int | None
    cast: tuple[float, float, float]
    saturation: float = REF_SATURATION
    luminance: float = REF_LUMINANCE
    detail: float = REF_DETAIL


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def noise_sigma(y: np.ndarray, where: np.ndarray | None = None, stride: int = 1) -> float:
    """Robust luminance noise sigma of ``y`` (float32 grey levels), optionally over ``where``;
    ``stride`` > 1 takes the median over every ``stride``-th row of the filter's response only
    (the filter itself still runs on every row: same estimate, fewer values to sort)."""
    conv = np.abs(cv2.filter2D(y, cv2.CV_32F, _IMMERKAER))[1:-1:stride, 1:-1]
    vals = conv.ravel() if where is None else conv[where[1:-1:stride, 1:-1]]
    if vals.size < 16:
        return 0.0
    return _median(vals) / (6.0 * 0.6745)


def _median(vals: np.ndarray) -> float:
    """The median of a flat float32 array, as ``np.median`` gives it (the mean of the two middle
    values for an even count), without its wrapper's overhead."""
    k = vals.size // 2
    if vals.size % 2:
        return float(np.partition(vals, k)[k])
    lo, hi = np.partition(vals, (k - 1, k))[k - 1 : k + 1]
    return float((lo + hi) / np.float32(2.0))


def sharpness(y: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean |Laplacian| over mean |Sobel gradient| of ``y`` (optionally over ``where``)."""
    lap = cv2.Laplacian(y, cv2.CV_32F, ksize=1)
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    grad = cv2.magnitude(gx, gy)
    if where is None:
        n = float(lap.size)
        return (cv2.norm(lap, cv2.NORM_L1) / n + 1e-3) / (cv2.norm(grad, cv2.NORM_L1) / n + 1e-3)
    if not where.any():
        return 0.0
    return (float(np.abs(lap[where]).mean()) + 1e-3) / (float(grad[where].mean()) + 1e-3)


def fine_detail(y: np.ndarray) -> float:
    """Mean |difference of Gaussians of sigma 1 and 2 px| of ``y`` (float32 luminance, grey
    levels): the energy of the finest structure the camera resolved and kept (skin pores,
    lashes, the edges' fine profile), grey levels; 0 for a flat image."""
    if y.size == 0:
        return 0.0
    dog = cv2.subtract(cv2.GaussianBlur(y, (0, 0), 1.0), cv2.GaussianBlur(y, (0, 0), 2.0))
    return float(cv2.norm(dog, cv2.NORM_L1)) / y.size


def detail_gain(detail: float, power: float) -> float:
    """Gain of the fabric texture on a face with ``detail`` (:func:`fine_detail`):
    ``(detail / REF_DETAIL) ** power``, clipped to :data:`DETAIL_GAIN_MIN`..
    :data:`DETAIL_GAIN_MAX` (a camera that keeps the skin's fine detail keeps the fabric's; one
    that smooths it away, by denoising, compression or blur, smooths the fabric too)."""
    if power == 0:
        return 1.0
    ratio = max(detail, 1e-3) / REF_DETAIL
    return min(max(ratio**power, DETAIL_GAIN_MIN), DETAIL_GAIN_MAX)


def blockiness(y: np.ndarray, x0: int, y0: int) -> float:
    """Mean |step| across the 8x8 grid lines over the mean |step| elsewhere; ``(x0, y0)`` is the
    position of ``y``'s first pixel in the image (the grid is the image's)."""
    ratios = []
    # mean |step| per column of horizontal steps, per row of vertical steps (equal counts, so
    # the mean over grid columns is the mean of their means); the steps across grid lines are
    # every 8th, from the first whose image position is 7 mod 8
    for d, off in ((cv2.absdiff(y[:, 1:], y[:, :-1]), x0), (cv2.absdiff(y[1:], y[:-1]).T, y0)):
        prof = cv2.reduce(d, 0, cv2.REDUCE_AVG).ravel()
        on = prof[(7 - off) % 8 :: 8]
        n_off = len(prof) - len(on)
        if not len(on) or not n_off:
            continue
        total, grid = float(prof.sum()), float(on.sum())
        ratios.append((grid / len(on) + 0.5) / ((total - grid) / n_off + 0.5))
    return sum(ratios) / len(ratios) if ratios else 1.0


def blur_from_sharpness(sharp: float) -> float:
    """Gaussian sigma (px) of a face's edges from its :func:`sharpness` (see
    :data:`SHARPNESS_TO_BLUR`, :data:`BASE_BLUR`)."""
    xs, ys = zip(*SHARPNESS_TO_BLUR, strict=True)
    extra = float(np.interp(sharp, xs, ys))
    return math.hypot(extra, BASE_BLUR)


def quality_from_blockiness(block: float) -> int | None:
    """Estimated JPEG quality from :func:`blockiness` (None: no visible blocking)."""
    if block < BLOCK_START:
        return None
    t = min((block - BLOCK_START) / (BLOCK_FULL - BLOCK_START), 1.0)
    return int(round(Q_HIGH + t * (Q_LOW - Q_HIGH)))


def measure_camera(image: np.ndarray, landmarks: np.ndarray) -> Camera:
    """:class:`Camera` of the face with 68 ``landmarks`` (px, frame of ``image``, RGB uint8)."""
    h, w = image.shape[:2]
    pts = np.asarray(landmarks, np.float64)[_UPPER]
    x0, y0 = (max(int(v), 0) for v in np.floor(pts.min(0)))
    x1, y1 = min(int(math.ceil(pts[:, 0].max())) + 1, w), min(int(math.ceil(pts[:, 1].max())) + 1, h)
    mean = np.asarray(cv2.mean(image)[:3], np.float64)
    cast = mean / max(float(mean.mean()), 1.0)
    cast_t = (float(cast[0]), float(cast[1]), float(cast[2]))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return Camera(0.0, 1.0, BASE_BLUR, None, cast_t)
    box = np.ascontiguousarray(image[y0:y1, x0:x1])
    y = _luma(box)
    sharp = sharpness(y)
    hsv_s = cv2.cvtColor(box, cv2.COLOR_RGB2HSV)[..., 1]
    return Camera(
        noise=noise_sigma(y),
        sharpness=sharp,
        blur=blur_from_sharpness(sharp),
        quality=quality_from_blockiness(blockiness(y, x0, y0)),
        cast=cast_t,
        saturation=float(cv2.mean(hsv_s)[0]) / 255.0,
        luminance=float(cv2.mean(y)[0]),
        detail=fine_detail(y),
    )


def match_blur(occ: np.ndarray, cam: Camera) -> np.ndarray:
    """``occ`` (h, w, 4) premultiplied float32 RGBA blurred to the face's own edge blur (the
    Gaussian that brings :data:`OWN_BLUR` up to ``cam.blur``): never crisper than the eyes."""
    sigma = math.sqrt(max(cam.blur**2 - OWN_BLUR**2, 0.0))
    if sigma < 0.2:
        return occ
    return cv2.GaussianBlur(occ, (0, 0), sigma)


#: Side (px) of the noise tiles (:func:`noise_tiles`) a mask's noise and texture are cut from.
NOISE_TILE = 512
#: Range (px) of the Gaussian scale of the fabric texture as photographed (:func:`weave_scale`),
#: and the step its tiles are made at (:func:`weave_tile`).
WEAVE_MIN, WEAVE_MAX, WEAVE_STEP = 0.5, 4.0, 0.25


@lru_cache(maxsize=1)
def noise_tiles() -> np.ndarray:
    """(2, T, T) float32 tiles (T = :data:`NOISE_TILE`) of standard normal noise, made once per
    process from the fixed :data:`maskforge.seeding.GRAIN` stream: the camera's noise, and the
    base of the fabric texture (:func:`weave_tile`). A face's noise is a window of them at
    offsets drawn from its own generator (:func:`noise_windows`): drawing fresh normals for every
    face cost more than the rest of the noise step."""
    n = rng_for(0, GRAIN).standard_normal((2, NOISE_TILE, NOISE_TILE), dtype=np.float32)
    n.setflags(write=False)
    return n


def weave_scale(weave_px: float, blur: float) -> tuple[float, float]:
    """(sigma, gain) of a fabric texture whose grain is a Gaussian of ``weave_px`` px on the face
    photographed with edge blur ``blur`` (px, :attr:`Camera.blur`): the camera blurs the fabric
    as it blurs the eyes, so the texture is seen at ``sigma = hypot(weave_px, blur)`` (rounded to
    :data:`WEAVE_STEP`, clipped to :data:`WEAVE_MIN`..:data:`WEAVE_MAX`) with its contrast
    lowered by ``gain = weave_px / hypot(weave_px, blur)`` (a weave finer than the blur is
    averaged away, as on a small or blurred face)."""
    total = math.hypot(weave_px, blur)
    if total <= 0:
        return WEAVE_MIN, 0.0
    sigma = min(max(round(total / WEAVE_STEP) * WEAVE_STEP, WEAVE_MIN), WEAVE_MAX)
    return sigma, weave_px / total


@lru_cache(maxsize=16)
def weave_tile(sigma: float) -> np.ndarray:
    """(T, T) float32 fabric texture at Gaussian scale ``sigma`` px (a :func:`weave_scale`
    value): the second of :func:`noise_tiles` low-passed by ``sigma`` and brought to unit
    standard deviation. Made once per process and scale (read-only)."""
    t = cv2.GaussianBlur(noise_tiles()[1], (0, 0), sigma)
    t *= np.float32(1.0 / max(float(t.std()), 1e-6))
    t.setflags(write=False)
    return t


def noise_windows(
    h: int, w: int, rng: np.random.Generator, sigma: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(white, weave): (h, w) float32 windows of the camera noise tile and of the fabric texture
    at scale ``sigma`` (:func:`weave_tile`), at one offset drawn from ``rng`` (the tiles repeat
    periodically for a patch larger than a tile)."""
    white, weave = noise_tiles()[0], weave_tile(sigma)
    t = NOISE_TILE
    if h > t or w > t:
        reps = (-(-h // t) + 1, -(-w // t) + 1)
        white, weave = np.tile(white, reps), np.tile(weave, reps)
    oy, ox = (int(v) for v in rng.integers(0, (white.shape[0] - h + 1, white.shape[1] - w + 1)))
    return white[oy : oy + h, ox : ox + w], weave[oy : oy + h, ox : ox + w]


def add_noise(
    patch: np.ndarray,
    alpha: np.ndarray,
    cam: Camera,
    rng: np.random.Generator,
    texture: float = 0.0,
    level: float = 1.0,
    weave_px: float = 1.0,
) -> np.ndarray:
    """``patch`` (h, w, 3) float32 0..255 (composited) with, under ``alpha`` (h, w): the
    luminance noise the mask lacks to reach ``level`` times the face's (seeded Gaussian of sigma
    ``sqrt((level * face)^2 - mask^2)``: never on top of the noise the mask has; the mask's own
    noise is read on every other row) and a fabric texture (grain of ``weave_px`` px, seen
    through the face's blur, :func:`weave_scale`; standard deviation ``texture`` times the
    local brightness plus :data:`TEXTURE_FLOOR` before that blur), the same in the three
    channels. Both are windows of the tiles (:func:`noise_windows`) placed by ``rng``."""
    inside = alpha > 0.98
    if not inside.any():
        return patch
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    own = noise_sigma(grey, inside, stride=2)
    sigma = math.sqrt(max((level * cam.noise) ** 2 - own**2, 0.0))
    if sigma < 0.3 and texture <= 0:
        return patch
    scale, gain = weave_scale(weave_px, cam.blur)
    white, weave = noise_windows(alpha.shape[0], alpha.shape[1], rng, scale)
    lum = cv2.multiply(white, alpha, scale=sigma)
    if texture > 0 and gain > 0:
        tex = cv2.multiply(grey + TEXTURE_FLOOR, alpha, scale=texture * gain)
        lum = cv2.add(lum, cv2.multiply(weave, tex))
    return cv2.add(patch, cv2.merge((lum, lum, lum)))


def reapply_jpeg(out: np.ndarray, alpha: np.ndarray, x0: int, y0: int, quality: int) -> None:
    """Re-encode the pixels of ``out`` (the whole uint8 RGB image) under ``alpha`` (the patch at
    ``(x0, y0)``) at ``quality`` on the image's own 8x8 grid, and blend them in by alpha (in
    place)."""
    h, w = alpha.shape
    H, W = out.shape[:2]
    gx0, gy0 = x0 - x0 % 8, y0 - y0 % 8
    gx1, gy1 = min(-(-(x0 + w) // 8) * 8, W), min(-(-(y0 + h) // 8) * 8, H)
    block = np.ascontiguousarray(out[gy0:gy1, gx0:gx1])
    ok, buf = cv2.imencode(".jpg", block, (cv2.IMWRITE_JPEG_QUALITY, int(quality)))
    if not ok:
        return
    jpg = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if jpg is None or jpg.shape != block.shape:
        return
    sub = jpg[y0 - gy0 : y0 - gy0 + h, x0 - gx0 : x0 - gx0 + w]
    dst = out[y0 : y0 + h, x0 : x0 + w]
    step = cv2.multiply(cv2.subtract(sub, dst, dtype=cv2.CV_32F), cv2.merge((alpha, alpha, alpha)))
    dst[...] = cv2.add(step, dst, dtype=cv2.CV_8U)  # dst + alpha * (jpeg - dst), rounded
