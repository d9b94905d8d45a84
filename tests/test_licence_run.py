"""``licence = "commercial"`` in a recipe: refused before any write, listed in card and manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskforge import LicenceError, run
from maskforge.pipeline import plan_run


def _inputs(lfw_dir: Path, root: Path, identities: int = 2, per: int = 2) -> Path:
    names = sorted(p.name for p in lfw_dir.iterdir() if len(list(p.glob("*.jpg"))) >= per)
    for name in names[:identities]:
        (root / name).mkdir(parents=True)
        for f in sorted((lfw_dir / name).glob("*.jpg"))[:per]:
            shutil.copy(f, root / name / f.name)
    return root


def _recipe(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "recipe.toml"
    p.write_text("seed = 0\n" + text)
    return p


def test_commercial_refuses_dlib68_before_any_write(lfw_dir: Path, tmp_path: Path) -> None:
    src = _inputs(lfw_dir, tmp_path / "in")
    rec = _recipe(tmp_path, 'licence = "commercial"\n[detect]\n')
    with pytest.raises(LicenceError, match=r"dlib-68 \(dlib 68-point shape predictor"):
        plan_run(rec, input=src, output=tmp_path / "out")
    with pytest.raises(LicenceError):
        run(rec, input=src, output=tmp_path / "out", executor="local")
    assert not (tmp_path / "out").exists()


def test_models_used_names_the_resolved_embedder() -> None:
    from maskforge.models import check_licence
    from maskforge.pipeline.plan import models_used
    from maskforge.recipe import load_recipe

    rec = load_recipe(text='licence = "commercial"\n[detect]\ndetector = "blazeface"\n'
                      'landmarks = "mesh"\n[embed]\n')
    assert models_used(rec, {"name": "dlib-resnet"}) == ["blazeface", "mesh", "dlib-resnet"]
    check_licence(models_used(rec, {"name": "dlib-resnet"}), rec.licence)
    with pytest.raises(LicenceError, match="facenet-vggface2 .*not established"):
        check_licence(models_used(rec, {"name": "facenet-vggface2"}), rec.licence)


def test_commercial_run_with_mediapipe_lists_models_in_card_and_manifest(
    lfw_dir: Path, tmp_path: Path
) -> None:
    src, out = _inputs(lfw_dir, tmp_path / "in"), tmp_path / "out"
    rec = _recipe(
        tmp_path,
        'licence = "commercial"\n[detect]\ndetector = "blazeface"\nlandmarks = "mesh"\n'
        'device = "cpu"\n',
    )
    run(rec, input=src, output=out, executor="local")
    m = json.loads((out / "manifest.json").read_text())
    names = [x["name"] for x in m["model_licences"]]
    assert names == ["blazeface", "mesh"]
    assert all(x["commercial"] is True and "Apache-2.0" in x["licence"] for x in m["model_licences"])
    card = (out / "README.md").read_text()
    assert "non-commercial" not in card and "iBUG" not in card
    assert '`blazeface`: MediaPipe face detector' in card and 'licence = "commercial"' in card
    assert m["counts"]["samples"] == 4


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["detect", "{src}", "--output", "{out}", "--licence", "commercial"], "dlib-68"),
        (["overlay", "{src}", "{out}", "--licence", "commercial"], "dlib-68"),
        (["clean", "{src}", "--output", "{out}", "--licence", "commercial", "--embedder",
          "dlib-resnet"], "dlib-68"),
    ],
)  # fmt: skip
def test_direct_commands_refuse_with_one_message(lfw_dir, tmp_path, argv, refused) -> None:
    from click.testing import CliRunner

    from maskforge.cli import main

    src, out = _inputs(lfw_dir, tmp_path / "in"), tmp_path / "out"
    args = [a.format(src=src, out=out) for a in argv]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert f"{refused} (" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_detect_command_commercial_with_mediapipe(lfw_dir, tmp_path) -> None:
    from click.testing import CliRunner

    from maskforge.cli import main

    src, out = _inputs(lfw_dir, tmp_path / "in"), tmp_path / "out"
    args = ["detect", str(src), "--output", str(out), "--detector", "blazeface", "--landmarks",
            "mesh", "--licence", "commercial", "--set", "detect.device=cpu", "--quiet"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text())
    assert [x["name"] for x in m["model_licences"]] == ["blazeface", "mesh"]
    assert m["recipe"]["licence"] == "commercial" and m["recipe"]["detect"]["landmarks"] == "mesh"


def test_overlay_command_commercial_with_mediapipe(lfw_dir, tmp_path) -> None:
    """``overlay --detector blazeface --landmarks mesh`` places from the mesh's 68 points, so
    ``--licence commercial`` passes; its masks cover the lower faces that dlib's points cover."""
    from click.testing import CliRunner

    from maskforge.cli import main

    src = _inputs(lfw_dir, tmp_path / "in")
    outs = {}
    for name, extra in (("mesh", ["--detector", "blazeface", "--landmarks", "mesh", "--licence",
                                  "commercial"]), ("dlib", [])):  # fmt: skip
        outs[name] = (tmp_path / name, tmp_path / f"{name}-masks")
        args = ["overlay", str(src), str(outs[name][0]), "--masks-dir", str(outs[name][1]), "--quiet",
                "--in-front", "off", *extra]  # fmt: skip
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
    masks = sorted(p.relative_to(outs["dlib"][1]) for p in outs["dlib"][1].rglob("*.png"))
    assert masks and masks == sorted(p.relative_to(outs["mesh"][1]) for p in outs["mesh"][1].rglob("*.png"))
    for rel in masks:
        a = np.asarray(Image.open(outs["dlib"][1] / rel)) > 127
        b = np.asarray(Image.open(outs["mesh"][1] / rel)) > 127
        assert (a & b).sum() / (a | b).sum() > 0.6, rel  # the same region, from other points
        assert not np.array_equal(a, b)  # the mesh's own points, not dlib's
