"""The photographic look (issue 20): masks take the face's light, colour cast, blur, noise and JPEG.

Synthetic faces: the canonical landmarks on a smooth skin-coloured image, so each camera property
can be set exactly; real LFW faces where the point is the photo itself.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from maskforge.occlude import render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.occlude.camera import (
    blockiness,
    measure_camera,
    noise_sigma,
    quality_from_blockiness,
    sharpness,
)
from maskforge.occlude.look import DEFAULT_LOOK, FLAT_LOOK, PhotoLook
from maskforge.seeding import rng_for

LM = canonical_landmarks(60.0, (128.0, 100.0))


def _face(noise: float = 0.0, blur: float = 0.0, gradient: float = 0.0, seed: int = 0) -> np.ndarray:
    """A 256 px skin-toned image with eyes and brows (so the upper face has edges), a
    left-to-right luminance gradient of ``gradient`` (fraction), blur and noise."""
    img = np.full((256, 256, 3), (196, 150, 126), np.float32)
    for i in (36, 42):
        c = LM[i : i + 6].mean(0)
        cv2.ellipse(img, (int(c[0]), int(c[1])), (11, 5), 0, 0, 360, (60, 40, 35), -1)
    for a, b in ((17, 21), (22, 26)):
        cv2.line(img, tuple(int(v) for v in LM[a]), tuple(int(v) for v in LM[b]), (70, 50, 40), 4)
    ramp = 1.0 + gradient * (np.linspace(-1, 1, 256)[None, :, None])
    img = img * ramp
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    if noise:
        img = img + np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _inside(res, erode: int = 6) -> np.ndarray:
    return cv2.erode(res.mask.astype(np.uint8), np.ones((erode, erode), np.uint8)).astype(bool)


def test_look_defaults_written_once():
    assert PhotoLook() == DEFAULT_LOOK
    assert DEFAULT_LOOK.match_photo and not FLAT_LOOK.match_photo


@pytest.mark.parametrize("sigma", [2.0, 5.0, 9.0])
def test_noise_estimate(sigma):
    rng = np.random.default_rng(1)
    y = np.float32(120) + rng.normal(0, sigma, (80, 80)).astype(np.float32)
    assert noise_sigma(y) == pytest.approx(sigma, rel=0.15)


def test_sharpness_falls_with_blur():
    y = _face()[..., 1].astype(np.float32)
    s = [sharpness(cv2.GaussianBlur(y, (0, 0), b) if b else y) for b in (0, 1, 2)]
    assert s[0] > s[1] > s[2]


def test_jpeg_quality_estimate():
    img = _face(noise=3.0)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=25)
    jpg = np.asarray(Image.open(buf))
    y = cv2.cvtColor(jpg, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert blockiness(y, 0, 0) > 1.1
    assert quality_from_blockiness(blockiness(y, 0, 0)) is not None
    assert measure_camera(img, LM).quality is None  # not compressed: no JPEG re-applied


def test_mask_never_crisper_than_the_eyes():
    img = _face(blur=2.0)  # no noise: the face's sharpness is its blur alone
    cam = measure_camera(img, LM)
    flat = render_occluder(img, LM, "surgical-blue", rng_for(0, "a"), look=FLAT_LOOK)
    res = render_occluder(img, LM, "surgical-blue", rng_for(0, "a"))
    inside = _inside(res)
    y_flat = cv2.cvtColor(flat.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    y_new = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert sharpness(y_new, inside) < sharpness(y_flat, inside)
    sharp = measure_camera(_face(), LM)
    assert cam.blur > sharp.blur + 0.8  # the blurred face is seen as blurred...
    crisp = render_occluder(_face(), LM, "surgical-blue", rng_for(0, "a"))
    y_crisp = cv2.cvtColor(crisp.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert sharpness(y_new, inside) < sharpness(y_crisp, inside)  # ...and so is its mask


def _mask_noise(img: np.ndarray, look: PhotoLook, seed: int = 0, spec: str = "cloth-black") -> float:
    res = render_occluder(img, LM, spec, rng_for(seed, "b"), look=look)
    y = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return noise_sigma(y, _inside(res))


@pytest.mark.parametrize("level", [0.5, 1.0])
def test_noise_carried_over_the_mask(level):
    """The mask's noise is ``look.noise`` times the face's (was: always 0.8 x what the mask
    lacks of the face's; the level is now an option and spread per face, see below)."""
    img = _face(noise=6.0)
    face_noise = measure_camera(img, LM).noise
    assert _mask_noise(img, FLAT_LOOK) < 0.5 * face_noise
    look = PhotoLook(noise=level, grain_spread=0.0)
    assert _mask_noise(img, look) == pytest.approx(level * face_noise, rel=0.3)


def test_noise_not_added_on_top_of_the_masks_own():
    """Noise is added only up to the level: a face no noisier than the mask adds none."""
    img = _face(noise=0.0)
    plain = PhotoLook(noise=1.0, grain_spread=0.0, texture=0.0)
    assert _mask_noise(img, plain) == pytest.approx(_mask_noise(img, plain.model_copy(update={"noise": 0.0})), abs=0.05)


def test_grain_spread_per_face():
    """``grain_spread``: masks are smoother or grainier than the face from one face to the next
    (seeded), around ``look.noise``; without it every face gets the same level."""
    img = _face(noise=6.0)
    face_noise = measure_camera(img, LM).noise
    spread = [math.log(_mask_noise(img, DEFAULT_LOOK, seed) / face_noise) for seed in range(8)]
    same = [math.log(_mask_noise(img, PhotoLook(grain_spread=0.0), seed) / face_noise) for seed in range(8)]
    assert DEFAULT_LOOK.grain_spread > 0
    assert np.std(spread) > 0.3 > 0.1 > np.std(same)
    assert abs(np.median(spread) - math.log(DEFAULT_LOOK.noise)) < 0.5


def _mask_luma(img: np.ndarray, spec: str, look: PhotoLook, seed: int = 0) -> float:
    res = render_occluder(img, LM, spec, rng_for(seed, "l"), look=look)
    y = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(y[_inside(res)].mean())


@pytest.mark.parametrize("spec", ["cloth-black", "n95", "surgical-blue"])
def test_mask_luminance_is_the_colour_as_photographed(spec):
    """A mask's mean luminance is its colour's (the colours are as real masks photograph: a
    black cloth mask is as dark as #272627, whatever the drawing's shading), scaled by the face's
    exposure against real masked photos' (``look.exposure``)."""
    from maskforge.occlude.camera import REF_LUMINANCE
    from maskforge.occlude.palette import PRESETS, parse_color

    r, g, b = parse_color(PRESETS[spec][1] or "")
    colour = 0.299 * r + 0.587 * g + 0.114 * b
    look = PhotoLook(luminance_spread=0.0, grain_spread=0.0)
    bright, dark = _face(), (_face().astype(np.float32) * 0.6).astype(np.uint8)
    for img in (bright, dark):
        expo = (measure_camera(img, LM).luminance / REF_LUMINANCE) ** look.exposure
        assert _mask_luma(img, spec, look) == pytest.approx(min(colour * expo, 250.0), rel=0.12)
    flat = render_occluder(bright, LM, spec, rng_for(0, "l"), look=FLAT_LOOK)
    if spec == "cloth-black":  # the drawing alone lifts black to ~70 grey levels
        y = cv2.cvtColor(flat.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        assert y[_inside(flat)].mean() > colour + 20


def test_luminance_spread_per_face():
    """``luminance_spread``: masks of one colour photograph lighter or darker from face to face
    (seeded), by about that share of a real face's luminance."""
    from maskforge.occlude.camera import REF_LUMINANCE

    img = _face()
    look = PhotoLook(luminance_spread=0.1, grain_spread=0.0)
    lum = [_mask_luma(img, "surgical-blue", look, seed) for seed in range(10)]
    none = [_mask_luma(img, "surgical-blue", PhotoLook(luminance_spread=0.0, grain_spread=0.0), s) for s in range(10)]
    expo = (measure_camera(img, LM).luminance / REF_LUMINANCE) ** look.exposure
    assert np.std(none) < 1.0
    assert 0.5 < np.std(lum) / (0.1 * REF_LUMINANCE * expo) < 1.6


def test_shading_follows_the_light():
    """A face lit from the image's right: the mask is brighter on that side, about as much as the
    skin it covers (and more than the old look's damped shading)."""
    img = _face(gradient=0.3)

    def ratio(image, inside):
        y = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        right = np.arange(256)[None, :] >= np.median(np.nonzero(inside)[1])
        return y[inside & right].mean() / y[inside & ~right].mean()

    # without the seeded grain: at this light its noise moves the ratio by about +-0.003, the
    # margin over the old look's shading
    quiet = PhotoLook(noise=0.0, texture=0.0)
    res = render_occluder(img, LM, "surgical+#808080", rng_for(0, "c"), look=quiet)
    old = render_occluder(img, LM, "surgical+#808080", rng_for(0, "c"), look=FLAT_LOOK)
    inside = _inside(res) & _inside(old)  # the mask in both (the flat look draws no ear loops)
    skin = ratio(img, inside)
    assert skin > 1.1
    assert ratio(res.image, inside) > max(ratio(old.image, inside), 1 + 0.6 * (skin - 1))


def test_light_from_above():
    """``overhead``: on an evenly lit face the mask's upper half is brighter than its lower half,
    by about the option's step; without it, about as bright."""

    def top_over_bottom(look):
        res = render_occluder(_face(), LM, "surgical+#808080", rng_for(0, "o"), look=look)
        inside = _inside(res)
        y = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        rows = np.nonzero(inside.any(1))[0]
        mid = (rows.min() + rows.max()) / 2
        upper = np.arange(256)[:, None] < mid
        return y[inside & upper].mean() / y[inside & ~upper].mean()

    plain = PhotoLook(overhead=0.0, grain_spread=0.0)
    assert DEFAULT_LOOK.overhead > 0
    assert abs(top_over_bottom(plain) - 1.0) < 0.04
    lit = top_over_bottom(plain.model_copy(update={"overhead": 0.3}))
    assert lit > top_over_bottom(plain) + 0.1
    assert math.log(lit) == pytest.approx(0.3 / 2, rel=0.5)  # half-means differ by ~half the step


def test_contact_shadow_under_the_lower_edge():
    img = _face()
    res = render_occluder(img, LM, "surgical-white", rng_for(0, "d"))
    no = render_occluder(img, LM, "surgical-white", rng_for(0, "d"),
                         look=PhotoLook(lower_shadow=0.0))  # fmt: skip
    cols = np.nonzero(res.mask.any(0))[0]
    x = int(np.median(cols))
    bottom = int(np.nonzero(res.mask[:, x])[0].max())
    below = slice(bottom + 2, bottom + 6)
    assert res.image[below, x].astype(int).sum() < no.image[below, x].astype(int).sum() - 20


def test_seeded_and_deterministic():
    img = _face(noise=4.0)
    a = render_occluder(img, LM, "n95", rng_for(3, "x")).image
    b = render_occluder(img, LM, "n95", rng_for(3, "x")).image
    c = render_occluder(img, LM, "n95", rng_for(4, "x")).image
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)  # the noise comes from the seed


def test_rng_stream_left_for_the_caller():
    """The look draws from a child generator: what the caller draws next does not change."""
    img = _face(noise=4.0)
    r1, r2 = rng_for(0, "s"), rng_for(0, "s")
    render_occluder(img, LM, "n95", r1)
    render_occluder(img, LM, "n95", r2, look=FLAT_LOOK)
    assert r1.random() == r2.random()


@settings(max_examples=15, deadline=None)
@given(
    noise=st.floats(0, 8),
    blur=st.floats(0, 2.5),
    gradient=st.floats(-0.3, 0.3),
    spec=st.sampled_from(["surgical-blue", "n95", "kn95", "cloth-black", "surgical-white"]),
)
def test_nothing_changes_away_from_the_mask(noise, blur, gradient, spec):
    """Blur, noise and JPEG only touch the occluder's own footprint (plus the shadows around
    it): the eyes and everything above the nose bridge keep their pixels."""
    img = _face(noise=noise, blur=blur, gradient=gradient)
    res = render_occluder(img, LM, spec, rng_for(0, spec))
    top = int(LM[27:30, 1].min())  # nose bridge
    assert np.array_equal(res.image[:top], img[:top])


def test_recipe_look_reaches_the_variant_renderer():
    """``[occlude.look]`` of a recipe is what the variant stage renders with, and it is part of
    the occluder key (other options, other shards)."""
    from maskforge.occlude.key import cache_key
    from maskforge.pipeline.variant_stage import make_render
    from maskforge.recipe.tables import OccludeTable

    table = OccludeTable.parse({"look": {"match_photo": False}})
    img = _face(noise=4.0)
    out, mask, _ = make_render(None, None, table.look)(img, LM, "n95", rng_for(0, "v"), "correct", None)
    flat = render_occluder(img, LM, "n95", rng_for(0, "v"), look=PhotoLook(match_photo=False))
    photo = render_occluder(img, LM, "n95", rng_for(0, "v"))
    assert np.array_equal(out, flat.image) and not np.array_equal(out, photo.image)
    bare = render_occluder(img, LM, "n95", rng_for(0, "v"), look=FLAT_LOOK)  # no ear loops either
    assert not np.array_equal(out, bare.image)
    assert OccludeTable.parse({}).look == DEFAULT_LOOK
    assert cache_key(None, table.look) != cache_key(None) == cache_key(None, DEFAULT_LOOK)


def test_cache_key_covers_the_render_version(monkeypatch):
    """Code that draws other bytes for the same assets and options bumps ``RENDER_VERSION``,
    and that changes the occluder key (and so the dataset key)."""
    from maskforge.occlude import key

    before = key.cache_key(None)
    assert key.cache_key(None, PhotoLook(noise=0.5)) != before
    monkeypatch.setattr(key, "RENDER_VERSION", key.RENDER_VERSION + 1)
    assert key.cache_key(None) != before
