"""Geometry of the detect stage: similarity transforms, templates, crops, mirroring, head pose.

Pure numpy / OpenCV, no models: property tests over synthetic geometry.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.detect import (
    align_face,
    apply_transform,
    crop_box,
    estimate_pose,
    invert_transform,
    landmarks5_from_68,
    mirror_points,
    template_points,
)
from maskforge.detect.align import (
    ARCFACE_112,
    box_crop_transform,
    outside_fraction,
    similarity_transform,
    transform_box,
)
from maskforge.detect.landmarks import MIRROR68, box_from_landmarks5
from maskforge.detect.pose import MODEL_3D, POSE_INDICES, angles_from_rotation, camera_matrix

angles = st.floats(-np.pi, np.pi, allow_nan=False)
scales = st.floats(0.2, 5.0)
shifts = st.floats(-500.0, 500.0)


def similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, tx], [s, c, ty]])


@settings(max_examples=200, deadline=None)
@given(scales, angles, shifts, shifts, st.integers(0, 2**31 - 1))
def test_similarity_transform_recovers_exact_similarity(scale, angle, tx, ty, seed):
    pts = np.random.default_rng(seed).uniform(0, 300, size=(5, 2))
    m_true = similarity(scale, angle, tx, ty)
    dst = pts @ m_true[:, :2].T + m_true[:, 2]
    m = similarity_transform(pts, dst)
    assert m.shape == (2, 3) and m.dtype == np.float64
    np.testing.assert_allclose(m, m_true, atol=1e-6 * max(1.0, abs(tx), abs(ty)))


@settings(max_examples=200, deadline=None)
@given(scales, angles, shifts, shifts, st.integers(0, 2**31 - 1))
def test_transforms_round_trip_within_half_pixel(scale, angle, tx, ty, seed):
    rng = np.random.default_rng(seed)
    src = rng.uniform(-100, 1100, size=(68, 2)).astype(np.float32)
    m = similarity(scale, angle, tx, ty)
    back = apply_transform(invert_transform(m), apply_transform(m, src))
    assert np.abs(back - src).max() < 0.5
    # and in the other direction, through the stored matrix of an actual alignment
    lm5 = apply_transform(m, ARCFACE_112)
    if np.ptp(lm5, axis=0).max() < 1.0:
        return
    image = np.zeros((64, 64, 3), np.uint8)
    _, m_align = align_face(image, lm5, size=112)
    out = apply_transform(m_align, src)
    assert np.abs(apply_transform(invert_transform(m_align), out) - src).max() < 0.5


@settings(max_examples=100, deadline=None)
@given(scales, angles, shifts, shifts, st.sampled_from([112, 160, 96]), st.floats(0.0, 0.5))
def test_align_maps_landmarks_onto_template(scale, angle, tx, ty, size, margin):
    m_true = similarity(scale, angle, tx, ty)
    lm5 = apply_transform(m_true, template_points(112))
    image = np.zeros((50, 80, 3), np.uint8)
    crop, m = align_face(image, lm5, size=size, margin=margin, template="arcface")
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    target = template_points(size, margin, "arcface")
    assert np.abs(apply_transform(m, lm5) - target).max() < 1e-3 * max(1.0, scale)


def test_templates():
    np.testing.assert_allclose(template_points(112, 0.0, "arcface"), ARCFACE_112, atol=1e-9)
    t160 = template_points(160)
    # facenet template is symmetric about the vertical mid-line of the output
    np.testing.assert_allclose(mirror_points(t160, 160), t160, atol=1e-3)
    # margin shrinks the template towards the centre
    t = template_points(112, 0.25)
    c = 55.5
    np.testing.assert_allclose(t - c, (template_points(112) - c) / 1.5, atol=1e-9)
    assert (
        np.linalg.norm(t160[1] - t160[0]) / 160
        > np.linalg.norm(ARCFACE_112[1] - ARCFACE_112[0]) / 112
    )
    with pytest.raises(ValueError):
        template_points(112, template="nope")
    with pytest.raises(ValueError):
        template_points(112, margin=-0.1)


def test_degenerate_landmarks_raise_value_error():
    with pytest.raises(ValueError):
        align_face(np.zeros((10, 10, 3), np.uint8), np.full((5, 2), 3.0))
    with pytest.raises(ValueError):
        align_face(np.zeros((10, 10, 3), np.uint8), np.full((5, 2), np.nan))


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0, 400), st.floats(0, 400), st.floats(5, 300), st.floats(5, 300), st.floats(0, 0.5)
)
def test_box_crop_is_square_and_centred(x1, y1, w, h, margin):
    box = np.array([x1, y1, x1 + w, y1 + h])
    m = box_crop_transform(box, 112, margin)
    assert m[0, 0] == pytest.approx(m[1, 1]) and m[0, 1] == 0 and m[1, 0] == 0
    centre = apply_transform(m, [[x1 + w / 2, y1 + h / 2]])[0]
    np.testing.assert_allclose(centre, [55.5, 55.5], atol=1e-3)
    out_box = transform_box(m, box)
    side = max(out_box[2] - out_box[0], out_box[3] - out_box[1])
    assert side == pytest.approx(112 / (1 + 2 * margin), rel=1e-4)


def test_crop_box_pixels():
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 90:110] = 255  # a white square, box exactly around it
    crop, m = crop_box(image, np.array([90, 40, 109, 59], np.float32), size=40, margin=0.0)
    assert crop.shape == (40, 40, 3)
    assert crop[5:35, 5:35].min() == 255  # the square fills the crop
    np.testing.assert_allclose(apply_transform(m, [[99.5, 49.5]])[0], [19.5, 19.5], atol=1e-4)


def test_outside_fraction():
    m = box_crop_transform(np.array([0, 0, 99, 99]), 100)  # identity-like crop of the image
    assert outside_fraction(m, 100, (100, 100)) == 0.0
    m = box_crop_transform(np.array([-50, 0, 49, 99]), 100)  # half of it left of the image
    assert outside_fraction(m, 100, (100, 100)) == pytest.approx(0.5)


# ---- mirroring -------------------------------------------------------------------------------


def test_mirror_permutation_is_an_involution_over_all_points():
    assert sorted(MIRROR68.tolist()) == list(range(68))
    np.testing.assert_array_equal(MIRROR68[MIRROR68], np.arange(68))
    # self-mirrored points lie on the mid-line: nose bridge, chin, lip centres
    assert {i for i in range(68) if MIRROR68[i] == i} == {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(20, 2000))
def test_mirror_points_consistent_between_68_and_5(seed, width):
    lm68 = np.random.default_rng(seed).uniform(0, width - 1, size=(68, 2)).astype(np.float32)
    mirrored = mirror_points(lm68, width)
    np.testing.assert_allclose(mirror_points(mirrored, width), lm68, atol=1e-3)
    np.testing.assert_allclose(
        landmarks5_from_68(mirrored), mirror_points(landmarks5_from_68(lm68), width), atol=1e-3
    )


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.5, 2.0),
    st.floats(-0.5, 0.5),
    st.floats(-20, 20),
    st.floats(-20, 20),
    st.integers(0, 999),
)
def test_aligning_a_mirrored_image_gives_the_mirrored_crop(scale, angle, tx, ty, seed):
    # A smooth random image, and 5 points = the (symmetric) facenet template moved by a similarity.
    rng = np.random.default_rng(seed)
    image = cv2.resize(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8), (200, 200))
    m_true = similarity(scale, angle, 100 + tx, 100 + ty) @ np.vstack(
        [np.eye(3)[:2] - [[0, 0, 80], [0, 0, 80]], [0, 0, 1]]
    )
    lm5 = apply_transform(m_true, template_points(160, 0.0, "facenet"))
    crop, _ = align_face(image, lm5, 160, template="facenet")
    crop_m, _ = align_face(image[:, ::-1].copy(), mirror_points(lm5, 200), 160, template="facenet")
    diff = np.abs(crop_m.astype(int) - crop[:, ::-1].astype(int))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4


# ---- head pose --------------------------------------------------------------------------------


def rot_x(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])


def rot_z(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def project(rot: np.ndarray, size=(250, 250), distance=700.0, shift=(0.0, 0.0)) -> np.ndarray:
    """68 points whose pose-model points are the rotated generic face; others far away (unused)."""
    k = camera_matrix(size)
    cam = MODEL_3D @ rot.T + np.array([shift[0], shift[1], distance])
    uv = (cam @ k.T)[:, :2] / cam[:, 2:3]
    lm68 = np.zeros((68, 2), np.float32)
    lm68[POSE_INDICES] = uv
    return lm68


@pytest.mark.parametrize(
    "rot, expected",
    [
        (np.eye(3), (0, 0, 0)),
        (rot_y(np.radians(30)), (30, 0, 0)),  # normal points to the image right
        (rot_y(np.radians(-20)), (-20, 0, 0)),
        (rot_x(np.radians(-15)), (0, 15, 0)),  # chin up
        (rot_z(np.radians(10)), (0, 0, 10)),  # clockwise in the image
    ],
)
def test_pose_signs_on_pure_rotations(rot, expected):
    assert angles_from_rotation(rot) == pytest.approx(expected, abs=1e-6)
    assert estimate_pose(project(rot), (250, 250)) == pytest.approx(expected, abs=0.5)


def test_pose_yaw_right_moves_nose_right():
    lm = project(rot_y(np.radians(30)))
    eyes_mid = (lm[36] + lm[45]) / 2
    assert lm[30, 0] > eyes_mid[0]  # the nose tip swings towards the image's right


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-50, 50),
    st.floats(-30, 30),
    st.floats(-30, 30),
    st.floats(-60, 60),
    st.floats(-60, 60),
)
def test_pose_recovers_synthetic_rotations_and_mirrors(yaw, pitch, roll, sx, sy):
    rot = rot_z(np.radians(roll)) @ rot_x(np.radians(-pitch)) @ rot_y(np.radians(yaw))
    lm68 = project(rot, shift=(sx, sy))
    est = estimate_pose(lm68, (250, 250))
    assert est == pytest.approx(angles_from_rotation(rot), abs=1.0)
    y, p, r = estimate_pose(mirror_points(lm68, 250), (250, 250))
    assert (y, p, r) == pytest.approx((-est[0], est[1], -est[2]), abs=1.0)


def test_pose_degenerate_points_give_nan():
    assert np.isnan(estimate_pose(np.zeros((68, 2)), (100, 100))).all()
    assert np.isnan(estimate_pose(np.zeros((5, 2)), (100, 100))).all()


def test_box_from_landmarks5_scales_and_centres():
    box = box_from_landmarks5(ARCFACE_112)
    assert box[2] - box[0] == pytest.approx(88.2, abs=0.1)
    assert (box[0] + box[2]) / 2 == pytest.approx(56.03, abs=0.05)
    box2 = box_from_landmarks5(ARCFACE_112 * 2 + 10)
    assert box2[2] - box2[0] == pytest.approx(176.4, abs=0.2)
