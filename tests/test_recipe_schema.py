"""The one typed recipe schema (issue 10, item 2): every table validated by its model, one
RecipeError naming the key path, the same validation for files, --set, overrides= and Recipe
objects, one occluder-choice language, and docs/recipes.md generated from the schema."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import maskforge
from maskforge.cli import main
from maskforge.detect import DetectConfig
from maskforge.errors import RecipeError
from maskforge.occlude.spec import OccluderChoice, occluder_spec, parse_mix
from maskforge.pipeline import plan_run
from maskforge.recipe import Recipe, docs_tables, load_recipe
from maskforge.recipe.docs import generated_part
from maskforge.seeding import rng_for

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").glob("*.toml"))
DETECT = "[detect]\n"  # tables that need detection get it


def fails(text: str, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(text=text, overrides=overrides)
    return str(info.value)


# one misspelt key in each table (nested tables too): the error names the full key path and
# suggests the right key
@pytest.mark.parametrize(
    ("text", "path", "near"),
    [
        ("sede = 1", "sede", "seed"),
        ("[source]\nshard_sise = 5", "source.shard_sise", "shard_size"),
        ("[encode]\nqualty = 90", "encode.qualty", "quality"),
        ("[detect]\ndetektor = 'mtcnn'", "detect.detektor", "detector"),
        ("[detect]\n[embed]\nbatchsize = 8", "embed.batchsize", "batch_size"),
        ("[detect]\n[clean]\nmethd = 'robust'", "clean.methd", "method"),
        ("[select]\nper_identiy = 2", "select.per_identiy", "per_identity"),
        ("[split]\nval_fractoin = 0.2", "split.val_fractoin", "val_fraction"),
        ("[augment]\nrotat = { p = 1 }", "augment.rotat", "rotate"),
        ("[augment]\nrotate = { limt = 3 }", "augment.rotate.limt", "limit"),
        ("[occlude]\nasset_dir = ['x']", "occlude.asset_dir", "asset_dirs"),
        ("[ray]\nnum_cpu = 2", "ray.num_cpu", "num_cpus"),
        ("[[variants]]\nname = 'a'\naugmnt = true", "variants[0].augmnt", "augment"),
        (
            DETECT + "[[variants]]\nname = 'a'\n[[variants]]\nname = 'b'\n"
            "occluder = { choice = 'n95', colour = 'red' }",
            "variants[1].occluder.colour",
            "color",
        ),
    ],
)
def test_unknown_key_names_the_path_and_suggests(text: str, path: str, near: str) -> None:
    message = fails(text)
    assert f"unknown key {path!r} (did you mean {near!r}?)" in message
    assert message.startswith("<recipe>: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed = true", "seed must be int, got True"),
        ("name = 3", "name must be a string, got 3"),
        ("[source]\nshard_size = 1.5", "source.shard_size must be a number of images > 0, or \"auto\", got 1.5"),
        ("[encode]\nimage_format = 'gif'", "encode.image_format must be one of 'jpeg', 'png', 'webp'"),
        ("[detect]\nalign = 1", "detect.align must be true or false, got 1"),
        ("[detect]\nmargin = '0.1'", "detect.margin must be a number, got '0.1'"),
        ("[detect]\nthresholds = [0.6, 0.7]", "detect.thresholds must be 3 numbers in 0..1"),
        ("[detect]\n[embed]\nembedder = 'arcface'", "embed.embedder must be auto, facenet-vggface2, dlib-resnet, dlib-resnet-native or onnx:PATH"),
        ("[detect]\n[clean]\nnearest_identity = 'yes'", "clean.nearest_identity must be true or false"),
        ("[split]\nby = 'person'", "split.by must be one of 'identity', 'image', got 'person'"),
        ("[augment]\nblur = 3", "augment.blur must be a table of options, true or false, got 3"),
        ("[occlude]\nasset_dirs = 'x'", "occlude.asset_dirs must be an array, got 'x'"),
        ("[ray]\naddress = 5", "ray.address must be a string, got 5"),
        ("select = 3", "select must be a table, got 3"),
        ("variants = 3", "variants must be a built-in plan name"),
        ("[[variants]]\nname = 'a'\ncount = 'two'", "variants[0].count must be int, got 'two'"),
        (
            DETECT + "[[variants]]\nname = 'a'\noccluder = { choice = 'n95', wear = 'upside' }",
            "variants[0].occluder.wear must be one of 'correct', 'nose_exposed', 'chin', got 'upside'",
        ),
    ],
)
def test_wrong_type_names_the_path(text: str, message: str) -> None:
    assert message in fails(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed = -1", "seed must be >= 0, got -1"),
        ("[source]\nmax_pixels = 0", "source.max_pixels must be > 0, got 0"),
        ("[encode]\nquality = 101", "encode.quality must be in [1, 100], got 101"),
        ("[detect]\nsize = 5", "detect.size must be in [16, 1024], got 5"),
        ("[detect]\nthresholds = [0.6, 0.7, 1.5]", "detect.thresholds must be 3 numbers in 0..1"),
        ("[detect]\ndevice = 'tpu'", "detect.device must be auto, cpu, cuda or cuda:N, got 'tpu'"),
        ("[detect]\n[embed]\nbatch_size = 0", "embed.batch_size must be > 0, got 0"),
        ("[detect]\n[clean]\nthreshold = 2.5", "clean.threshold must be in (0, 2], got 2.5"),
        ("[detect]\n[clean]\nmin_images = 1", "clean.min_images must be >= 2, got 1"),
        ("[select]\nper_identity = 0", "select.per_identity must be > 0, got 0"),
        ("[split]\nval_fraction = 1.0", "split.val_fraction must be in [0, 1), got 1.0"),
        ("[augment]\nrotate = { p = 1.5 }", "augment.rotate.p must be a number in [0, 1], got 1.5"),
        ("[ray]\nnum_gpus = -1", "ray.num_gpus must be >= 0, got -1"),
        ("[[variants]]\nname = 'a'\ncount = 0", "variants[0].count must be >= 1, got 0"),
        (
            DETECT + "[[variants]]\nname = 'a'\noccluder = { choice = { n95 = -1 } }",
            "variants[0].occluder.choice.n95 must be > 0, got -1",
        ),
    ],
)
def test_out_of_range_names_the_path(text: str, message: str) -> None:
    assert message in fails(text)


def test_cross_table_checks() -> None:
    assert "[clean] needs a [detect] table" in fails("[clean]")
    assert "variants with occluders need a [detect] table" in fails("variants = 'reference'")
    assert "variants[0]: give 'occluder' or 'occluders', not both" in fails(
        DETECT + "[[variants]]\nname = 'a'\noccluder = 'n95'\noccluders = ['n95']"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("detect.size=5",), "detect.size must be in [16, 1024], got 5"),
        (("detect.detectr=mtcnn",), "unknown key 'detect.detectr' (did you mean 'detector'?)"),
        (("select.per_identity=two",), "select.per_identity must be int, got 'two'"),
        (("augment.rotate.p=2",), "augment.rotate.p must be a number in [0, 1], got 2"),
        (("ray=1",), "ray must be a table, got 1"),
    ],
)
def test_set_and_overrides_go_through_the_schema(tmp_path: Path, overrides, message) -> None:
    demo = ROOT / "recipes" / "demo.toml"
    with pytest.raises(RecipeError, match=re.escape(message)):
        load_recipe(demo, overrides)
    with pytest.raises(RecipeError, match=re.escape(message)):  # Python overrides=
        maskforge.run(demo, input=tmp_path, output=tmp_path / "out", overrides=list(overrides))
    result = CliRunner().invoke(  # --set: exit 2, one message, no traceback
        main,
        ["run", str(demo), "--input", str(tmp_path), "--output", str(tmp_path / "o")]
        + [a for o in overrides for a in ("--set", o)],
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_recipe_object_through_plan_run_is_validated(tmp_path: Path) -> None:
    """On the old main, ``plan_run(Recipe)`` skipped the stage validation: a ``[detect]``
    with ``size = 5`` was accepted. Now a Recipe object is validated again, and overrides given
    with it are applied (they were ignored)."""
    bad = Recipe.model_construct(detect=DetectConfig.model_construct(size=5))
    with pytest.raises(RecipeError, match=re.escape("detect.size must be in [16, 1024], got 5")):
        plan_run(bad, input=tmp_path, output=tmp_path / "out")
    good = load_recipe(text="[detect]\nsize = 112")
    with pytest.raises(RecipeError, match=re.escape("detect.size must be in [16, 1024]")):
        plan_run(good, input=tmp_path, output=tmp_path / "out", overrides=["detect.size=5"])
    with pytest.raises(RecipeError, match=re.escape("detect.size must be in [16, 1024], got 5")):
        Recipe(detect={"size": 5})
    with pytest.raises(RecipeError, match=re.escape("detect.size must be in [16, 1024], got 5")):
        DetectConfig(size=5)


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_resolved_recipe_is_a_recipe(path: Path) -> None:
    """What the manifest records (every present table, defaults filled in) loads back as the
    same recipe, and keeps which stages run."""
    recipe = load_recipe(path)
    again = load_recipe(data=recipe.to_dict())
    assert again.to_dict() == recipe.to_dict() and again.path is None and recipe.path == path
    raw = set(__import__("tomllib").loads(path.read_text()))
    assert set(recipe.to_dict()) == raw | {"seed", "name", "input", "output", "input_license", "licence", "source", "encode", "ray"}


def test_defaults_unchanged() -> None:
    d = load_recipe(text="[detect]\n[clean]\n[select]\n[split]\n[augment]\n[occlude]").to_dict()
    assert d["source"] == {"shard_size": "auto", "max_pixels": 40_000_000, "min_side": 1,
                           "limit_identities": None}
    assert d["encode"] == {"image_format": "jpeg", "quality": 95}
    assert d["detect"] == {
        "detector": "dlib-hog", "landmarks": "dlib68", "aligned": "auto", "upsample": 0,
        "upsample_fallback": 1, "select": "center-weighted",
        "size": 112, "margin": 0.0, "align": True, "template": "auto", "min_face_size": 20,
        "min_score": None, "max_outside": 0.3, "device": "auto", "runtime": "auto",
        "thresholds": (0.6, 0.7, 0.7),
        "batch_size": 32, "input_size": 640, "det_threshold": 0.5, "nms_iou": 0.4,
    }
    assert d["split"] == {"val_fraction": 0.1, "by": "identity"}
    assert d["clean"]["method"] == "robust" and d["clean"]["min_images"] == 3
    assert {k: v for k, v in d["augment"].items() if v is not None} == {"preset": "reference"}


@settings(max_examples=60, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10, 2000))
def test_integer_bounds_property(shard_size: int, size: int) -> None:
    text = f"[source]\nshard_size = {shard_size}\n[detect]\nsize = {size}"
    if shard_size > 0 and 16 <= size <= 1024:
        d = load_recipe(text=text).to_dict()
        assert (d["source"]["shard_size"], d["detect"]["size"]) == (shard_size, size)
    else:
        message = fails(text)
        key = "source.shard_size" if shard_size <= 0 else "detect.size"
        assert f"{key} must be " in message and message.count("must be") == 1


def test_one_occluder_choice_language() -> None:
    """``overlay --mix`` and a recipe's ``occluder`` build the same model and draw the same."""
    cli = OccluderChoice.from_cli(mix="surgical-blue:3,n95:1", wear="chin")
    recipe = load_recipe(
        text=DETECT + "[[variants]]\nname = 'm'\noccluder = { choice = ['surgical-blue', 'n95'], "
        "weights = [3, 1], wear = 'chin' }"
    )
    from maskforge.pipeline.variant_stage import variants_of

    (variant,) = variants_of(recipe.to_dict())
    assert variant.occluder == cli == parse_mix("surgical-blue:3,n95:1", wear="chin")
    draws = [cli.draw(rng_for(1, k)) for k in range(400)]
    assert draws == [variant.occluder.draw(rng_for(1, k)) for k in range(400)]
    share = np.mean([d.name == "surgical" for d in draws])
    assert 0.68 < share < 0.82 and {d.wear for d in draws} == {"chin"}
    # a wear token in a name wins over the choice's wear, on both paths
    assert occluder_spec("n95+nose_exposed", "chin").wear == "nose_exposed"
    assert OccluderChoice.from_cli(["n95+nose_exposed"], wear="chin").draw(rng_for(0)).wear == (
        "nose_exposed"
    )


def test_wear_modes_are_defined_once() -> None:
    pattern = re.compile(r"""["']correct["'],\s*["']nose_exposed["'],\s*["']chin["']""")
    hits = [
        f"{p.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        for p in sorted((ROOT / "maskforge").rglob("*.py"))
        for text in [p.read_text(encoding="utf-8")]
        for m in pattern.finditer(text)
    ]
    assert len(hits) == 1 and hits[0].startswith("maskforge/vocab.py:"), hits


def test_docs_tables_agree_with_the_schema() -> None:
    """docs/recipes.md's key tables are exactly what the schema generates
    (regenerate: python -m maskforge.recipe --docs --write docs/recipes.md)."""
    docs = (ROOT / "docs" / "recipes.md").read_text(encoding="utf-8")
    assert generated_part(docs) == docs_tables()
    tables = docs_tables()
    for model, title in [(DetectConfig, "`[detect]`"), (Recipe, "Top level")]:
        section = tables.split(title, 1)[1].split("\n### ", 1)[0]
        for key in model.model_fields:
            if key not in Recipe.model_fields or model is DetectConfig or key in (
                "seed", "name", "input", "output", "variants"
            ):
                assert f"| `{key}` |" in section, key
