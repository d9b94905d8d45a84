"""Bad input for the detect stage: each image is aligned or rejected with a reason, never raises.

Runs with dlib-hog and MTCNN (CPU). Real faces come from lfw-dev (skipped when absent).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from maskforge.detect import AlignedFace, DetectConfig, DetectReject, DetectStage

DETECTORS = ["dlib-hog", "mtcnn"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """MTCNN on one thread: on a busy 2-core machine two torch threads mostly wait on each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=DETECTORS)
def stage(request, one_torch_thread) -> DetectStage:
    # faces here are >= 100 px: MTCNN need not search below 40 px (a much smaller pyramid)
    return DetectStage(DetectConfig(detector=request.param, device="cpu", min_face_size=40))


@pytest.fixture(scope="module")
def face(lfw_images: list[Path]) -> np.ndarray:
    """One frontal LFW face, 250x250 RGB (face box roughly x 75..180, y 85..190)."""
    return cv2.cvtColor(cv2.imread(str(lfw_images[0])), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def other_face(lfw_images: list[Path]) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(lfw_images[40])), cv2.COLOR_BGR2RGB)


def rejected(out, reason: str) -> bool:
    return isinstance(out, DetectReject) and out.reason == reason and out.stage == "detect"


def test_no_face_images_are_rejected(stage):
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (250, 250, 3), dtype=np.uint8),  # noise
        np.full((250, 250, 3), 200, np.uint8),  # a blank wall
        np.zeros((8, 8, 3), np.uint8),  # tiny
        rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        rng.integers(0, 256, (40, 1000, 3), dtype=np.uint8),  # extreme aspect ratios
        rng.integers(0, 256, (1000, 40, 3), dtype=np.uint8),
        np.zeros((3, 2000, 3), np.uint8),
    ]
    out = stage(images)
    assert len(out) == len(images)
    for o in out:
        assert rejected(o, "no_face"), o
        assert stage.config.detector in o.detail


def test_grayscale_is_aligned(stage, face):
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    as3 = np.repeat(gray[:, :, None], 3, axis=2)
    out = stage([as3, gray, gray[:, :, None]])
    assert all(isinstance(o, AlignedFace) for o in out)
    for o in out:
        px = o.image.reshape(-1, 3).astype(int)
        assert (px[:, 0] == px[:, 1]).all() and (px[:, 1] == px[:, 2]).all()  # stays gray
    np.testing.assert_array_equal(out[0].image, out[1].image)


def test_tiny_face_and_min_face_size(face, one_torch_thread):
    small = cv2.resize(face, (60, 60), interpolation=cv2.INTER_AREA)  # face ~25 px
    finder = DetectStage({"detector": "mtcnn", "device": "cpu", "min_face_size": 12})
    out = finder([small])[0]
    assert isinstance(out, AlignedFace)
    assert out.image.shape == (112, 112, 3)  # upscaled to the template
    # the same detections, filtered by a larger min_face_size at selection
    strict = DetectStage({"detector": "mtcnn", "device": "cpu", "min_face_size": 40})
    strict._detector = finder.detector
    o = strict([small])[0]
    assert rejected(o, "face_too_small") and "min_face_size 40" in o.detail


def test_low_score_reject(face):
    out = DetectStage({"min_score": 50.0})([face])[0]
    assert rejected(out, "low_score") and "min_score" in out.detail


def test_several_faces_center_policy_picks_the_central_one(stage, face, other_face):
    # a big face at the left, the smaller labelled face at the centre of a wide canvas
    big = cv2.resize(other_face, (350, 350))
    canvas = np.zeros((350, 1000, 3), np.uint8)
    canvas[:, :350] = big
    canvas[50:300, 375:625] = face
    found = stage.detector.detect([canvas])[0]
    assert len(found) >= 2
    for policy in ("center", "center-weighted"):
        s = DetectStage({**stage.config.to_dict(), "select": policy})
        s._detector = stage.detector  # share the loaded model
        o = s([canvas])[0]
        assert isinstance(o, AlignedFace)
        cx = (o.source_bbox[0] + o.source_bbox[2]) / 2
        assert 400 < cx < 600, (policy, o.source_bbox)
    s = DetectStage({**stage.config.to_dict(), "select": "largest"})
    s._detector = stage.detector
    o = s([canvas])[0]
    assert (o.source_bbox[0] + o.source_bbox[2]) / 2 < 350


def test_face_cut_by_the_border(stage, face):
    slight = np.ascontiguousarray(face[:, 70:])  # the left edge of the face touches the border
    cut = np.ascontiguousarray(face[:, 100:])  # the left ~quarter of the face is gone
    top = np.ascontiguousarray(face[110:, :])  # the upper half of the face is gone
    gone = np.ascontiguousarray(face[:, 130:])
    o_slight, o_cut, o_top, o_gone = stage([slight, cut, top, gone])
    assert isinstance(o_slight, AlignedFace)
    assert rejected(o_cut, "face_cut") and "outside" in o_cut.detail
    assert rejected(o_top, "face_cut")
    assert rejected(o_gone, "no_face") or rejected(o_gone, "face_cut")
    # with max_outside = 1 the cut face is aligned and the outside is black
    lenient = DetectStage({**stage.config.to_dict(), "max_outside": 1.0})
    lenient._detector = stage.detector
    o = lenient([cut])[0]
    assert isinstance(o, AlignedFace)
    assert o.source_bbox[0] < 5  # the face reaches the border
    assert o.image[:, :8].max() == 0 and o.image[:, 60:].mean() > 60


def test_face_in_extreme_aspect_ratio_strip(stage, face):
    wide = np.zeros((250, 2000, 3), np.uint8)
    wide[:, 875:1125] = face
    tall = np.zeros((2000, 250, 3), np.uint8)
    tall[875:1125] = face
    for o, axis in zip(stage([wide, tall]), (0, 1), strict=True):
        assert isinstance(o, AlignedFace)
        centre = (o.source_bbox[axis] + o.source_bbox[axis + 2]) / 2
        assert 900 < centre < 1100


def test_bad_arrays_are_rejected_as_bad_image():
    stage = DetectStage()
    images = [
        np.zeros((50, 50, 3), np.float32),
        np.zeros((50, 50, 2), np.uint8),
        np.zeros((2, 50, 50, 3), np.uint8),
        np.zeros((0, 50, 3), np.uint8),
        None,
        b"\xff\xd8 not decoded",
    ]
    out = stage(images)
    assert [o.reason for o in out] == ["bad_image"] * len(images)


def test_rgba_drops_alpha(face):
    rgba = np.concatenate([face, np.full((*face.shape[:2], 1), 255, np.uint8)], axis=2)
    a, b = DetectStage()([rgba, face])
    np.testing.assert_array_equal(a.image, b.image)


def test_bad_hints_are_rejected(face):
    stage = DetectStage()
    hints = [
        {"landmarks5": np.zeros((4, 2))},
        {"landmarks68": np.full((68, 2), np.nan)},
        {"bbox": [10, 10, 5, 5]},
        {"bbox": [1, 2, 3]},
        {"landmarks5": np.full((5, 2), 50.0), "landmarks68": np.full((68, 2), 50.0)},
        None,  # no hint: detect
        {"bbox": None},  # empty hint: detect
    ]
    out = stage([face] * len(hints), hints=hints)
    assert [getattr(o, "reason", "ok") for o in out] == ["bad_hint"] * 4 + [
        "alignment_failed",
        "ok",
        "ok",
    ]
    with pytest.raises(ValueError):
        stage([face], hints=[None, None])
