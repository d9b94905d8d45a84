from __future__ import annotations

from pathlib import Path

import pytest

from maskforge.errors import RecipeError
from maskforge.recipe import load_recipe, parse_value

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_and_demo_recipe() -> None:
    r = load_recipe(ROOT / "recipes" / "demo.toml")
    assert r.seed == 0
    assert r.data["source"]["shard_size"] == "auto"
    assert r.data["source"]["max_pixels"] == 40_000_000
    assert r.data["encode"]["image_format"] == "jpeg"
    assert r.data["select"] == {"per_identity": 5, "min_images": 1, "max_identities": None}
    assert not r.has("ray") or r.data["ray"]["num_cpus"] is None


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ("sed = 1", [], "unknown key 'sed' (did you mean 'seed'?)"),
        ("[select]\nper_identiy = 2", [], "unknown key 'select.per_identiy' (did you mean 'per_identity'?)"),
        ("seed = 'x'", [], "seed must be int"),
        ("seed = true", [], "seed must be int"),
        ("[select]\nper_identity = 0", [], "select.per_identity must be > 0"),
        ("[split]\nby = 'person'", [], "split.by must be one of 'identity', 'image'"),
        ("[split]\nval_fraction = 1.5", [], "must be in [0, 1)"),
        ("select = 3", [], "select must be a table"),
        ("seed = [", [], "not valid TOML"),
        ("", ["seed"], "expected key=value"),
        ("", ["source.shard_size=-4"], "source.shard_size must be a number of images > 0"),
        ("", ["bogus.key=1"], "unknown key 'bogus'"),
    ],
)
def test_validation_errors(text: str, overrides: list[str], message: str) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(text=text, overrides=overrides)
    assert message in str(info.value)


def test_overrides() -> None:
    r = load_recipe(text="seed = 1\n[select]\nper_identity = 5", overrides=["seed=7", "select.per_identity=2", "split.by=image"])
    assert r.seed == 7
    assert r.data["select"]["per_identity"] == 2
    assert r.data["split"] == {"val_fraction": 0.1, "by": "image"}


def test_parse_value() -> None:
    assert parse_value("7") == 7
    assert parse_value("0.5") == 0.5
    assert parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("surgical-blue") == "surgical-blue"
    assert parse_value('"7"') == "7"


def test_stage_table_errors_are_prefixed() -> None:
    with pytest.raises(RecipeError, match=r"^<recipe>: detect\.detector must be dlib-hog, mtcnn, dlib-cnn, blazeface, blazeface-full or onnx:PATH"):
        load_recipe(text="[detect]\ndetector='x'")
