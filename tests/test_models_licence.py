"""The model licence registry and ``check_licence``."""

from __future__ import annotations

import pytest

from maskforge.detect import DetectConfig
from maskforge.detect.config import DETECTORS
from maskforge.embed.factory import EMBEDDERS
from maskforge.errors import LicenceError, RecipeError
from maskforge.models import MODEL_LICENCES, check_licence, model_licence


def test_every_selectable_model_is_registered():
    for name in [*DETECTORS, "dlib-68", "dlib68", "mesh", *(e for e in EMBEDDERS if e != "auto")]:
        assert model_licence(name).licence


def test_commercial_refuses_dlib68_naming_model_and_licence():
    with pytest.raises(LicenceError) as info:
        check_licence(DetectConfig().models_used(), "commercial")
    msg = str(info.value)
    assert "dlib-68" in msg and "iBUG 300-W" in msg and "dlib-hog (" not in msg


def test_commercial_lists_every_refused_model_once():
    with pytest.raises(LicenceError) as info:
        check_licence(["dlib-68", "dlib68", "facenet-vggface2", "mesh"], "commercial")
    msg = str(info.value)
    assert msg.count("dlib-68 (") == 1 and "facenet-vggface2 (" in msg and "mesh (" not in msg


def test_mediapipe_models_pass_and_any_checks_nothing():
    used = DetectConfig(detector="blazeface", landmarks="mesh").models_used()
    assert used == ["blazeface", "mesh"]
    check_licence([*used, "dlib-resnet"], "commercial")
    check_licence(["dlib-68"], "any")
    assert MODEL_LICENCES["mesh"].commercial is True


def test_dlib_detectors_always_bring_the_68_point_model():
    assert "dlib-68" in DetectConfig(detector="dlib-hog", landmarks="mesh").models_used()
    assert DetectConfig(detector="mtcnn", landmarks="mesh").models_used() == ["mtcnn", "mesh"]


def test_unknown_licence_value_is_a_recipe_error():
    with pytest.raises(RecipeError, match="licence must be one of"):
        check_licence([], "research")


def test_your_own_onnx_model_is_recorded_and_not_refused():
    from maskforge.models import check_licence, model_licence

    check_licence(["onnx:/models/det_10g.onnx", "onnx", "blazeface", "mesh"], "commercial")
    record = model_licence("onnx:/models/det_10g.onnx")
    assert record.name == "onnx:/models/det_10g.onnx" and "yours to check" in record.licence
