"""A real (tiny) run's output read by every common reader, exported as WebDataset, inspected."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads
import pytest
from click.testing import CliRunner

from maskforge import run
from maskforge.cli import main
from maskforge.cli.inspect import inspect_output
from maskforge.io.manifest import build_manifest, write_manifest
from maskforge.io.schema import SAMPLE_SCHEMA, to_table
from maskforge.io.writer import write_shard, write_table_atomic

RECIPE = """
seed = 2
variants = "reference"
[source]
shard_size = 4
[detect]
[select]
per_identity = 2
[split]
val_fraction = 0.25
by = "identity"
[augment]
preset = "reference"
[encode]
image_format = "jpeg"
"""


@pytest.fixture(scope="module")
def built(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 real identities x 2 images, the reference plan (4 variants per image), 3 shards (2 of
    train identities, 1 of val)."""
    root = tmp_path_factory.mktemp("faces")
    names = [n for n in sorted(p.name for p in lfw_dir.iterdir()) if len(list((lfw_dir / n).glob("*.jpg"))) >= 4][:4]
    for n in names:
        (root / n).mkdir()
        for f in sorted((lfw_dir / n).glob("*.jpg"))[:2]:
            shutil.copy(f, root / n / f.name)
    recipe = root.parent / "recipe.toml"
    recipe.write_text(RECIPE)
    out = tmp_path_factory.mktemp("out")
    run(recipe, input=root, output=out, executor="local")
    return out


def test_occluded_column_and_shuffled_write_order(built: Path) -> None:
    t = pads.dataset(built / "dataset").to_table()
    rows = t.to_pylist()
    assert len(rows) == json.loads((built / "manifest.json").read_text())["counts"]["samples"] > 0
    for r in rows:
        assert r["occluded"] == bool(r["occluders"]) == r["variant"].startswith("mask")
    shard0 = pads.dataset(built / "dataset" / "shard-00000.parquet").to_table()
    idents = shard0.column("identity").to_pylist()
    assert idents != sorted(idents)  # rows are written in a seeded shuffled order


def test_every_reader_reads_the_dataset_folder(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = built / "dataset"
    expected = pads.dataset(folder).count_rows()
    files = json.loads((built / "manifest.json").read_text())["dataset_files"]
    assert len(files) >= 2  # train and val identities are in separate shards
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        Path(f).name for f in files
    ]
    import pandas as pd

    assert len(pd.read_parquet(folder)) == expected
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    hf = datasets.load_dataset("parquet", data_dir=str(folder), cache_dir=str(tmp_path / "hf-cache"))
    assert hf["train"].num_rows == expected and "occluded" in hf["train"].column_names


@pytest.mark.slow
def test_ray_data_reads_the_dataset_folder(built: Path) -> None:
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        assert ray.data.read_parquet(str(built / "dataset")).count() == pads.dataset(built / "dataset").count_rows()
    finally:
        if started:
            ray.shutdown()


def test_export_webdataset(built: Path, tmp_path: Path) -> None:
    dst = tmp_path / "wds"
    result = CliRunner().invoke(main, ["export", str(built), str(dst), "--format", "webdataset",
                                       "--variant", "mask", "--split", "train", "--maxcount", "5"])
    assert result.exit_code == 0, result.output
    t = pads.dataset(built / "dataset").to_table().to_pylist()
    want = {(r["sample_id"], r["variant"]): r for r in t if r["variant"].startswith("mask") and r["split"] == "train"}
    shards = sorted(dst.glob("shard-*.tar"))
    assert len(shards) == -(-len(want) // 5)
    got = {}
    for shard in shards:
        with tarfile.open(shard) as tar:
            for m in tar.getmembers():
                key, ext = m.name.split(".", 1)
                got.setdefault(key, {})[ext] = tar.extractfile(m).read()
    assert len(got) == len(want)
    for files in got.values():
        assert set(files) == {"jpg", "cls", "json"}
        meta = json.loads(files["json"])
        row = want[(meta["sample_id"], meta["variant"])]
        assert files["jpg"] == row["image"] and int(files["cls"]) == row["label"] == meta["label"]
        assert meta["occluded"] is True and len(meta["landmarks68"]) == 68
    same = CliRunner().invoke(main, ["export", str(built), str(tmp_path / "wds2"), "--format", "webdataset",
                                     "--variant", "mask", "--split", "train", "--maxcount", "5"])
    assert same.exit_code == 0 and [p.read_bytes() for p in sorted((tmp_path / "wds2").glob("*.tar"))] == [
        p.read_bytes() for p in shards
    ]  # same run, same bytes
    again = CliRunner().invoke(main, ["export", str(built), str(dst), "--format", "webdataset"])
    assert again.exit_code == 2 and "already holds" in again.output  # never overwrites
    bad = CliRunner().invoke(main, ["export", str(built), str(tmp_path / "x"), "--split", "test"])
    assert bad.exit_code == 2 and "'train', 'val'" in bad.output


def test_inspect_lists_top_removals(tmp_path: Path) -> None:
    img = io.BytesIO()
    rows = [{"sample_id": f"s{i}", "identity": "a", "label": 0, "source_path": f"a/{i}.jpg", "variant": "original",
             "image": img.getvalue()} for i in range(3)]
    write_shard(to_table(rows, SAMPLE_SCHEMA), tmp_path / "dataset" / "shard-00000.parquet", {})
    removed = [{**r, "sample_id": f"r{i}", "source_path": f"a/bad{i}.jpg", "clean_score": s}
               for i, (r, s) in enumerate(zip(rows, [0.9, 1.4, 1.1], strict=True))]
    write_table_atomic(to_table(removed, SAMPLE_SCHEMA), tmp_path / "removed" / "shard-00000.parquet")
    write_manifest(build_manifest(recipe={}, input_path="in", output_path=str(tmp_path), labels={}, counts={},
                                  timings={}, models={}, shards={"total": 1},
                                  dataset_files=["dataset/shard-00000.parquet"]), tmp_path)
    info = inspect_output(tmp_path)
    assert [r["source_path"] for r in info["top_removals"]] == ["a/bad1.jpg", "a/bad2.jpg", "a/bad0.jpg"]
    assert np.isclose(info["top_removals"][0]["score"], 1.4) and info["removed"] == 3
    text = CliRunner().invoke(main, ["inspect", str(tmp_path)]).output
    assert "a/bad1.jpg" in text and "1.400" in text and "complete" in text

