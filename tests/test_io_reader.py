"""A run owns its output folder: readers read exactly the manifest's shards (issue 10, item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskforge.errors import IncompleteRunError
from maskforge.io.decode import encode_image
from maskforge.io.manifest import build_manifest, mark_running, write_manifest
from maskforge.io.reader import dataset_files, read_shards, run_files
from maskforge.io.schema import REJECT_SCHEMA, SAMPLE_SCHEMA, to_table
from maskforge.io.writer import write_shard, write_table_atomic
from maskforge.torch import ShardDataset, ShardIterableDataset

IMG = encode_image(np.zeros((8, 8, 3), np.uint8), "png")


def _rows(shard: int, n: int = 40) -> list[dict]:
    return [
        {"sample_id": f"{shard}-{i}", "identity": f"id{shard}", "label": shard, "source_path": f"id{shard}/{i}.png",
         "variant": "original", "image": IMG, "image_format": "png", "split": "train"}
        for i in range(n)
    ]


def _shard(out: Path, index: int) -> Path:
    path = out / "dataset" / f"shard-{index:05d}.parquet"
    write_shard(to_table(_rows(index), SAMPLE_SCHEMA), path, {"shard": index})
    write_table_atomic(to_table([{"source_path": f"bad{index}", "stage": "decode", "reason": "corrupt"}],
                                REJECT_SCHEMA), out / "rejects" / path.name)
    return path


def _finish(out: Path, indexes: list[int]) -> None:
    files = [f"dataset/shard-{i:05d}.parquet" for i in indexes]
    write_manifest(build_manifest(recipe={"seed": 0}, input_path="in", output_path=str(out), labels={},
                                  counts={}, timings={}, models={}, shards={}, dataset_files=files), out)


def test_killed_run_raises_and_allow_partial_reads_the_done_shards(tmp_path: Path) -> None:
    """A run killed after 2 of 5 shards: today's read returned 80 of 200 rows without a word."""
    mark_running(tmp_path, {"seed": 0})
    _shard(tmp_path, 0)
    _shard(tmp_path, 3)
    (tmp_path / "dataset" / "shard-00001.parquet").write_bytes(b"half")  # no stats file: not done
    for read in (lambda **k: read_shards(tmp_path, **k), lambda **k: ShardDataset(tmp_path, **k),
                 lambda **k: ShardIterableDataset(tmp_path, **k), lambda **k: dataset_files(tmp_path, **k)):
        with pytest.raises(IncompleteRunError, match="has not finished.*allow_partial=True"):
            read()
    assert read_shards(tmp_path, allow_partial=True).count_rows() == 80
    assert [f.name for f in dataset_files(tmp_path, allow_partial=True)] == ["shard-00000.parquet", "shard-00003.parquet"]
    assert len(ShardDataset(tmp_path, allow_partial=True)) == 80
    assert read_shards(tmp_path, table="rejects", allow_partial=True).count_rows() == 2


def test_complete_run_reads_exactly_the_manifest_files(tmp_path: Path) -> None:
    for i in range(3):
        _shard(tmp_path, i)
    _finish(tmp_path, [0, 2])  # shard 1 is a stale, done-looking leftover of an earlier recipe
    names = [f.name for f in dataset_files(tmp_path)]
    assert names == ["shard-00000.parquet", "shard-00002.parquet"]
    assert dataset_files(tmp_path / "dataset") == dataset_files(tmp_path)
    ids = set(read_shards(tmp_path).to_table(columns=["identity"]).column("identity").to_pylist())
    assert ids == {"id0", "id2"}
    assert {it[1] for it in ShardDataset(tmp_path)} == {0, 2}
    assert sum(1 for _ in ShardIterableDataset(tmp_path)) == 80
    assert [f.name for f in run_files(tmp_path, "rejects")] == names


def test_complete_run_with_a_missing_listed_file_says_so(tmp_path: Path) -> None:
    _shard(tmp_path, 0)
    _finish(tmp_path, [0, 1])
    with pytest.raises(Exception, match="listed in the manifest but missing"):
        read_shards(tmp_path)


def test_only_parquet_in_the_dataset_folder(tmp_path: Path) -> None:
    _shard(tmp_path, 0)
    assert [p.name for p in (tmp_path / "dataset").iterdir() if not p.name.startswith(".")] == [
        "shard-00000.parquet"
    ]
    assert (tmp_path / "dataset" / ".stats" / "shard-00000.json").is_file()


def test_inspect_shows_an_unfinished_run_as_it_stands(tmp_path: Path) -> None:
    from maskforge.cli.inspect import inspect_output

    mark_running(tmp_path, {"seed": 0})
    _shard(tmp_path, 0)
    info = inspect_output(tmp_path)
    assert info["status"] == "running" and info["samples"] == 40 and info["rejects"] == {"decode:corrupt": 1}
