from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

from maskforge.io.decode import encode_image
from maskforge.io.manifest import write_manifest
from maskforge.io.schema import SAMPLE_SCHEMA, to_table
from maskforge.io.writer import write_shard

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "train_tiny.py"


def test_train_tiny_runs_on_a_handful_of_samples(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [
        {"sample_id": f"s{i}", "identity": f"id{i % 3}", "label": i % 3, "source_path": f"{i}.png",
         "variant": "original", "image": encode_image(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), "png"),
         "image_format": "png", "split": "train"}
        for i in range(12)
    ]
    write_shard(to_table(rows, SAMPLE_SCHEMA), tmp_path / "dataset" / "shard-00000.parquet", {})
    write_manifest({"labels": {"id0": 0, "id1": 1, "id2": 2}, "recipe": {"split": {"by": "identity"}}}, tmp_path)
    spec = importlib.util.spec_from_file_location("train_tiny", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.main([str(tmp_path), "--batch-size", "4", "--workers", "0", "--size", "32", "--epochs", "2",
                       "--save-labels", str(tmp_path / "labels-train.csv")])
    hist = result["history"]
    assert [h["images"] for h in hist] == [12, 12]  # every sample once per epoch
    assert all(math.isfinite(h["loss"]) and h["loss"] > 0 for h in hist)
    assert (tmp_path / "labels-train.csv").read_text().splitlines()[0] == "identity,label,global_label"
