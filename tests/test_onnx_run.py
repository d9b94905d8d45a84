"""Issue 22 (4): ``maskforge run --models DIR`` with an insightface-style model pack: the ONNX
detector and embedder through detect, embed and clean; their weights' SHA-256 in the stage keys
and the manifest, never their paths; a missing file stops the run before anything is written."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from maskforge.app.models import run_overrides
from maskforge.cli import main
from maskforge.pipeline import plan_run

from .test_onnx_models import models  # noqa: F401 - the tiny models fixture

RECIPE = """seed = 0
[detect]
input_size = 64
[clean]
threshold = 0.5
threshold_cap = 0.9
confusion_threshold = 0.7
confusion_margin = 0.0
"""
PEOPLE = ("Aaron_Peirsol", "Alexander_Downer", "Antonio_Banderas")


@pytest.fixture(scope="module")
def faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 identities x 4 real faces, copied to a temporary folder."""
    root = tmp_path_factory.mktemp("in")
    for name in PEOPLE:
        (root / name).mkdir()
        for src in sorted((lfw_dir / name).glob("*.jpg"))[:4]:
            (root / name / src.name).write_bytes(src.read_bytes())
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _keys(recipe: Path, faces: Path, out: Path, pack: Path) -> dict[str, str]:
    plan = plan_run(recipe, input=faces, output=out, overrides=run_overrides(recipe, (), str(pack)))
    return dict(plan.stage_keys)


def test_run_with_a_model_pack(models: dict[str, Path], faces: Path, tmp_path: Path) -> None:  # noqa: F811
    rec = tmp_path / "recipe.toml"
    rec.write_text(RECIPE)
    out = tmp_path / "out"
    args = ["run", str(rec), "--input", str(faces), "--output", str(out), "--models", str(models["pack"]),
            "--executor", "local", "--quiet"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text())
    det, emb = m["models"]["detect"], m["models"]["embed"]
    assert det["detector"] == f"onnx:{models['det']}" and det["sha256"] == _sha(models["det"])
    assert emb["name"] == f"onnx:{models['emb']}" and emb["sha256"] == _sha(models["emb"])
    c = m["counts"]
    assert emb["dim"] == 8 and c["rejects"] == 0 and c["samples"] + c["removed"] == 12
    scores = pq.read_table(out / "clean_scores.parquet").to_pylist()  # the cleaner ran on them
    assert len(scores) == 12 and {r["embedder"] for r in scores} == {f"onnx:{models['emb']}"}
    # the same files elsewhere: the same detect and embed keys; other weights: other keys
    moved = tmp_path / "moved_pack"
    shutil.copytree(models["pack"], moved)
    a = _keys(rec, faces, tmp_path / "o1", models["pack"])
    b = _keys(rec, faces, tmp_path / "o2", moved)
    assert a["detect"] == b["detect"] and a["embed"] == b["embed"]
    (moved / "det_10g.onnx").write_bytes(models["det_level"].read_bytes())  # other bytes, same role
    c = _keys(rec, faces, tmp_path / "o3", moved)
    assert c["detect"] != a["detect"] and c["embed"] != a["embed"]  # embed keys chain on detect


def test_a_missing_model_stops_the_run_before_any_write(faces: Path, tmp_path: Path) -> None:
    rec = tmp_path / "recipe.toml"
    rec.write_text(RECIPE)
    out = tmp_path / "out"
    missing = tmp_path / "models" / "det_10g.onnx"
    args = ["run", str(rec), "--input", str(faces), "--output", str(out), "--set",
            f"detect.detector=onnx:{missing}", "--executor", "local"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "never downloads weights" in res.output and str(missing) in res.output
    assert "Traceback" not in res.output and not out.exists()
    res = CliRunner().invoke(main, ["run", str(rec), "--input", str(faces), "--output", str(out),
                                    "--models", str(tmp_path / "nowhere")])  # fmt: skip
    assert res.exit_code == 2 and "model folder" in res.output and not out.exists()


def test_onnx_embedder_without_thresholds_says_what_to_set(models: dict[str, Path], faces: Path,  # noqa: F811
                                                           tmp_path: Path) -> None:
    rec = tmp_path / "recipe.toml"
    rec.write_text("seed = 0\n[detect]\ninput_size = 64\n[clean]\n")
    res = CliRunner().invoke(main, ["run", str(rec), "--input", str(faces), "--output", str(tmp_path / "o"),
                                    "--models", str(models["pack"]), "--dry-run"])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "no calibrated cleaning thresholds" in res.output and "clean.threshold_cap" in res.output


def test_detect_and_clean_commands_take_onnx_models(models: dict[str, Path], faces: Path,  # noqa: F811
                                                    tmp_path: Path) -> None:
    """`maskforge detect --models DIR` (the pack's detector) and `maskforge clean --embedder
    onnx:PATH` with the thresholds given."""
    res = CliRunner().invoke(main, ["detect", str(faces), "--output", str(tmp_path / "d"), "--models",
                                    str(models["pack"]), "--set", "detect.input_size=64", "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert m["models"]["detect"]["sha256"] == _sha(models["det"]) and m["counts"]["samples"] == 12
    args = ["clean", str(faces), "--output", str(tmp_path / "c"), "--embedder", f"onnx:{models['emb']}",
            "--threshold", "0.5", "--set", "detect.input_size=64", "--set", "clean.threshold_cap=0.9",
            "--set", "clean.confusion_threshold=0.7", "--set", "clean.confusion_margin=0",
            "--set", f"detect.detector=onnx:{models['det']}", "--quiet"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    scores = pq.read_table(tmp_path / "c" / "clean_scores.parquet").to_pylist()
    assert len(scores) == 12 and {r["embedder"] for r in scores} == {f"onnx:{models['emb']}"}
