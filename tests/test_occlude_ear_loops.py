"""Ear loops (issue 20, physical detail): straps from a mask's side corners to the ears.

Synthetic faces (the canonical landmarks on a flat skin-toned image), so that what the loops add
is exactly the pixels that differ from the same render without them.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.occlude import render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.occlude.look import DEFAULT_LOOK, FLAT_LOOK, PhotoLook
from maskforge.occlude.quality import face_outline_mask
from maskforge.occlude.straps import FAR_SIDE_RATIO, ear_loop_layers, loop_paths, visible_sides
from maskforge.seeding import rng_for

LM = canonical_landmarks(60.0, (128.0, 100.0))
NO_LOOPS = PhotoLook(ear_loops=False)


def _face() -> np.ndarray:
    return np.full((256, 256, 3), (196, 150, 126), np.uint8)


def _turned(lm: np.ndarray, squash: float) -> np.ndarray:
    """The image-left half of the face (x left of the nose tip) squashed toward the nose, as a
    head turned to its side shows it."""
    out = lm.copy()
    left = out[:, 0] < lm[30, 0]
    out[left, 0] = lm[30, 0] + (out[left, 0] - lm[30, 0]) * squash
    return out


@pytest.mark.parametrize("spec", ["surgical-blue", "n95", "kn95", "cloth-black"])
def test_loops_are_drawn_and_leave_the_mask_as_it_was(spec):
    face = _face()
    res = render_occluder(face, LM, spec, rng_for(0, spec))
    bare = render_occluder(face, LM, spec, rng_for(0, spec), look=NO_LOOPS)
    loops = np.any(res.image != bare.image, axis=2)
    assert loops.sum() >= 20  # both sides show loops on a frontal face
    # the mask is drawn as without loops; only its soft rim (the camera blur spreads its edge
    # and the loops' over 2-3 px) shows a loop meeting it
    interior = cv2.erode(bare.mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert not (loops & interior).any()
    xs = np.nonzero(loops)[1]
    assert xs.min() < LM[36, 0] and xs.max() > LM[45, 0]  # beside the face, left and right
    assert res.mask.sum() > bare.mask.sum()  # the loops are part of the occlusion mask


def test_no_loops_in_the_flat_look_or_on_glasses():
    face = _face()
    assert not FLAT_LOOK.ear_loops and DEFAULT_LOOK.ear_loops
    for spec in ("glasses", "sunglasses"):
        a = render_occluder(face, LM, spec, rng_for(0, spec))
        b = render_occluder(face, LM, spec, rng_for(0, spec), look=NO_LOOPS)
        assert np.array_equal(a.image, b.image)


def test_far_side_loops_are_hidden():
    assert visible_sides(LM) == [-1, 1]
    turned = _turned(LM, FAR_SIDE_RATIO * 0.8)
    assert visible_sides(turned) == [1]
    assert visible_sides(_turned(LM, FAR_SIDE_RATIO * 1.2)) == [-1, 1]
    res = render_occluder(_face(), turned, "n95", rng_for(0, "t"))
    bare = render_occluder(_face(), turned, "n95", rng_for(0, "t"), look=NO_LOOPS)
    xs = np.nonzero(np.any(res.image != bare.image, axis=2))[1]
    assert len(xs) and xs.min() > turned[30, 0]  # only the near (image-right) side


def _mask_alpha(lm: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask-like alpha: the lower face polygon (jaw 2..14 closed over the nose bridge)."""
    poly = np.vstack([lm[2:15], lm[[29]]])
    alpha = np.zeros(shape, np.float32)
    cv2.fillPoly(alpha, [np.round(poly).astype(np.int32)], 1.0)
    return alpha


@settings(max_examples=60, deadline=None)
@given(
    iod=st.floats(25.0, 90.0),
    angle=st.floats(-25.0, 25.0),
    dx=st.floats(-20.0, 20.0),
    dy=st.floats(-20.0, 20.0),
    squash=st.floats(0.4, 1.0),
)
def test_loops_stay_on_the_face_and_behind_the_mask(iod, angle, dx, dy, squash):
    """For any size, roll, position and turn of the face: every loop pixel lies inside the face
    outline (the spill figure's polygon), so the spill figure cannot grow, and none lies where the
    mask is solid."""
    lm0 = _turned(canonical_landmarks(iod, (160.0, 130.0)), squash)
    rot = cv2.getRotationMatrix2D((160.0, 130.0), angle, 1.0)
    lm = lm0 @ rot[:, :2].T + rot[:, 2] + (dx, dy)
    shape = (320, 320)
    alpha = _mask_alpha(lm, shape)
    ys, xs = np.nonzero(alpha)
    y0, x0 = int(ys.min()), int(xs.min())
    occ = np.zeros((ys.max() - y0 + 1, xs.max() - x0 + 1, 4), np.float32)
    occ[..., 3] = alpha[y0 : ys.max() + 1, x0 : xs.max() + 1]
    occ[..., :3] = occ[..., 3:] * 0.7
    layers = ear_loop_layers(occ, x0, y0, lm, shape)
    assert len(layers) == 1 and 1 <= len(loop_paths(occ[..., 3], x0, y0, lm)) <= 2  # both sides
    full = np.zeros(shape, np.float32)
    for layer, lx, ly in layers:
        full[ly : ly + layer.shape[0], lx : lx + layer.shape[1]] += layer[..., 3]
        seen = layer[..., 3] > 0.05
        color = layer[..., :3][seen] / layer[..., 3][seen][:, None]  # premultiplied: one colour
        assert np.allclose(color, 0.5 * 0.7 + 0.5 * 0.88, atol=1e-4)
    assert not ((full > 0) & ~face_outline_mask(lm, shape)).any()
    assert not ((full > 0) & (alpha >= 1.0)).any()


def test_same_face_same_bytes():
    a = render_occluder(_face(), LM, "surgical-blue", rng_for(3, "x"))
    b = render_occluder(_face(), LM, "surgical-blue", rng_for(3, "x"))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
