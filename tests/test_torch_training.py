"""The training side (issue 15): shuffling that mixes identities, strict filters, items that
collate, the label space, explicit signatures, and set_epoch with persistent workers."""

from __future__ import annotations

import inspect
from collections import Counter
from math import exp, lgamma
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, default_collate

import maskforge
from maskforge.io.decode import encode_image
from maskforge.io.manifest import build_manifest, write_manifest
from maskforge.io.schema import SAMPLE_SCHEMA, to_table
from maskforge.io.writer import ROW_GROUP_SIZE, write_shard
from maskforge.pipeline.variant_stage import write_order
from maskforge.seeding import rng_for
from maskforge.torch import ShardDataset, ShardIterableDataset, collate
from maskforge.torch.order import buffer_shuffle, consumer_pieces, rank_rows

VARIANTS = ["original", "mask+aug", "mask+aug#2"]


@pytest.fixture(scope="module")
def run_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run: 12 identities (labels 0..11, identity 11 val-only), 3 variants per image;
    only the masked variants have an occlusion mask; 'original' images are 20x20, others 16x16."""
    out = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    mask = np.zeros((16, 16, 3), np.uint8)
    mask[8:] = 255
    files = []
    for shard in range(2):
        rows = []
        for ident in range(shard * 6, shard * 6 + 6):
            for img in range(10):
                for variant in VARIANTS:
                    masked = variant != "original"
                    size = 16 if masked else 20
                    rows.append({
                        "sample_id": f"{ident:02d}{img:02d}", "identity": f"id{ident:02d}", "label": ident,
                        "source_path": f"id{ident:02d}/{img}.png", "variant": variant,
                        "image": encode_image(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "png"),
                        "image_format": "png", "width": size, "height": size,
                        "landmarks68": np.full((68, 2), 8.0, np.float32) if masked else None,
                        "occluders": [{"kind": "mask", "name": "surgical-blue"}] if masked else [],
                        "occluded": masked,
                        "occlusion_mask": encode_image(mask, "png") if masked else None,
                        "split": "val" if ident == 11 else "train",
                    })
        path = out / "dataset" / f"shard-{shard:05d}.parquet"
        write_shard(to_table(write_order(rows, 0, shard), SAMPLE_SCHEMA), path, {})
        files.append(f"dataset/{path.name}")
    return _finish_run(out, files)


# ------------------------------------------------------------------ shuffling


def _uniform_distinct(counts: list[int], batch: int) -> float:
    """Expected distinct identities in a batch of a uniform shuffle (draws without replacement)."""
    n = sum(counts)

    def lc(a: int, b: int) -> float:
        return lgamma(a + 1) - lgamma(b + 1) - lgamma(a - b + 1)

    return sum(1.0 - (exp(lc(n - c, batch) - lc(n, batch)) if n - c >= batch else 0.0) for c in counts)


def _layout(identities: int, rows_per_identity: int, per_shard: int, seed: int) -> list[list[list[int]]]:
    """Rows (identity numbers) laid out as a run writes them: identity-complete shards of
    ``per_shard`` identities in the seeded row order, row groups of ROW_GROUP_SIZE rows."""
    files = []
    for s, start in enumerate(range(0, identities, per_shard)):
        rows = [i for i in range(start, min(identities, start + per_shard)) for _ in range(rows_per_identity)]
        rows = write_order(rows, seed, s)
        files.append([rows[i:i + ROW_GROUP_SIZE] for i in range(0, len(rows), ROW_GROUP_SIZE)])
    return files


def _stream(files: list[list[list[int]]], rank: int, world: int, worker: int, workers: int, buffer: int,
            seed: int, epoch: int, shuffle: bool = True) -> list[int]:
    """What one consumer yields, built from the order functions the dataset uses."""
    groups = [[len(g) for g in f] for f in files]
    mine = consumer_pieces(groups, rank=rank, world_size=world, worker=worker, num_workers=workers,
                           shuffle=shuffle, seed=seed, epoch=epoch)
    rows = (x for p in mine for x in files[p.file][p.row_group][p.start:p.stop])
    if not shuffle:
        return list(rows)
    return list(buffer_shuffle(rows, buffer, rng_for(seed, "buffer", epoch, rank * workers + worker)))


def _per_batch(stream: list[int], batch: int) -> list[int]:
    return [len(set(stream[i:i + batch])) for i in range(0, len(stream) - batch + 1, batch)]


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(8, 32),
    rows_per_identity=st.integers(2, 40),
    identities_per_shard=st.integers(10, 60),
    extra=st.integers(0, 100),
    seed=st.integers(0, 2**16),
)
def test_shuffle_mixes_identities_like_a_uniform_shuffle(
    batch: int, rows_per_identity: int, identities_per_shard: int, extra: int, seed: int
) -> None:
    """Rows laid out as a run writes them (identity-complete shards of >= 10 identities, seeded
    row order, row groups of 128), read by worker 0 of 2 with a buffer of 32 x batch: the mean
    number of identities per batch is within 10% of a uniform shuffle's. (Shards of 2-3
    identities, e.g. VGGFace2 with shard_size 1000, need a larger buffer: docs/pipeline.md.)"""
    buffer = 32 * batch
    k = -(-4 * buffer // rows_per_identity) + extra  # at least 4 buffers of data
    files = _layout(k, rows_per_identity, identities_per_shard, seed)
    stream = _stream(files, 0, 1, 0, 2, buffer, seed, epoch=3)
    got = np.mean(_per_batch(stream, batch))
    counts = [c for c in Counter(stream).values()]
    assert got >= 0.9 * _uniform_distinct(counts, batch)


@settings(max_examples=30, deadline=None)
@given(
    workers=st.sampled_from([1, 2, 8]),
    per_shard=st.integers(1, 12),
    rows_per_identity=st.integers(24, 60),
    batch=st.sampled_from([16, 32]),
    seed=st.integers(0, 2**16),
)
def test_every_worker_mixes_identities_for_any_shard_count(
    workers: int, per_shard: int, rows_per_identity: int, batch: int, seed: int
) -> None:
    """Issue 21, mechanism 10: 12 identities in shards of ``per_shard`` identities (one shard of
    all 12 down to 12 shards of one), 1, 2 or 8 workers, a buffer holding the data: every worker's
    batches hold, on average over the workers, within 10% of a uniform shuffle's identities
    (reading whole row groups per worker gave 7.8 against 11.2 with 2 workers)."""
    files = _layout(12, rows_per_identity, per_shard, seed)
    counts = [rows_per_identity] * 12
    got = []
    for w in range(workers):
        got += _per_batch(_stream(files, 0, 1, w, workers, 10**6, seed, epoch=1), batch)
    assert got and np.mean(got) >= 0.9 * _uniform_distinct(counts, batch)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.lists(st.integers(0, 50), min_size=1, max_size=4), min_size=1, max_size=12),
    world=st.integers(1, 3),
    workers=st.integers(1, 5),
    buffer=st.integers(1, 100),
    shuffle=st.booleans(),
    epoch=st.integers(0, 5),
)
def test_each_row_exactly_once_per_epoch(
    sizes: list[list[int]], world: int, workers: int, buffer: int, shuffle: bool, epoch: int
) -> None:
    """Files of row groups of any sizes (empty ones too), any ranks and workers: every kept row
    once per epoch, each rank yields len() rows, and ranks differ by at most one row."""
    files = [[[(f, g, r) for r in range(n)] for g, n in enumerate(f_sizes)] for f, f_sizes in enumerate(sizes)]
    seen, per_rank = [], []
    for rank in range(world):
        mine = [x for w in range(workers) for x in _stream(files, rank, world, w, workers, buffer, 7, epoch, shuffle)]
        assert len(mine) == rank_rows(sizes, rank, world)
        per_rank.append(len(mine))
        seen += mine
    assert sorted(seen) == sorted(x for f in files for g in f for x in g)
    assert max(per_rank) - min(per_rank) <= 1


def test_order_is_deterministic_and_moves_with_the_epoch() -> None:
    files = _layout(30, 12, 7, seed=3)
    a = _stream(files, 0, 1, 1, 2, 50, seed=3, epoch=2)
    assert a == _stream(files, 0, 1, 1, 2, 50, seed=3, epoch=2)
    assert a != _stream(files, 0, 1, 1, 2, 50, seed=3, epoch=3)
    assert a != _stream(files, 0, 1, 1, 2, 50, seed=4, epoch=2)
    plain = _stream(files, 0, 1, 0, 1, 50, 3, 0, shuffle=False)
    assert plain == [x for f in files for g in f for x in g]  # no shuffle, one worker: file order


def _ids(items: list[dict]) -> list[str]:
    return [f"{it['sample_id']}/{it['variant']}" for it in items]


def test_dataset_batches_mix_identities_and_cover_every_row(run_out: Path) -> None:
    ds = ShardIterableDataset(run_out, split="train", shuffle=True, seed=1, shuffle_buffer=64, return_dict=True)
    loader = DataLoader(ds, batch_size=16, num_workers=0, collate_fn=lambda b: b)
    batches = [[it["identity"] for it in b] for b in loader]
    assert sum(len(b) for b in batches) == 11 * 10 * 3 == ds.num_rows
    assert np.mean([len(set(b)) for b in batches[:-1]]) > 6  # sorted rows give 1-2 identities a batch


def test_set_epoch_reaches_persistent_workers(run_out: Path) -> None:
    ds = ShardIterableDataset(run_out, shuffle=True, seed=5, shuffle_buffer=50, return_dict=True)
    loader = DataLoader(ds, batch_size=8, num_workers=2, persistent_workers=True, collate_fn=_ids)
    orders = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        orders.append([s for b in loader for s in b])
    assert Counter(orders[0]) == Counter(orders[1]) and len(set(orders[0])) == len(orders[0]) == 360
    assert orders[0] != orders[1]
    ds.set_epoch(1)  # same epoch, fresh workers: the same order (reproducible from the seed)
    fresh = DataLoader(ds, batch_size=8, num_workers=2, collate_fn=_ids)
    assert [s for b in fresh for s in b] == orders[1]


# ------------------------------------------------------------------ filters


@pytest.mark.parametrize("cls", [ShardDataset, ShardIterableDataset])
def test_unknown_filters_raise_with_the_known_values(run_out: Path, cls: type) -> None:
    with pytest.raises(ValueError, match=r"unknown split 'test'.*'train', 'val'"):
        cls(run_out, split="test")
    with pytest.raises(ValueError, match=r"unknown split 'training'"):
        cls(run_out, split="training")
    with pytest.raises(ValueError, match=r"unknown variant 'aug'.*'mask\+aug', 'mask\+aug#2', 'original'"):
        cls(run_out, variants=["aug"])
    with pytest.raises(ValueError, match="no rows"):
        cls(run_out, split="val", occluded=False, variants="mask")


def test_variant_prefix_and_occluded_flag(run_out: Path) -> None:
    masked = ShardDataset(run_out, variants="mask", return_dict=True)
    assert len(masked) == 12 * 10 * 2
    assert {masked[i]["variant"] for i in range(len(masked))} == {"mask+aug", "mask+aug#2"}
    assert len(ShardDataset(run_out, variants="mask+aug")) == 240  # prefix of mask+aug#2 too
    assert len(ShardDataset(run_out, occluded=True)) == 240
    plain = ShardDataset(run_out, occluded=False, split="val")
    assert len(plain) == 10 and set(plain.targets) == {11}


# ------------------------------------------------------------------ items and labels


def test_dict_items_collate(run_out: Path) -> None:
    ds = ShardDataset(run_out, variants="original", return_dict=True)
    batch = default_collate([ds[i] for i in range(4)])  # unmasked rows: today None crashed here
    assert batch["image"].shape == (4, 3, 20, 20)
    assert batch["occlusion_mask"].shape == (4, 20, 20) and int(batch["occlusion_mask"].sum()) == 0
    assert batch["occluded"].tolist() == [False] * 4
    assert torch.isnan(batch["landmarks68"]).all() and batch["landmarks68"].shape == (4, 68, 2)
    mixed = ShardDataset(run_out, return_dict=True)
    originals = [i for i in range(len(mixed)) if mixed[i]["variant"] == "original"][:2]
    maskeds = [i for i in range(len(mixed)) if mixed[i]["variant"] != "original"][:2]
    b = collate([mixed[i] for i in originals + maskeds])  # 20x20 and 16x16 images
    assert isinstance(b["image"], list) and [t.shape[-1] for t in b["image"]] == [20, 20, 16, 16]
    assert b["occluded"].tolist() == [False, False, True, True]
    assert [int(m.sum()) for m in b["occlusion_mask"]] == [0, 0, 8 * 16, 8 * 16]
    assert b["label"].dtype == torch.int64 and isinstance(b["identity"], list)
    images, labels = collate([ShardDataset(run_out)[i] for i in maskeds])
    assert images.shape == (2, 3, 16, 16) and labels.shape == (2,)


def test_label_space(run_out: Path) -> None:
    ds = ShardIterableDataset(run_out, split="train")
    assert ds.num_classes == 12 and ds.labels["id03"] == 3 and len(ds.labels) == 12
    m = ShardDataset(run_out / "dataset" / "shard-00001.parquet")
    assert m.num_classes == 12 and set(m.targets) == set(range(6, 12))


def test_signatures_are_explicit() -> None:
    for fn in (ShardDataset, ShardIterableDataset, maskforge.run):
        params = inspect.signature(fn).parameters.values()
        assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params), fn
    names = set(inspect.signature(ShardIterableDataset).parameters)
    assert {"split", "variants", "occluded", "shuffle", "seed", "shuffle_buffer", "rank", "world_size"} <= names
    assert {"input", "output", "executor", "resume"} <= set(inspect.signature(maskforge.run).parameters)


def test_datasets_pickle_for_spawned_workers(run_out: Path) -> None:
    import pickle

    m = ShardDataset(run_out)
    first = m[0][0]  # opens a file and fills the cache
    assert torch.equal(pickle.loads(pickle.dumps(m))[0][0], first)
    it = ShardIterableDataset(run_out, shuffle=True, seed=2, shuffle_buffer=30, return_dict=True)
    it.set_epoch(4)
    copy = pickle.loads(pickle.dumps(it))
    assert copy.epoch == 4 and _ids(list(copy)) == _ids(list(it))


# ------------------------------------------------------------------ issue 21 (10), issue 22 (6)


@pytest.fixture(scope="module")
def small_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run shaped like the issue's held-out set: 12 identities x 25 images in shards
    of 50 rows (2 identities each, seeded row order); identities 10 and 11 are val-only."""
    out = tmp_path_factory.mktemp("small")
    png = encode_image(np.zeros((4, 4, 3), np.uint8), "png")
    files = []
    for shard in range(6):
        rows = [
            {"sample_id": f"{i:02d}{k:02d}", "identity": f"id{i:02d}", "label": i, "source_path": f"{i}/{k}.png",
             "variant": "original", "image": png, "image_format": "png", "width": 4, "height": 4,
             "split": "val" if i >= 10 else "train"}
            for i in (2 * shard, 2 * shard + 1) for k in range(25)
        ]
        path = out / "dataset" / f"shard-{shard:05d}.parquet"
        write_shard(to_table(write_order(rows, 0, shard), SAMPLE_SCHEMA), path, {})
        files.append(f"dataset/{path.name}")
    return _finish_run(out, files)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("workers", [1, 2, 8])
def test_dataloader_workers_mix_identities_like_a_uniform_shuffle(small_shards: Path, workers: int) -> None:
    """Issue 21, mechanism 10, through a real DataLoader: with 1, 2 and 8 workers the batches
    hold within 10% of a uniform shuffle's identities (whole row groups per worker: 7.8 against
    11.2 with 2 workers), every row once, and the same batches for the same seed and epoch."""
    ds = ShardIterableDataset(small_shards, shuffle=True, seed=3, return_dict=True)
    ds.set_epoch(2)

    def batches() -> list[list[str]]:
        loader = DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=lambda b: [it["identity"] for it in b])
        return list(loader)

    got = batches()
    assert sum(len(b) for b in got) == 300 == len(ds)
    full = [len(set(b)) for b in got if len(b) == 16]
    assert np.mean(full) >= 0.9 * _uniform_distinct([25] * 12, 16)
    assert batches() == got


def test_len_is_the_rows_per_epoch_of_this_rank(small_shards: Path) -> None:
    """Issue 22 (6): len() for LR schedulers: the kept rows, split over ranks (at most one row
    apart), the same for any worker count and epoch."""
    assert len(ShardIterableDataset(small_shards)) == 300
    assert len(ShardIterableDataset(small_shards, split="train")) == 250
    ranks = [ShardIterableDataset(small_shards, split="train", rank=r, world_size=3, shuffle=True) for r in range(3)]
    assert sorted(len(d) for d in ranks) == [83, 83, 84]
    for d in ranks:
        d.set_epoch(5)
        n = len(list(DataLoader(d, batch_size=None, num_workers=2, collate_fn=lambda x: x)))
        assert n == len(d)
    loader = DataLoader(ShardIterableDataset(small_shards, split="val"), batch_size=8)
    assert len(loader) == 7  # ceil(50 / 8)


def test_split_labels_are_contiguous_and_written_out(small_shards: Path, tmp_path: Path) -> None:
    """Issue 22 (6): labels="split" gives the identities of the kept rows labels 0..K'-1 in the
    run's label order; the default keeps the run's label space."""
    train = ShardIterableDataset(small_shards, split="train", labels="split", return_dict=True)
    assert train.num_classes == 10 and train.labels == {f"id{i:02d}": i for i in range(10)}
    val = ShardDataset(small_shards, split="val", labels="split", return_dict=True)
    assert val.num_classes == 2 and val.labels == {"id10": 0, "id11": 1}
    assert set(val.targets) == {0, 1} and {val[i]["label"] for i in range(len(val))} == {0, 1}
    assert {val[i]["identity"]: val[i]["label"] for i in range(len(val))} == val.labels
    assert val.global_labels["id11"] == 11
    plain = ShardDataset(small_shards, split="val")
    assert plain.num_classes == 12 and set(plain.targets) == {10, 11}
    path = val.write_labels(tmp_path / "labels-val.csv")
    assert path.read_text() == "identity,label,global_label\nid10,0,10\nid11,1,11\n"
    with pytest.raises(maskforge.errors.OutputError, match="exists already"):
        val.write_labels(path)
    with pytest.raises(ValueError, match="unknown labels 'train'"):
        ShardDataset(small_shards, labels="train")  # type: ignore[arg-type]


def _finish_run(out, files):
    """labels.csv for id00..id11 and a manifest listing ``files``: a readable finished run."""
    (out / "labels.csv").write_text("identity,label\n" + "".join(f"id{i:02d},{i}\n" for i in range(12)))
    write_manifest(build_manifest(recipe={"seed": 0}, input_path="in", output_path=str(out), labels={},
                                  counts={}, timings={}, models={}, shards={}, dataset_files=files), out)
    return out
