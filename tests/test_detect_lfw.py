"""The detect stage on real faces (lfw-dev): detection rate, alignment precision, mirroring,
bring-your-own geometry, MTCNN batching. Skips when lfw-dev is absent (see tests/conftest.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskforge.detect import (
    AlignedFace,
    DetectConfig,
    DetectReject,
    DetectStage,
    Landmarker68,
    apply_transform,
    estimate_pose,
    invert_transform,
    landmarks5_from_68,
    make_detector,
    mirror_points,
    select_face,
    template_points,
)


def load_rgb(path: Path) -> np.ndarray:
    try:
        from maskforge.io.decode import decode_image
    except ImportError:  # the project decoder is optional here
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return decode_image(path)


@pytest.fixture(scope="module")
def images(lfw_images: list[Path]) -> list[np.ndarray]:
    return [load_rgb(p) for p in lfw_images]


@pytest.fixture(scope="module")
def hog_stage() -> DetectStage:
    return DetectStage(DetectConfig(detector="dlib-hog", upsample=0, upsample_fallback=1))


@pytest.fixture(scope="module")
def hog_all(hog_stage, images) -> list:
    return hog_stage(images)


@pytest.fixture(scope="module")
def mtcnn_stage():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on a busy 2-core machine mostly wait on each other
    yield DetectStage(DetectConfig(detector="mtcnn", device="cpu"))
    torch.set_num_threads(before)


def test_hog_detection_rate_on_all_of_lfw_dev(hog_all, images):
    assert len(hog_all) == len(images) == 737
    found = [o for o in hog_all if isinstance(o, AlignedFace)]
    rejects = [o for o in hog_all if isinstance(o, DetectReject)]
    assert len(found) + len(rejects) == len(images)
    assert {r.reason for r in rejects} <= {"no_face"}
    assert len(found) / len(images) >= 0.995, f"{len(found)}/{len(images)}"
    for o in found:
        assert o.image.shape == (112, 112, 3) and o.image.dtype == np.uint8
        assert o.landmarks5.shape == (5, 2) and o.landmarks5.dtype == np.float32
        assert o.landmarks68.shape == (68, 2) and o.landmarks68.dtype == np.float32
        assert o.transform.shape == (2, 3) and o.transform.dtype == np.float64
        assert o.pose.shape == (3,) and np.isfinite(o.pose).all()
        assert o.bbox.shape == o.source_bbox.shape == (4,)
    # the 5 points are the 68-derived ones, and all lie near the template
    for o in found[::50]:
        np.testing.assert_allclose(o.landmarks5, landmarks5_from_68(o.landmarks68), atol=1e-3)
    err = np.array([o.landmarks5 for o in found]) - template_points(112)
    assert np.abs(err).mean() < 2.5
    yaws = np.array([o.pose[0] for o in found])
    assert np.abs(np.median(yaws)) < 5 and np.percentile(np.abs(yaws), 90) < 30


def test_alignment_precision_by_redetection(hog_all):
    """Re-detect the 5 points on the aligned 112x112 output: eye centres within 2 px on average."""
    detector = make_detector("dlib-hog", upsample=0, upsample_fallback=1)
    crops = [o for o in hog_all if isinstance(o, AlignedFace)][::4]
    template = template_points(112)
    errors = []
    for faces in detector.detect([o.image for o in crops]):
        face, _ = select_face(faces, (112, 112), "center")
        if face is not None:
            errors.append(np.linalg.norm(face.landmarks5[:2] - template[:2], axis=1).mean())
    assert len(errors) >= 0.97 * len(crops)
    assert np.mean(errors) < 2.0, np.mean(errors)


def test_transforms_round_trip_on_real_faces(hog_all, hog_stage, images):
    for o, image in list(zip(hog_all, images, strict=True))[::40]:
        if not isinstance(o, AlignedFace):
            continue
        back = apply_transform(invert_transform(o.transform), o.landmarks68)
        src = hog_stage.landmarker(image, o.source_bbox)  # the source-frame points, again
        assert np.abs(back - src).max() < 0.5
        assert np.abs(apply_transform(o.transform, back) - o.landmarks68).max() < 0.5


def test_mirrored_images_give_mirrored_landmarks_and_pose(hog_stage, images):
    subset = images[::37]
    plain = hog_stage(subset)
    flipped = hog_stage([im[:, ::-1].copy() for im in subset])
    errs = []
    for a, b, image in zip(plain, flipped, subset, strict=True):
        assert isinstance(a, AlignedFace) and isinstance(b, AlignedFace)
        w = image.shape[1]
        src_a = apply_transform(invert_transform(a.transform), a.landmarks68)
        src_b = apply_transform(invert_transform(b.transform), b.landmarks68)
        errs.append(np.linalg.norm(mirror_points(src_a, w) - src_b, axis=1).mean())
        assert abs(a.pose[0] + b.pose[0]) < 5 and abs(a.pose[2] + b.pose[2]) < 3
        assert abs(a.pose[1] - b.pose[1]) < 5
    assert np.mean(errs) < 1.5 and np.max(errs) < 3.0


def test_bring_your_own_geometry(hog_all, hog_stage, images):
    pairs = [(o, im) for o, im in zip(hog_all, images, strict=True) if isinstance(o, AlignedFace)]
    pairs = pairs[:: len(pairs) // 12][:12]
    src = [
        (
            apply_transform(invert_transform(o.transform), o.landmarks5),
            apply_transform(invert_transform(o.transform), o.landmarks68),
            o.source_bbox,
        )
        for o, _ in pairs
    ]
    imgs = [im for _, im in pairs]
    # 68 points given: used as they are, nothing detected
    out68 = hog_stage(imgs, hints=[{"landmarks68": lm68} for _, lm68, _ in src])
    # 5 points given: 68 predicted from them
    out5 = hog_stage(imgs, hints=[{"landmarks5": lm5, "bbox": box} for lm5, _, box in src])
    # only a box given
    outb = hog_stage(imgs, hints=[{"bbox": box} for _, _, box in src])
    for (o, _), a, b, c in zip(pairs, out68, out5, outb, strict=True):
        assert (
            isinstance(a, AlignedFace) and isinstance(b, AlignedFace) and isinstance(c, AlignedFace)
        )
        assert a.det_score == b.det_score == c.det_score == 1.0
        np.testing.assert_allclose(a.transform, o.transform, atol=1e-2)
        np.testing.assert_allclose(b.transform, o.transform, atol=1e-2)
        np.testing.assert_allclose(b.source_bbox, o.source_bbox)
        assert np.abs(b.landmarks68 - o.landmarks68).mean() < 1.5
        assert np.abs(c.landmarks68 - o.landmarks68).mean() < 1.5


def test_unaligned_crop_and_160(images):
    subset = images[:6]
    crop = DetectStage({"align": False, "size": 128, "margin": 0.2})(subset)
    for o in crop:
        assert isinstance(o, AlignedFace) and o.image.shape == (128, 128, 3)
        m = o.transform
        assert m[0, 1] == 0 and m[1, 0] == 0 and m[0, 0] == pytest.approx(m[1, 1])
        centre = (o.bbox[:2] + o.bbox[2:]) / 2
        np.testing.assert_allclose(centre, [63.5, 63.5], atol=0.5)
    big = DetectStage({"size": 160})(subset)
    eye_err = []
    for o in big:
        assert o.image.shape == (160, 160, 3)
        eye_err.append(np.linalg.norm(o.landmarks5[:2] - template_points(160)[:2], axis=1).mean())
    assert np.mean(eye_err) < 3.5 and np.max(eye_err) < 8.0


def test_stage_pickles_without_models(hog_stage, images):
    clone = pickle.loads(pickle.dumps(hog_stage))
    assert clone.config == hog_stage.config and clone._detector is None
    a, b = hog_stage(images[:2]), clone(images[:2])
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.image, y.image)
    lm = pickle.loads(pickle.dumps(Landmarker68()))
    box = a[0].source_bbox
    np.testing.assert_array_equal(lm(images[0], box), hog_stage.landmarker(images[0], box))


def test_mtcnn_cpu_subset_and_mixed_sizes(mtcnn_stage, images):
    subset = images[::75]
    out = mtcnn_stage(subset)
    assert all(isinstance(o, AlignedFace) for o in out)
    for o in out:
        assert 0.9 <= o.det_score <= 1.0
        assert np.isfinite(o.pose).all()
    err = np.array([o.landmarks5 for o in out]) - template_points(112)
    assert np.abs(err).mean() < 2.5 and np.abs(err[:, :2]).mean() < 2.0
    # a batch of mixed sizes gives, per image, what the image gives on its own
    mixed = [
        subset[0],
        cv2.resize(subset[1], (300, 200)),
        subset[2],
        cv2.resize(subset[3], (180, 180)),
    ]
    detector = mtcnn_stage.detector
    together = detector.detect(mixed)
    for image, faces in zip(mixed, together, strict=True):
        alone = detector.detect([image])[0]
        assert len(faces) == len(alone) >= 1
        np.testing.assert_allclose(faces[0].box, alone[0].box, atol=0.05)
        np.testing.assert_allclose(faces[0].landmarks5, alone[0].landmarks5, atol=0.05)


def test_dlib_cnn_on_one_image(images):
    stage = DetectStage({"detector": "dlib-cnn"})
    hog = DetectStage()
    for a, b in zip(stage(images[:1]), hog(images[:1]), strict=True):
        assert isinstance(a, AlignedFace)
        assert np.abs(a.landmarks5 - b.landmarks5).mean() < 2.0


def test_estimate_pose_on_source_points(hog_all, images):
    o = next(o for o in hog_all if isinstance(o, AlignedFace))
    src = apply_transform(invert_transform(o.transform), o.landmarks68)
    assert estimate_pose(src, images[0].shape[:2]) == pytest.approx(tuple(o.pose), abs=1e-3)
