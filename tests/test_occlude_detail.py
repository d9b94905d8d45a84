"""The fine detail the camera kept on the face (issue 20, ``camera.fine_detail``, ``Camera.detail``)
and the fabric texture's amplitude following it (``PhotoLook.detail``): a camera whose
denoising, compression or blur smooths the skin smooths the fabric too."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.occlude import render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.occlude.camera import (
    DETAIL_GAIN_MAX,
    DETAIL_GAIN_MIN,
    REF_DETAIL,
    detail_gain,
    fine_detail,
    measure_camera,
)
from maskforge.occlude.key import cache_key
from maskforge.occlude.look import DEFAULT_LOOK, PhotoLook
from maskforge.seeding import rng_for

LM = canonical_landmarks(60.0, (128.0, 100.0))


def _skin(amount: float, blur: float = 0.0, seed: int = 0) -> np.ndarray:
    """(256, 256, 3) uint8 face-coloured image with two dark eyes and a fine skin texture of
    standard deviation ``amount`` grey levels (seeded), then blurred by ``blur`` px."""
    img = np.full((256, 256, 3), (196, 150, 126), np.float32)
    for i in (36, 42):
        c = LM[i : i + 6].mean(0)
        cv2.ellipse(img, (int(c[0]), int(c[1])), (11, 5), 0, 0, 360, (60, 40, 35), -1)
    grain = np.random.default_rng(seed).standard_normal((256, 256, 1)).astype(np.float32)
    out = img + grain * np.float32(amount)
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)


def test_fine_detail_zero_on_flat_and_non_negative():
    assert fine_detail(np.full((40, 60), 128.0, np.float32)) == pytest.approx(0.0, abs=1e-6)
    assert fine_detail(np.zeros((0, 0), np.float32)) == 0.0
    assert fine_detail(_luma(_skin(3.0))) > 0.0


def test_fine_detail_grows_with_the_detail_kept():
    """More fine texture reads as more detail; the same face blurred (denoised, compressed)
    reads as less, monotonically in the blur."""
    more = [fine_detail(_luma(_skin(a))) for a in (0.0, 2.0, 4.0, 8.0)]
    assert more == sorted(more) and more[0] < more[-1]
    less = [fine_detail(_luma(_skin(6.0, b))) for b in (0.0, 0.7, 1.2, 2.0)]
    assert less == sorted(less, reverse=True) and less[-1] < less[0]


@given(st.floats(0.0, 50.0), st.floats(0.0, 50.0), st.floats(0.0, 8.0))
def test_detail_gain_monotonic_and_bounded(d1, d2, power):
    lo, hi = sorted((d1, d2))
    g_lo, g_hi = detail_gain(lo, power), detail_gain(hi, power)
    assert DETAIL_GAIN_MIN <= g_lo <= g_hi <= DETAIL_GAIN_MAX
    assert detail_gain(REF_DETAIL, power) == pytest.approx(1.0)
    assert detail_gain(hi, 0.0) == 1.0


def test_measure_camera_reads_the_upper_face_detail():
    """``Camera.detail`` is the fine detail of the upper face: more on a textured face, less
    on the same face blurred; measured again the same."""
    sharp, blurred = measure_camera(_skin(6.0), LM), measure_camera(_skin(6.0, 1.5), LM)
    assert sharp.detail > blurred.detail > 0.0
    assert measure_camera(_skin(6.0), LM).detail == sharp.detail


def test_detail_is_in_the_cache_key():
    assert cache_key(None, PhotoLook(detail=2.0)) != cache_key(None, DEFAULT_LOOK.model_copy(update={"detail": 0.0}))


def _texture_sd(img: np.ndarray, power: float) -> float:
    """Standard deviation of the fabric texture alone (render with it minus without it; no
    camera noise, no per-face spread) where the mask fully covers."""
    look = PhotoLook(noise=0.0, grain_spread=0.0, texture=0.1, detail=power)
    res = render_occluder(img, LM, "surgical-blue", rng_for(0, "t"), look=look)
    flat = render_occluder(img, LM, "surgical-blue", rng_for(0, "t"), look=look.model_copy(update={"texture": 0.0}))
    inside = cv2.erode(res.mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    return float((_luma(res.image) - _luma(flat.image))[inside].std())


def test_texture_follows_the_face_detail():
    """With ``detail`` > 0 the fabric texture's amplitude is scaled by ``detail_gain`` of the
    face's fine detail: stronger on a face that kept more detail than on a smoothed one (each
    against the same face with ``detail`` 0, so the blur, the same for both, cancels)."""
    rich, poor = _skin(12.0), _skin(1.0)
    d_rich, d_poor = measure_camera(rich, LM).detail, measure_camera(poor, LM).detail
    assert d_rich > d_poor
    g_rich = _texture_sd(rich, 2.0) / _texture_sd(rich, 0.0)
    g_poor = _texture_sd(poor, 2.0) / _texture_sd(poor, 0.0)
    assert g_rich > g_poor
    # by the gains' ratio (within the uint8 rounding of a faint texture)
    expected = detail_gain(d_rich, 2.0) / detail_gain(d_poor, 2.0)
    assert expected > 1.5
    assert g_rich / g_poor == pytest.approx(expected, rel=0.2)


def test_detail_seeded_and_deterministic():
    img = _skin(4.0, 0.8)
    look = PhotoLook(detail=2.0)
    a = render_occluder(img, LM, "cloth-black", rng_for(3, "d"), look=look)
    b = render_occluder(img, LM, "cloth-black", rng_for(3, "d"), look=look)
    assert np.array_equal(a.image, b.image)
