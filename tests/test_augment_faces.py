"""Geometric transforms on real faces: landmarks carried by crop / rotate / flip agree with
landmarks re-detected by dlib on the transformed pixels (LFW subset via the ``lfw_images``
fixture; the 68-point model is non-commercial, see docs/models.md)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskforge.augment import HorizontalFlip, RandomCrop, Rotate, Targets

dlib = pytest.importorskip("dlib")

CASES = {
    "crop": lambda t: RandomCrop(p=1.0).apply(t, scale=1.15, x=30, y=5),
    "crop-corner": lambda t: RandomCrop(p=1.0).apply(t, scale=1.3, x=0, y=75),
    "rotate+10-face": lambda t: Rotate(p=1.0).apply(t, angle=10.0, center="face"),
    "rotate-15-image": lambda t: Rotate(p=1.0).apply(t, angle=-15.0, center="image"),
    "flip": lambda t: HorizontalFlip(p=1.0).apply(t),
}


@pytest.fixture(scope="module")
def landmarker():
    from maskforge.models import dlib_model_path

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_68")))

    def find(image: np.ndarray) -> np.ndarray | None:
        rects = detector(image, 0)
        if not rects:
            return None
        shape = predictor(image, max(rects, key=lambda r: r.area()))
        return np.array([[p.x, p.y] for p in shape.parts()], np.float32)

    return find


@pytest.fixture(scope="module")
def faces(lfw_images, landmarker) -> list[Targets]:
    out = []
    for path in lfw_images[::60][:12]:
        image = np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
        lm = landmarker(image)
        if lm is not None:
            out.append(Targets(image, landmarks68=lm))
    assert len(out) >= 8, "dlib should find most LFW faces"
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_carried_landmarks_match_redetected(case, faces, landmarker):
    errors = []
    for t in faces:
        out = CASES[case](t)
        found = landmarker(out.image)
        if found is None:
            continue
        err = np.linalg.norm(found - out.landmarks68, axis=1)
        assert err.mean() < 4.0, f"{case}: mean landmark error {err.mean():.2f} px"
        errors.append(err.mean())
    assert len(errors) >= 0.75 * len(faces)
    # dlib re-detection noise alone is ~1 px on 250x250 faces
    assert float(np.mean(errors)) < 2.0


def test_flip_reindexing_matches_dlib_semantics(faces, landmarker):
    for t in faces[:6]:
        out = HorizontalFlip(p=1.0).apply(t)
        found = landmarker(out.image)
        assert found is not None
        good = np.linalg.norm(found - out.landmarks68, axis=1).mean()
        w = t.image.shape[1]
        mirrored_only = np.column_stack([w - 1 - t.landmarks68[:, 0], t.landmarks68[:, 1]])
        bad = np.linalg.norm(found - mirrored_only, axis=1).mean()
        assert good < 3.0 and bad > 10 * good
