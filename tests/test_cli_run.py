from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from maskforge import read_shards
from maskforge.cli import main

from .zoo import BAD, write_zoo

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "recipes" / "demo.toml")


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A recipe with no stage tables: list, decode, write the originals."""
    p = tmp_path_factory.mktemp("recipe") / "plain.toml"
    p.write_text('seed = 0\n[source]\nshard_size = 200\n')
    return str(p)


@pytest.fixture(scope="module")
def small_faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real identities plus a folder of the bad-input zoo."""
    root = tmp_path_factory.mktemp("faces")
    for name in sorted(p.name for p in lfw_dir.iterdir() if p.is_dir())[:3]:
        shutil.copytree(lfw_dir / name, root / name)
    write_zoo(root / "Zoo_Person")
    return root


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_help_lists_working_commands() -> None:
    code, out = invoke("--help")
    assert code == 0
    assert "run" in out and "inspect" in out


def test_run_inspect_resume(small_faces: Path, tmp_path: Path, plain: str) -> None:
    out = tmp_path / "out"
    n_files = sum(1 for p in small_faces.rglob("*") if p.is_file())
    code, text = invoke("run", plain, "--input", str(small_faces), "--output", str(out),
                        "--executor", "local", "--quiet", "--set", "source.shard_size=5")
    assert code == 0, text
    table = read_shards(out).to_table()
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    # every bad file is a reject with its reason, nothing else is missing
    assert {Path(r["source_path"]).name for r in rejects} == BAD
    assert all(r["stage"] == "decode" and r["identity"] == "Zoo_Person" for r in rejects)
    assert table.num_rows + len(rejects) == n_files
    assert len(set(table.column("sample_id").to_pylist())) == table.num_rows
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["recipe"]["source"]["shard_size"] == 5
    assert manifest["versions"]["torch"] and manifest["versions"]["pyarrow"]
    assert manifest["counts"]["samples"] == table.num_rows
    assert set(manifest["labels"]) == {p.name for p in small_faces.iterdir()}
    stats = json.loads(next((out / "dataset" / ".stats").glob("shard-*.json")).read_text())
    assert stats["seconds"]["decode"] >= 0

    # second run: nothing recomputed, nothing duplicated
    code, text = invoke("run", plain, "--input", str(small_faces), "--output", str(out),
                        "--executor", "local", "--quiet", "--set", "source.shard_size=5")
    assert code == 0
    assert "shards (processed / reused)" in text and f"0 / {manifest['shards']['total']}" in text
    assert read_shards(out).count_rows() == table.num_rows

    code, text = invoke("inspect", str(out), "--json")
    info = json.loads(text)
    assert info["samples"] == table.num_rows
    assert info["shards"]["done"] == info["shards"]["expected"]
    assert sum(info["rejects"].values()) == len(BAD)
    assert info["variants"] == {"original": table.num_rows}


def test_recipe_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = 1\n[select]\nper_identiy = 3\n")
    code, text = invoke("run", str(bad), "--input", str(tmp_path), "--output", str(tmp_path / "o"))
    assert code == 2
    assert "unknown key 'select.per_identiy' (did you mean 'per_identity'?)" in text
    code, text = invoke("run", DEMO, "--input", str(tmp_path / "missing"), "--output", str(tmp_path / "o"))
    assert code == 2 and "does not exist" in text
    code, text = invoke("run", DEMO, "--output", str(tmp_path / "o"), "--set", "seed")
    assert code == 2 and "expected key=value" in text


def test_run_through_ray(small_faces: Path, tmp_path: Path) -> None:
    out = tmp_path / "ray-out"
    code, text = invoke("run", DEMO, "--input", str(small_faces), "--output", str(out),
                        "--num-cpus", "2", "--quiet", "--set", "source.shard_size=20", "--set", "source.limit_identities=3")
    assert code == 0, text
    local = tmp_path / "local-out"
    invoke("run", DEMO, "--input", str(small_faces), "--output", str(local), "--executor", "local",
           "--quiet", "--set", "source.shard_size=20", "--set", "source.limit_identities=3")
    a = read_shards(out).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])
    b = read_shards(local).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])
    assert a.num_rows > 0 and set(a.column("variant").to_pylist()) == {"original", "aug", "mask+aug", "mask+aug#2"}
    assert a.equals(b)  # the whole demo pipeline gives the same bytes whichever executor ran it
