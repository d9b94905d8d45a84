"""Issue 22 (6): the dataset card's ``dataset_info.features`` make ``datasets.load_dataset(OUT)``
decode ``image`` / ``occlusion_mask`` as images and ``label`` as a ClassLabel (the installed
``datasets``, offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from maskforge.io.decode import encode_image
from maskforge.io.hf_features import features, features_yaml
from maskforge.io.schema import SAMPLE_SCHEMA, to_table
from maskforge.io.writer import write_shard

datasets = pytest.importorskip("datasets")

LABELS = {"Ann \"A\" Veneman": 0, "bob: the builder": 1, "Zoë": 2}


def test_features_match_what_datasets_itself_declares() -> None:
    want = datasets.Features.from_arrow_schema(SAMPLE_SCHEMA)
    want["image"] = datasets.Image()
    want["occlusion_mask"] = datasets.Image()
    want["label"] = datasets.ClassLabel(names=list(LABELS))
    assert features(SAMPLE_SCHEMA, LABELS) == want._to_yaml_list()
    parsed = yaml.safe_load("dataset_info:\n" + features_yaml(SAMPLE_SCHEMA, LABELS))
    assert parsed["dataset_info"]["features"] == want._to_yaml_list()  # quotes and ë survive


def test_load_dataset_decodes_images_and_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "out"
    rows = []
    for k, (ident, label) in enumerate(LABELS.items()):
        img = np.full((8, 6, 3), 40 * k, np.uint8)
        masked = k == 1
        rows.append({"sample_id": f"s{k}", "identity": ident, "label": label, "source_path": f"{k}.png",
                     "variant": "mask" if masked else "original", "image": encode_image(img, "png"),
                     "image_format": "png", "width": 6, "height": 8, "bbox": [0, 0, 6, 8],
                     "landmarks5": np.zeros((5, 2), np.float32), "occluded": masked,
                     "occluders": [{"kind": "mask", "name": "surgical-blue"}] if masked else [],
                     "occlusion_mask": encode_image(np.full((8, 6, 3), 255, np.uint8), "png") if masked else None,
                     "split": "train"})  # fmt: skip
    write_shard(to_table(rows, SAMPLE_SCHEMA), out / "dataset" / "shard-00000.parquet", {})
    (out / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path:\n"
        "    - dataset/shard-00000.parquet\ndataset_info:\n" + features_yaml(SAMPLE_SCHEMA, LABELS)
        + "\n---\n\n# test\n"
    )
    ds = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert isinstance(ds.features["label"], datasets.ClassLabel)
    assert ds.features["label"].names == list(LABELS)
    assert isinstance(ds.features["image"], datasets.Image)
    row = ds[0]
    assert row["image"].size == (6, 8) and row["image"].getpixel((0, 0)) == (0, 0, 0)
    assert ds[2]["image"].getpixel((0, 0)) == (80, 80, 80)
    assert ds.features["label"].int2str(ds[1]["label"]) == "bob: the builder"
    assert ds[1]["occlusion_mask"].size == (6, 8) and ds[0]["occlusion_mask"] is None
    assert ds[1]["occluders"] == [{"kind": "mask", "name": "surgical-blue", "color": None, "texture": None,
                                   "wear": None}]
    assert np.asarray(ds[0]["landmarks5"]).shape == (5, 2)
