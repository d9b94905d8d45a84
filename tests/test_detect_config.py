"""DetectConfig validation and face selection policies (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from maskforge.detect import DetectConfig, Face, select_face
from maskforge.errors import RecipeError


def test_defaults_and_round_trip():
    c = DetectConfig()
    assert (c.detector, c.upsample, c.upsample_fallback, c.select) == (
        "dlib-hog",
        0,
        1,
        "center-weighted",
    )
    assert (c.size, c.margin, c.align, c.device) == (112, 0.0, True, "auto")
    d = c.to_dict()
    assert DetectConfig.from_dict(d) == c
    c2 = DetectConfig.from_dict({"detector": "mtcnn", "size": 160, "thresholds": [0.5, 0.6, 0.7]})
    assert c2.thresholds == (0.5, 0.6, 0.7) and c2.size == 160


@pytest.mark.parametrize(
    "table, field",
    [
        ({"detectr": "dlib-hog"}, "detectr"),
        ({"detector": "yolo"}, "detector"),
        ({"upsample": -1}, "upsample"),
        ({"upsample": 1.5}, "upsample"),
        ({"upsample_fallback": "1"}, "upsample_fallback"),
        ({"select": "random"}, "select"),
        ({"size": 8}, "size"),
        ({"size": True}, "size"),
        ({"margin": -0.1}, "margin"),
        ({"margin": "0.1"}, "margin"),
        ({"align": 1}, "align"),
        ({"template": "vgg"}, "template"),
        ({"min_face_size": 5}, "min_face_size"),
        ({"min_score": "high"}, "min_score"),
        ({"device": "tpu"}, "device"),
        ({"max_outside": 1.5}, "max_outside"),
        ({"thresholds": [0.6, 0.7]}, "thresholds"),
        ({"thresholds": [0.6, 0.7, 1.5]}, "thresholds"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_tables_raise_recipe_error_naming_the_field(table, field):
    with pytest.raises(RecipeError, match=field):
        DetectConfig.from_dict(table)


def test_from_dict_rejects_non_tables():
    with pytest.raises(RecipeError):
        DetectConfig.from_dict(["detector"])  # type: ignore[arg-type]


def face(x1, y1, x2, y2, score=1.0) -> Face:
    return Face(np.array([x1, y1, x2, y2], np.float32), score, np.zeros((5, 2), np.float32))


SHAPE = (250, 500)  # H, W: centre at (249.5, 124.5)
CENTRAL = face(200, 75, 300, 175, score=0.5)  # 100 px, at the centre
BIG = face(0, 0, 180, 180, score=0.9)  # 180 px, off-centre
SHARP = face(380, 100, 440, 160, score=2.0)  # small, best score


def test_policies_pick_the_right_face():
    faces = [BIG, SHARP, CENTRAL]
    assert select_face(faces, SHAPE, "center") == (CENTRAL, None)
    assert select_face(faces, SHAPE, "largest") == (BIG, None)
    assert select_face(faces, SHAPE, "best") == (SHARP, None)
    assert select_face(faces, SHAPE, "center-weighted") == (CENTRAL, None)
    # a much larger face slightly off-centre beats a small central one
    near_big = face(150, 0, 400, 250)  # 250 px, offset 25 px
    assert select_face([CENTRAL, near_big], SHAPE)[0] is near_big


def test_reject_reasons():
    assert select_face([], SHAPE) == (None, "no_face")
    assert select_face([CENTRAL, BIG], SHAPE, min_score=1.5) == (None, "low_score")
    assert select_face([CENTRAL, SHARP], SHAPE, min_size=120) == (None, "face_too_small")
    # filters leave the others in play
    assert select_face([CENTRAL, BIG], SHAPE, "center", min_score=0.8) == (BIG, None)
    with pytest.raises(ValueError):
        select_face([CENTRAL], SHAPE, "random")
