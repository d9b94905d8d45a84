"""Types for users: py.typed ships, the public names are visible, choice types are valid Literals."""

from __future__ import annotations

import inspect
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

import maskforge
import maskforge.errors

ROOT = Path(__file__).resolve().parents[1]

#: The public names: functions and every public exception.
_VISIBLE = ["run", "read_shards", "list_samples", "decode_image",
            "MaskforgeError", "RecipeError", "SourceError", "DecodeError", "ModelNotFoundError",
            "ModelFileMissingError", "LicenceError",
            "DeviceError", "AssetError", "OutputError", "IncompleteRunError", "EvalError",
            "CorruptFileError", "DamagedManifestError", "OutputLockedError", "BoundError", "ClusterError"]


def test_py_typed_ships():
    assert (resources.files("maskforge") / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["maskforge"]


def test_public_exceptions_are_all_listed():
    """Every MaskforgeError subclass of maskforge.errors is among the names checked below."""
    errors = {
        name for name, obj in vars(maskforge.errors).items()
        if inspect.isclass(obj) and issubclass(obj, maskforge.errors.MaskforgeError)
    }
    assert errors <= set(_VISIBLE)


@pytest.mark.parametrize("name", _VISIBLE)
def test_public_name_in_dir_and_all(name):
    assert name in dir(maskforge)
    assert name in maskforge.__all__
    obj = getattr(maskforge, name)
    if inspect.isclass(obj):
        assert obj is getattr(maskforge.errors, name)
    else:
        assert callable(obj) and obj.__module__.startswith("maskforge")


def _choices():
    from maskforge.augment.config import PRESETS, Preset
    from maskforge.clean.config import ACTIONS, METHODS, Action, CleanConfig, Method
    from maskforge.detect.align import TEMPLATES, TemplateName
    from maskforge.detect.config import (
        DETECTORS,
        LANDMARKS,
        DetectConfig,
        DetectorName,
        LandmarksName,
    )
    from maskforge.detect.selection import POLICIES, Policy
    from maskforge.embed.config import EmbedConfig
    from maskforge.embed.factory import EMBEDDERS, EmbedderName
    from maskforge.recipe.tables import OccludeTable
    from maskforge.vocab import IN_FRONT, WEARS, InFront, Wear

    return [
        (DetectorName, DETECTORS, DetectConfig, "detector"),
        (LandmarksName, LANDMARKS, DetectConfig, "landmarks"),
        (Policy, POLICIES, DetectConfig, "select"),
        (TemplateName, TEMPLATES, DetectConfig, "template"),
        (EmbedderName, EMBEDDERS, EmbedConfig, "embedder"),
        (EmbedderName, EMBEDDERS, CleanConfig, "embedder"),
        (Method, METHODS, CleanConfig, "method"),
        (Action, ACTIONS, CleanConfig, "action"),
        (Wear, WEARS, None, None),
        (InFront, IN_FRONT, OccludeTable, "in_front"),
        (Preset, tuple(PRESETS), None, None),
    ]


#: Fields that take a built-in choice or ``onnx:PATH`` (issue 22): typed ``str``, checked by a
#: pattern that accepts exactly the Literal's values and ``onnx:`` names.
_OR_ONNX = {("DetectConfig", "detector"), ("EmbedConfig", "embedder"), ("CleanConfig", "embedder")}


def test_choice_types_are_literals_and_tuples_derive_from_them():
    for lit, values, model, field in _choices():
        assert get_origin(lit) is Literal
        assert get_args(lit) == values and all(isinstance(v, str) for v in values)
        if model is not None:
            if (model.__name__, field) in _OR_ONNX:
                assert model.model_fields[field].annotation is str
                for v in values:
                    assert getattr(model.parse({field: v}), field) == v
                assert getattr(model.parse({field: "onnx:/m/x.onnx"}), field) == "onnx:/m/x.onnx"
            else:
                assert model.model_fields[field].annotation is lit
            with pytest.raises(maskforge.RecipeError, match=field):
                model.parse({field: "no-such-choice"})
