"""dlib-resnet (PyTorch) and dlib-resnet-native on real faces (a small lfw-dev subset)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from maskforge.embed import make_embedder
from maskforge.embed.dlib_resnet import ARCFACE_112, template_landmarks
from maskforge.models import dlib_model_path

IDENTITIES = (
    "Hans_Blix",
    "Halle_Berry",
    "Hu_Jintao",
    "Jennifer_Aniston",
    "John_Kerry",
    "Gray_Davis",
)
PER_IDENTITY = 4


@pytest.fixture(scope="module")
def real_faces(lfw_dir: Path):
    """ArcFace-aligned 112x112 crops from the detection stage, with landmarks and labels."""
    from maskforge.detect import AlignedFace, DetectConfig, DetectStage
    from maskforge.io.decode import decode_image

    paths = []
    for name in IDENTITIES:
        files = sorted((lfw_dir / name).glob("*.jpg"))[:PER_IDENTITY]
        if len(files) < PER_IDENTITY:
            pytest.skip(f"lfw-dev lacks {name}")
        paths += files
    images = [decode_image(p) for p in paths]
    out = DetectStage(DetectConfig(size=112))(images)
    keep = [i for i, o in enumerate(out) if isinstance(o, AlignedFace)]
    assert len(keep) >= len(paths) - 2
    return (
        [out[i].image for i in keep],
        [out[i].landmarks5 for i in keep],
        np.array([paths[i].parent.name for i in keep]),
        [images[i] for i in keep],
    )


@pytest.fixture(scope="module")
def embedder():
    return make_embedder("dlib-resnet", batch_size=8, threads=1)


@pytest.fixture(scope="module")
def vectors(real_faces, embedder):
    crops, lm5, _, _ = real_faces
    return embedder.embed(crops, lm5)


def distances(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(2 - 2 * v @ v.T, 0, None))


def test_shape_norm_info(vectors, real_faces, embedder):
    assert vectors.shape == (len(real_faces[0]), 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    info = embedder.info
    path = dlib_model_path("resnet_embedder")
    assert info["name"] == "dlib-resnet" and info["dim"] == 128 and info["device"] == "cpu"
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert make_embedder("dlib-resnet").embed([]).shape == (0, 128)


def test_same_identity_close_different_far(vectors, real_faces):
    ids = real_faces[2]
    d = distances(vectors)
    same = (ids[:, None] == ids[None]) & ~np.eye(len(ids), dtype=bool)
    diff = ids[:, None] != ids[None]
    # unit-vector scale: dlib's usual 0.6 raw boundary is ~0.43 here (0.6 / ~1.4 raw norm)
    assert np.median(d[same]) < 0.36 and d[same].max() < 0.48
    assert np.median(d[diff]) > 0.5 and np.percentile(d[diff], 2) > 0.38
    np.fill_diagonal(d, np.inf)
    assert (ids[d.argmin(1)] == ids).mean() >= 0.95  # nearest neighbour is the same person


def test_template_landmarks_close_to_given_landmarks(real_faces, embedder, vectors):
    crops, _, _, _ = real_faces
    without = embedder.embed(crops[:6])
    dist = np.linalg.norm(without - vectors[:6], axis=1)
    assert np.median(dist) < 0.08


def test_template_geometry():
    np.testing.assert_allclose(template_landmarks(224, 224), ARCFACE_112 * 2)


def test_native_gives_the_same_vectors(real_faces, vectors):
    crops, lm5, _, _ = real_faces
    native = make_embedder("dlib-resnet-native")
    assert native.info["name"] == "dlib-resnet-native" and native.info["sha256"]
    np.testing.assert_allclose(native.embed(crops[:4], lm5[:4]), vectors[:4], atol=1e-5)


def test_rejects_bad_input(embedder):
    with pytest.raises(ValueError, match="uint8"):
        embedder.embed([np.zeros((112, 112, 3), np.float32)])
    with pytest.raises(ValueError, match="landmark"):
        embedder.embed([np.zeros((112, 112, 3), np.uint8)], [])
