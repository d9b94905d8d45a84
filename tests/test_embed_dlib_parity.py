"""dlib-resnet (PyTorch) gives dlib's numbers, and its chips are dlib's chips (lfw-dev).

The 200-face parity test runs dlib's native descriptor (~70-110 ms a face here): ~20-30 s.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.embed.chips import (
    CHIP_PADDING,
    CHIP_SIZE,
    DLIB5_TEMPLATE,
    chip_transform,
    cut_chip,
    landmarks_to_source,
)
from maskforge.models import dlib_model_path


@given(
    st.floats(-np.pi, np.pi),
    st.floats(0.3, 4.0),
    st.floats(-200, 200),
    st.floats(-200, 200),
)
def test_chip_transform_puts_the_template_where_dlib_does(angle, scale, tx, ty):
    """A face whose 5 points are a similarity image of dlib's template lands on the padded
    template in the chip (up to dlib's (size*scale - 1) / (size - 1) sampling step)."""
    chip_pts = (CHIP_PADDING + DLIB5_TEMPLATE) / (2 * CHIP_PADDING + 1) * CHIP_SIZE
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    m = np.array([[c, -s, tx], [s, c, ty]])
    face = chip_pts @ m[:, :2].T + m[:, 2]
    back = face @ chip_transform(face)[:, :2].T + chip_transform(face)[:, 2]
    step = (CHIP_SIZE * scale - 1) / (CHIP_SIZE - 1) / scale
    expected = (chip_pts - CHIP_SIZE / 2) / step + (CHIP_SIZE - 1) / 2
    np.testing.assert_allclose(back, expected, atol=1e-6)


@pytest.fixture(scope="module")
def dlib_tools():
    import dlib

    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(dlib_model_path("shape_predictor_5"))),
        dlib.face_recognition_model_v1(str(dlib_model_path("resnet_embedder"))),
    )


@pytest.fixture(scope="module")
def torch_embedder():
    from maskforge.embed import make_embedder

    return make_embedder("dlib-resnet", batch_size=64, threads=1)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_same_numbers_as_dlib_on_200_real_chips(lfw_images, dlib_tools, torch_embedder):
    """Each component within 1e-4 of compute_face_descriptor on the same 150x150 chips."""
    from maskforge.io.decode import decode_image

    paths = lfw_images[:: max(1, len(lfw_images) // 200)][:200]
    assert len(paths) >= 200
    # LFW images are roughly face-centred: the central 160 px, resized, is a face chip.
    chips = np.stack(
        [cv2.resize(decode_image(p)[45:205, 45:205], (150, 150), interpolation=cv2.INTER_AREA) for p in paths]
    )
    ref = np.asarray([np.asarray(v) for v in dlib_tools[2].compute_face_descriptor(list(chips))])
    ours = torch_embedder.embed_chips(chips)
    assert ours.shape == (200, 128) and ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 1e-4
    assert np.abs(ref).max() > 0.1  # real descriptors, not zeros


@pytest.fixture(scope="module")
def pipeline_faces(lfw_dir: Path, dlib_tools):
    """For ~60 lfw-dev images: the image, dlib's own chip (HOG + 5-point predictor +
    get_face_chip), its 5 points, and the detect stage's crop-frame landmarks5 and transform."""
    import dlib

    from maskforge.detect import AlignedFace, DetectConfig, DetectStage
    from maskforge.io.decode import decode_image

    det, sp5, _ = dlib_tools
    stage = DetectStage(DetectConfig())
    paths = sorted(lfw_dir.glob("*/*.jpg"))[::12]
    out = []
    for p in paths:
        img = decode_image(p)
        rects = det(img, 1)
        face = stage([img])[0]
        if not rects or not isinstance(face, AlignedFace):
            continue
        shape = sp5(img, max(rects, key=lambda r: r.area()))
        pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float64)
        out.append((img, dlib.get_face_chip(img, shape, 150, 0.25), pts, face))
    assert len(out) >= 40
    return out


def test_cut_chip_is_get_face_chip(pipeline_faces, torch_embedder):
    """Same 5 points: our OpenCV chip is dlib's chip to within rounding (mean < 1 grey level)."""
    diffs, dist = [], []
    for img, ref, pts, _ in pipeline_faces[:20]:
        mine = cut_chip(img, pts)
        diffs.append(np.abs(mine.astype(int) - ref.astype(int)).mean())
        a, b = torch_embedder.embed_chips(np.stack([mine, ref]))
        dist.append(np.linalg.norm(_unit(a) - _unit(b)))
    assert np.mean(diffs) < 1.0 and np.max(dist) < 0.02


def test_embeddings_match_dlibs_pipeline_on_the_same_image(pipeline_faces, torch_embedder):
    """Source image + the detect stage's landmarks (mapped back) vs dlib's own pipeline:
    median L2 between unit vectors at most 0.03."""
    images = [img for img, _, _, _ in pipeline_faces]
    lm5 = [landmarks_to_source(f.landmarks5, f.transform) for _, _, _, f in pipeline_faces]
    ours = torch_embedder.embed(images, lm5)
    ref = _unit(torch_embedder.embed_chips(np.stack([c for _, c, _, _ in pipeline_faces])))
    dist = np.linalg.norm(ours - ref, axis=1)
    assert np.median(dist) <= 0.03
    # the old route (chips re-cut from the 112x112 ArcFace crop) is clearly worse
    crops = [f.image for _, _, _, f in pipeline_faces]
    old = torch_embedder.embed(crops, [f.landmarks5 for _, _, _, f in pipeline_faces])
    assert np.median(np.linalg.norm(old - ref, axis=1)) > np.median(dist) + 0.03
