"""The nose-wire crease of surgical and KN95 masks (maskforge/occlude/nosewire.py, issue 20)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.occlude import nosewire, render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.occlude.key import cache_key
from maskforge.occlude.look import DEFAULT_LOOK, FLAT_LOOK, PhotoLook
from maskforge.occlude.palette import PRESETS
from maskforge.seeding import rng_for

IOD = 60.0
LM = canonical_landmarks(IOD, (128.0, 100.0))
ON, OFF = PhotoLook(nose_wire=True), PhotoLook(nose_wire=False)
MASK_PRESETS = sorted(p for p, (fam, _) in PRESETS.items() if fam not in ("glasses", "sunglasses"))


def _face(noise: float = 3.0, seed: int = 0) -> np.ndarray:
    """A 256 px skin-toned face with eyes and brows and a little noise (so the camera has some),
    exposed so that no mask colour saturates."""
    img = np.full((256, 256, 3), (150, 112, 92), np.float32)  # darker than the mask colours
    for i in (36, 42):
        c = LM[i : i + 6].mean(0)
        cv2.ellipse(img, (int(c[0]), int(c[1])), (11, 5), 0, 0, 360, (60, 40, 35), -1)
    img += np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _footprint(res, image: np.ndarray) -> np.ndarray:
    """The pixels the mask changes, grown by 2 px: its faint blurred edge can round to the
    image's own value in one render and not in another."""
    changed = np.any(res.image != image, axis=2).astype(np.uint8)
    return cv2.dilate(changed, np.ones((5, 5), np.uint8)).astype(bool)


def _bridge_profile(image: np.ndarray, mask: np.ndarray, lm: np.ndarray, iod: float):
    """Mean luminance of rows at depths (IOD) under the mask's top edge, over the columns within
    0.12 IOD of the bridge: ``{depth: value}`` for the ridge, the shadow line and below them."""
    cx = 0.5 * (lm[28, 0] + lm[29, 0])
    cols = [c for c in range(int(cx - 0.12 * iod), int(cx + 0.12 * iod) + 1) if mask[:, c].any()]
    y = _luma(image)
    out = {}
    for depth in (nosewire.RIDGE_DEPTH, nosewire.SHADOW_DEPTH, 0.2):
        vals = [y[int(np.argmax(mask[:, c])) + int(round(depth * iod)), c] for c in cols]
        out[depth] = float(np.mean(vals))
    return out


@pytest.mark.parametrize("spec", ["surgical-blue", "surgical-white", "surgical-green", "kn95"])
def test_ridge_brighter_than_the_mask_below_it(spec):
    """Along the bridge, the wire's ridge is brighter than the mask just below it, the shadow
    line under it darker, and both are what the option adds (off: no such step). Drawn without
    the added noise and fabric texture: on a light KN95 the ridge stands ~5 grey levels above the
    fabric below it, and a grainy face's texture moves one row's mean by as much."""
    img = _face()
    quiet = PhotoLook(noise=0.0, texture=0.0)
    on = render_occluder(img, LM, spec, rng_for(0, spec), look=quiet)
    no_wire = quiet.model_copy(update={"nose_wire": False})
    off = render_occluder(img, LM, spec, rng_for(0, spec), look=no_wire)
    p_on = _bridge_profile(on.image, on.mask, LM, IOD)
    p_off = _bridge_profile(off.image, off.mask, LM, IOD)
    ridge, shadow, below = nosewire.RIDGE_DEPTH, nosewire.SHADOW_DEPTH, 0.2
    assert p_on[ridge] > p_on[below] + 4  # grey levels
    assert p_on[ridge] > p_on[shadow] + 8
    assert p_on[ridge] > p_off[ridge] + 4
    assert p_on[shadow] < p_off[shadow] - 4
    assert abs(p_on[below] - p_off[below]) < 2  # the fabric beneath is left alone


def test_fades_over_the_cheeks():
    """0.6 IOD from the bridge along the top edge the crease is a small fraction of its strength
    over the bridge."""
    img = _face(noise=0.0)
    quiet = PhotoLook(noise=0.0, texture=0.0)
    on = render_occluder(img, LM, "surgical-blue", rng_for(1), look=quiet)
    no_wire = quiet.model_copy(update={"nose_wire": False})
    off = render_occluder(img, LM, "surgical-blue", rng_for(1), look=no_wire)
    step = np.abs(_luma(on.image) - _luma(off.image))
    cx = int(round(0.5 * (LM[28, 0] + LM[29, 0])))
    at = {dx: step[:, cx + dx].max() for dx in (0, int(0.6 * IOD))}
    assert at[0] > 10 and at[int(0.6 * IOD)] < 0.25 * at[0]


@pytest.mark.parametrize("spec", MASK_PRESETS + ["surgical+nose_exposed", "kn95+chin", "cloth"])
def test_only_masks_with_a_nose_wire_over_the_bridge(spec):
    """Every mask preset: surgical and KN95 masks worn over the nose get the crease, inside the
    mask only (no pixel the mask leaves alone changes, the occlusion mask is the same); others
    (cloth, N95 with its own clip, a mask pulled under the nose or to the chin) are identical
    to the bytes without the option. (Inside the mask: within 2 px of a pixel it changes.)"""
    img = _face()
    on = render_occluder(img, LM, spec, rng_for(2, spec), look=ON)
    off = render_occluder(img, LM, spec, rng_for(2, spec), look=OFF)
    family, wear = on.info["name"], on.info["wear"]
    assert np.array_equal(on.mask, off.mask)
    changed = np.any(on.image != off.image, axis=2)
    if family in nosewire.NOSE_WIRE_FAMILIES and wear == "correct":
        assert changed.sum() > 0.2 * IOD  # a line along the top edge
        assert not (changed & ~_footprint(off, img)).any()
        top = int(LM[27:30, 1].min())
        assert not changed[:top].any()  # nothing over the eyes
    else:
        assert not changed.any()


def test_off_leaves_every_other_byte_as_it_was(monkeypatch):
    """With the crease's gains at zero, the option on gives the bytes of the option off: its own
    draw (a child generator spawned after the photo look's) changes nothing else, and off
    calls nothing of it."""
    img = _face()
    off = render_occluder(img, LM, "surgical-blue", rng_for(5), look=OFF)
    monkeypatch.setattr(nosewire, "RIDGE_GAIN", 0.0)
    monkeypatch.setattr(nosewire, "SHADOW_GAIN", 0.0)
    zero = render_occluder(img, LM, "surgical-blue", rng_for(5), look=ON)
    assert np.array_equal(zero.image, off.image)

    def fail(*args, **kwargs):
        raise AssertionError("nose wire drawn with nose_wire=false")

    monkeypatch.setattr("maskforge.occlude.render.apply_nose_wire", fail)
    again = render_occluder(img, LM, "surgical-blue", rng_for(5), look=OFF)
    assert np.array_equal(again.image, off.image)


def test_seeded_and_deterministic():
    """The same seed gives the same bytes; the crease's strength is drawn per face; the caller's
    own stream is left as it was."""
    img = _face()
    a = render_occluder(img, LM, "kn95", rng_for(3, "w"), look=ON).image
    b = render_occluder(img, LM, "kn95", rng_for(3, "w"), look=ON).image
    assert np.array_equal(a, b)
    steps = []
    for seed in (3, 4):
        on = render_occluder(img, LM, "kn95", rng_for(seed, "w"), look=ON).image
        off = render_occluder(img, LM, "kn95", rng_for(seed, "w"), look=OFF).image
        steps.append(np.abs(_luma(on) - _luma(off)).sum())
    assert steps[0] != pytest.approx(steps[1], rel=0.01)
    r1, r2 = rng_for(0, "s"), rng_for(0, "s")
    render_occluder(img, LM, "surgical-blue", r1, look=ON)
    render_occluder(img, LM, "surgical-blue", r2, look=OFF)
    assert r1.random() == r2.random()


def test_part_of_the_look_and_the_key():
    """On by default, off in the flat look, and in the occluder key through the look."""
    assert DEFAULT_LOOK.nose_wire and not FLAT_LOOK.nose_wire
    assert cache_key(None, ON) != cache_key(None, OFF)


@settings(max_examples=25, deadline=None)
@given(
    iod=st.floats(30, 110),
    roll=st.floats(-25, 25),
    dx=st.floats(-20, 20),
    spec=st.sampled_from(["surgical-blue", "kn95", "surgical-white"]),
)
def test_crease_stays_inside_the_mask(iod, roll, dx, spec):
    """Over face size, roll and position: the crease changes only pixels the mask itself changes
    (or its faint edge within 2 px of them) and never the occlusion mask."""
    lm = canonical_landmarks(iod, (0.0, 0.0))
    t = math.radians(roll)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    lm = lm @ rot.T + (150.0 + dx, 120.0)
    img = np.full((300, 300, 3), (190, 150, 130), np.uint8)
    on = render_occluder(img, lm, spec, rng_for(0, "p"), look=ON)
    off = render_occluder(img, lm, spec, rng_for(0, "p"), look=OFF)
    assert np.array_equal(on.mask, off.mask)
    changed = np.any(on.image != off.image, axis=2)
    assert not (changed & ~_footprint(off, img)).any()
