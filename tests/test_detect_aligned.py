"""Already-aligned input (``[detect] aligned = "arcface-112"``): no detector, template 5 points,
68 points predicted on the template box."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskforge.detect import AlignedFace, DetectConfig, DetectReject, DetectStage, template_points
from maskforge.detect.aligned import resolve_aligned
from maskforge.errors import RecipeError
from maskforge.io.decode import decode_image


@pytest.fixture(scope="module")
def crops(lfw_images: list[Path]) -> list[AlignedFace]:
    """ArcFace 112 crops of a few LFW images, made by the detecting path."""
    stage = DetectStage({"size": 112})
    faces = stage([decode_image(p) for p in lfw_images[:40:4]])
    return [f for f in faces if isinstance(f, AlignedFace)]


def test_aligned_crops_skip_detection(crops: list[AlignedFace]) -> None:
    assert len(crops) >= 8
    stage = DetectStage({"aligned": "arcface-112", "size": 112})
    out = stage([c.image for c in crops])
    assert stage._detector is None  # no detector was built, let alone run
    lm5 = template_points(112, 0.0, "arcface")
    errors = []
    for crop, face in zip(crops, out, strict=True):
        assert isinstance(face, AlignedFace)
        assert np.array_equal(face.image, crop.image)  # the crop passes unchanged
        np.testing.assert_allclose(face.landmarks5, lm5, atol=1e-3)
        np.testing.assert_allclose(face.transform, np.eye(2, 3), atol=1e-5)
        assert face.det_score == 1.0 and face.landmarks68.shape == (68, 2)
        errors.append(np.linalg.norm(face.landmarks68 - crop.landmarks68, axis=1).mean())
    # the 68 points on the crop agree with those the detecting path mapped into it
    assert float(np.median(errors)) < 2.5, errors


def test_other_output_sizes_rescale_the_crop(crops: list[AlignedFace]) -> None:
    out = DetectStage({"aligned": "arcface-112", "size": 160, "template": "arcface"})([crops[0].image])
    assert isinstance(out[0], AlignedFace) and out[0].image.shape == (160, 160, 3)
    np.testing.assert_allclose(out[0].landmarks5, template_points(160, 0.0, "arcface"), atol=1e-3)


def test_a_non_square_image_is_a_reject() -> None:
    (res,) = DetectStage({"aligned": "arcface-112"})([np.zeros((100, 112, 3), np.uint8)])
    assert isinstance(res, DetectReject) and res.reason == "not_aligned"
    assert "112x100" in res.detail


def test_aligned_config_values() -> None:
    assert DetectConfig().aligned == "auto"
    assert resolve_aligned("auto", recordio_input=True) == "arcface-112"
    assert resolve_aligned("auto", recordio_input=False) == "none"
    assert resolve_aligned("none", recordio_input=True) == "none"
    with pytest.raises(RecipeError, match="aligned"):
        DetectConfig.from_dict({"aligned": "arcface-96"})
