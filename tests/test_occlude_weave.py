"""The fabric texture's grain (issue 20, ``PhotoLook.weave``): a property of the fabric, sized
with the face and seen through the camera's blur, so it is never crisper than the eyes; and the
mask's saturation following the scene's (``PhotoLook.saturation``)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.occlude import render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.occlude.camera import (
    WEAVE_MAX,
    WEAVE_MIN,
    noise_tiles,
    sharpness,
    weave_scale,
    weave_tile,
)
from maskforge.occlude.key import cache_key
from maskforge.occlude.look import DEFAULT_LOOK, PhotoLook
from maskforge.seeding import rng_for

LM = canonical_landmarks(60.0, (128.0, 100.0))

_px = st.floats(0.0, 8.0, allow_nan=False)
_blur = st.floats(0.8, 4.0, allow_nan=False)


@given(_px, _blur)
def test_weave_scale_never_finer_than_the_blur(weave_px, blur):
    """The texture is seen at the weave's scale and the face's blur combined (never finer than
    either, within the tile step and range), with its contrast lowered, never raised."""
    sigma, gain = weave_scale(weave_px, blur)
    assert WEAVE_MIN <= sigma <= WEAVE_MAX
    assert sigma >= min(blur, WEAVE_MAX) - 0.125 - 1e-9
    assert sigma >= min(weave_px, WEAVE_MAX) - 0.125 - 1e-9
    assert 0.0 <= gain <= 1.0
    assert gain == pytest.approx(weave_px / math.hypot(weave_px, blur))


@given(_px, _blur, st.floats(0.1, 3.0))
def test_weave_scale_monotonic(weave_px, blur, more):
    """A blurrier face averages a weave more (coarser, fainter); a larger weave (a larger face)
    is coarser and keeps more of its contrast."""
    s0, g0 = weave_scale(weave_px, blur)
    s1, g1 = weave_scale(weave_px, blur + more)
    assert s1 >= s0 and g1 <= g0
    s2, g2 = weave_scale(weave_px + more, blur)
    assert s2 >= s0 and g2 >= g0


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_weave_tile_unit_and_deterministic(sigma):
    """Each scale's tile has unit standard deviation, is made again the same (cache cleared),
    and is read-only."""
    t = weave_tile(sigma)
    assert t.shape == noise_tiles().shape[1:] and t.dtype == np.float32
    assert float(t.std()) == pytest.approx(1.0, rel=1e-3)
    assert not t.flags.writeable
    weave_tile.cache_clear()
    assert np.array_equal(weave_tile(sigma), t)


def test_weave_tile_coarser_with_scale():
    s = [sharpness(weave_tile(v)) for v in (0.5, 1.0, 2.0, 3.0)]
    assert s == sorted(s, reverse=True)


def _face(blur: float) -> np.ndarray:
    img = np.full((256, 256, 3), (196, 150, 126), np.float32)
    for i in (36, 42):
        c = LM[i : i + 6].mean(0)
        cv2.ellipse(img, (int(c[0]), int(c[1])), (11, 5), 0, 0, 360, (60, 40, 35), -1)
    out = cv2.GaussianBlur(img, (0, 0), blur) if blur else img
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _texture(img: np.ndarray, weave: float) -> tuple[np.ndarray, np.ndarray]:
    """The fabric texture alone (render with it minus the same render without it; no camera
    noise, no per-face spread) and where the mask fully covers."""
    look = PhotoLook(noise=0.0, grain_spread=0.0, texture=0.1, weave=weave)
    res = render_occluder(img, LM, "surgical-blue", rng_for(0, "w"), look=look)
    flat = render_occluder(img, LM, "surgical-blue", rng_for(0, "w"), look=look.model_copy(update={"texture": 0.0}))
    inside = cv2.erode(res.mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    d = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    d -= cv2.cvtColor(flat.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return d, inside


def test_texture_never_crisper_than_the_eyes():
    """On a blurred face the fabric texture is blurred as the eyes are: coarser (lower sharpness)
    and fainter than on a sharp face, for the same weave and seed."""
    d_sharp, in_sharp = _texture(_face(0.0), DEFAULT_LOOK.weave)
    d_blur, in_blur = _texture(_face(2.5), DEFAULT_LOOK.weave)
    inside = in_sharp & in_blur
    assert d_sharp[inside].std() > 1.0  # the texture is there
    assert sharpness(d_blur, inside) < sharpness(d_sharp, inside)
    assert d_blur[inside].std() < d_sharp[inside].std()


def test_texture_grain_follows_the_weave():
    """A larger ``weave`` (a coarser fabric, or the same fabric on a larger face) gives a
    coarser texture on the same face."""
    img = _face(0.0)
    fine, inside = _texture(img, 0.01)
    coarse, _ = _texture(img, 0.05)
    assert sharpness(coarse, inside) < sharpness(fine, inside)


def test_weave_is_in_the_cache_key():
    assert cache_key(None, PhotoLook(weave=0.05)) != cache_key(None, DEFAULT_LOOK)


def test_weave_seeded_and_deterministic():
    img = _face(1.0)
    a = render_occluder(img, LM, "cloth-black", rng_for(3, "d"))
    weave_tile.cache_clear()
    b = render_occluder(img, LM, "cloth-black", rng_for(3, "d"))
    assert np.array_equal(a.image, b.image)


def _chroma_gain(face_sat: float, look: PhotoLook) -> float:
    """The mask's chroma (max - min of RGB) after :func:`photo._recolor` for a face of HSV
    saturation ``face_sat``, over the same colour's before (no colour cast)."""
    from maskforge.occlude.camera import Camera
    from maskforge.occlude.photo import _recolor

    rgb = np.array([0.30, 0.55, 0.80], np.float32)  # a blue, premultiplied at alpha 0.9
    occ = np.empty((4, 4, 4), np.float32)
    occ[..., :3], occ[..., 3] = rgb * 0.9, 0.9
    cam = Camera(1.0, 0.1, 1.0, None, (1.0, 1.0, 1.0), saturation=face_sat)
    out = _recolor(occ, cam, look)[0, 0]
    return float((out.max() - out.min()) / (0.9 * (rgb.max() - rgb.min())))


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 2.0))
def test_saturation_gain_follows_the_scene_and_is_bounded(s1, s2, strength):
    """The mask's chroma follows how colourfully the camera renders the face (``saturation``):
    never less for a more colourful face, always within 0.6-1.6 of the colour's own, and the
    colour as given at the reference saturation or with ``saturation`` 0."""
    from maskforge.occlude.camera import REF_SATURATION

    look = PhotoLook(saturation=strength, color_cast=0.0)
    lo, hi = sorted((s1, s2))
    g_lo, g_hi = _chroma_gain(lo, look), _chroma_gain(hi, look)
    assert g_lo <= g_hi + 1e-4
    assert 0.6 - 1e-4 <= g_lo and g_hi <= 1.6 + 1e-4
    assert _chroma_gain(REF_SATURATION, look) == pytest.approx(1.0, abs=1e-4)
    assert _chroma_gain(hi, look.model_copy(update={"saturation": 0.0})) == pytest.approx(1.0, abs=1e-4)
