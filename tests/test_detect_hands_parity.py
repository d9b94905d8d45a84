"""The torch ports of MediaPipe's palm detector and hand landmark model against the reference runtime.

``ai-edge-litert`` (a dev dependency) runs the same ``.tflite`` files on the same input tensors,
built from real lfw-dev images (regions around the lower face, and the hand crops the port makes).
Tolerances (float32 on the CPU): raw palm outputs within 1e-3 of the largest magnitude, decoded
palms identical in number with boxes within 0.01 input px, hand points within 0.05 crop px,
presence within 1e-4. maskforge's LiteRT path (``runtime = "litert"``) gives the torch graphs'
raw outputs within the same tolerances.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskforge.detect.facemesh import roi_transform
from maskforge.detect.hands import HAND_SIDE, PALM_SIDE, HandDetector, hand_roi, region_transform
from maskforge.io.decode import decode_image
from maskforge.models import mediapipe_model_path

from .test_detect_mediapipe_parity import reference

pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (dev) absent")

#: lfw-dev images with a hand in front of the lower face, and two without.
NAMES = ("Jack_Straw_0004", "Adoor_Gopalakarishnan_0001", "Jeremy_Greenstock_0013", "AJ_Cook_0001")


@pytest.fixture(scope="module")
def squares(lfw_dir) -> np.ndarray:
    out = []
    for n in NAMES:
        img = decode_image(lfw_dir / n.rsplit("_", 1)[0] / f"{n}.jpg")
        m = region_transform(np.array([125.0, 150.0]), 220.0, PALM_SIDE)
        out.append(cv2.warpAffine(img, m, (PALM_SIDE, PALM_SIDE), flags=cv2.INTER_LINEAR))
    return np.stack(out)


@pytest.fixture(scope="module")
def hands() -> HandDetector:
    return HandDetector("full", device="cpu", runtime="torch")


def test_palm_raw_outputs_match_litert(squares, hands):
    reg, logits = hands.palm_raw(squares)
    ref = reference("palm-full", squares.astype(np.float32) / 255.0)
    ref_reg = next(r for r in ref if r.shape[-1] == 18)
    ref_cls = next(r for r in ref if r.shape[-1] == 1)[..., 0]
    assert reg.shape == ref_reg.shape == (len(squares), 2016, 18)
    assert np.abs(reg - ref_reg).max() <= 1e-3 * np.abs(ref_reg).max()
    assert np.abs(logits - ref_cls).max() <= 1e-3 * np.abs(ref_cls).max()
    found = 0
    for k in range(len(squares)):
        mine, theirs = hands.decode(reg[k], logits[k]), hands.decode(ref_reg[k], ref_cls[k])
        assert len(mine) == len(theirs)
        found += len(mine)
        for (b1, p1, s1), (b2, p2, s2) in zip(mine, theirs, strict=True):
            assert np.abs(b1 - b2).max() * PALM_SIDE < 0.01 and abs(s1 - s2) < 1e-4
            assert np.abs(p1 - p2).max() * PALM_SIDE < 0.01
    assert found >= 3  # the three hands are found


def test_hand_landmarks_match_litert(squares, hands):
    reg, logits = hands.palm_raw(squares)
    crops = []
    for k in range(len(squares)):
        for box, pts, _ in hands.decode(reg[k], logits[k]):
            m = roi_transform(*hand_roi(box * PALM_SIDE, pts * PALM_SIDE), HAND_SIDE)
            crops.append(cv2.warpAffine(squares[k], m, (HAND_SIDE, HAND_SIDE)))
    assert len(crops) >= 3
    crops_arr = np.stack(crops)
    pts, presence = hands.hand_raw(crops_arr)
    ref = reference("hand-landmark-lite", crops_arr.astype(np.float32) / 255.0)
    # by tensor index: handedness (1), presence (1), landmarks (63), world landmarks (63)
    assert np.abs(pts - ref[2].reshape(-1, 21, 3)).max() < 0.05
    assert np.abs(presence - ref[1].reshape(-1)).max() < 1e-4
    assert (presence > 0.5).sum() >= 3
    assert str(mediapipe_model_path("hand-landmark-lite")).endswith("hand_landmark_lite.tflite")


def test_litert_runtime_matches_torch(squares, hands):
    lite = HandDetector("full", device="cpu", runtime="litert")
    assert (hands.runtime, lite.runtime) == ("torch", "litert")
    for mine, theirs in zip(lite.palm_raw(squares), hands.palm_raw(squares), strict=True):
        assert mine.shape == theirs.shape
        assert np.abs(mine - theirs).max() <= 1e-3 * np.abs(theirs).max()
    whole = [(np.array([95.5, 95.5]), float(PALM_SIDE))] * len(squares)
    crops = [
        cv2.warpAffine(square, roi_transform(*hand_roi(h.box, h.keypoints), HAND_SIDE),
                       (HAND_SIDE, HAND_SIDE))
        for square, palms in zip(squares, hands.palms(list(squares), whole), strict=True)
        for h in palms
    ]  # fmt: skip
    assert len(crops) >= 3
    (pts_t, pres_t), (pts_l, pres_l) = hands.hand_raw(np.stack(crops)), lite.hand_raw(np.stack(crops))
    assert pts_l.shape == pts_t.shape == (len(crops), 21, 3)
    assert np.abs(pts_l - pts_t).max() < 0.05 and np.abs(pres_l - pres_t).max() < 1e-4
