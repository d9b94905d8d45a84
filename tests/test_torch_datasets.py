from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from maskforge.io.decode import encode_image
from maskforge.io.schema import SAMPLE_SCHEMA, to_table
from maskforge.io.writer import write_shard
from maskforge.torch import ShardDataset, ShardIterableDataset


def _collate_ids(items):
    return [it["sample_id"] for it in items]


@pytest.fixture(scope="module")
def run_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    n = 0
    for shard in range(3):
        rows = []
        for _ in range(150 + 40 * shard):  # several row groups of 128
            img = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            mask = np.zeros((16, 16, 3), np.uint8)
            mask[8:] = 255
            rows.append({
                "sample_id": f"s{n:05d}", "identity": f"id{n % 7}", "label": n % 7, "source_path": f"x/{n}.png",
                "variant": "original" if n % 2 else "mask+aug", "image": encode_image(img, "png"),
                "image_format": "png", "width": 16, "height": 16,
                "landmarks68": np.full((68, 2), 8.0, np.float32), "occlusion_mask": encode_image(mask, "png"),
                "split": "val" if n % 10 == 0 else "train",
            })
            n += 1
        write_shard(to_table(rows, SAMPLE_SCHEMA), out / "dataset" / f"shard-{shard:05d}.parquet", {})
    return out


def test_map_style_dataset(run_out: Path) -> None:
    ds = ShardDataset(run_out)
    assert len(ds) == 150 + 190 + 230
    img, label = ds[5]
    assert img.shape == (3, 16, 16) and img.dtype == torch.float32 and 0 <= img.min() <= img.max() <= 1
    assert label == 5 % 7
    val = ShardDataset(run_out, split="val", variants=["original", "mask+aug"], return_dict=True)
    assert len(val) == 57
    item = val[3]
    assert item["sample_id"] == "s00030" and item["landmarks68"].shape == (68, 2)
    assert item["occlusion_mask"].shape == (16, 16) and int(item["occlusion_mask"].sum()) == 8 * 16
    only_masked = ShardDataset(run_out, variants="mask+aug")
    assert len(only_masked) == 285
    assert ds.targets[:8] == [i % 7 for i in range(8)]


def test_transform_receives_pil(run_out: Path) -> None:
    sizes = []
    ds = ShardDataset(run_out, transform=lambda im: sizes.append(im.size) or torch.zeros(1))
    assert ds[0][0].shape == (1,) and sizes == [(16, 16)]


@pytest.mark.parametrize("workers", [0, 2])
def test_iterable_every_sample_once_per_epoch(run_out: Path, workers: int) -> None:
    ds = ShardIterableDataset(run_out, return_dict=True, split="train", shuffle=True, seed=3)
    loader = DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=_collate_ids)
    seen = [s for batch in loader for s in batch]
    expected = {f"s{i:05d}" for i in range(570) if i % 10}
    assert Counter(seen) == Counter(expected)  # exactly once each
    ds.set_epoch(1)
    assert [s for b in DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=_collate_ids) for s in b] != seen


def test_iterable_ranks_do_not_overlap(run_out: Path) -> None:
    parts = []
    for rank in range(3):
        ds = ShardIterableDataset(run_out, return_dict=True, rank=rank, world_size=3)
        parts.append([it["sample_id"] for it in ds])
    flat = [s for p in parts for s in p]
    assert len(flat) == len(set(flat)) == 570


def test_online_occlusion_hook(run_out: Path) -> None:
    calls = []

    def occlude(image, lm68, sample_id):
        calls.append(sample_id)
        out = image.copy()
        out[:4] = 0
        m = np.zeros(image.shape[:2], bool)
        m[:4] = True
        return out, m

    ds = ShardDataset(run_out, occlude=occlude, return_dict=True)
    item = ds[1]
    assert calls == ["s00001"]
    assert float(item["image"][:, :4].max()) == 0.0
    assert int(item["occlusion_mask"].sum()) == 8 * 16 + 4 * 16  # stored mask | online mask
