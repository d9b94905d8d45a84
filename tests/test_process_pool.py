"""Issue 21 item 9: the ``processes`` executor (the direct modes' parallel path, no Ray start-up)
writes the bytes the ``local`` and ``ray`` executors write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from maskforge import read_shards
from maskforge.cli import main


@pytest.fixture(scope="module")
def few_faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five real identities, 2-4 images each (several shards of 4 images)."""
    root = tmp_path_factory.mktemp("few")
    names = sorted(p.name for p in lfw_dir.iterdir() if p.is_dir())
    for n in [n for n in names if 2 <= len(list((lfw_dir / n).glob("*.jpg"))) <= 4][:5]:
        shutil.copytree(lfw_dir / n, root / n)
    return root


def _detect(src: Path, out: Path, *executor: str) -> dict:
    res = CliRunner().invoke(main, ["detect", str(src), "--output", str(out), "--set", "source.shard_size=4",
                                    "--quiet", *executor], catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    t = read_shards(out).to_table().sort_by("sample_id")
    return t.to_pydict()


def test_detect_same_rows_on_local_processes_and_ray(few_faces: Path, tmp_path: Path) -> None:
    local = _detect(few_faces, tmp_path / "local", "--executor", "local")
    pool = _detect(few_faces, tmp_path / "pool", "--executor", "processes", "--num-cpus", "2")
    ray = _detect(few_faces, tmp_path / "ray", "--executor", "ray", "--num-cpus", "2")
    assert local["image"] and len(set(local["identity"])) == 5
    assert pool == local == ray


def test_clean_same_scores_on_spawned_processes(few_faces: Path, tmp_path: Path) -> None:
    """``clean`` embeds with torch, so its workers are spawned (never forked): same scores."""
    import pyarrow.parquet as pq

    def scores(out: Path, *executor: str) -> list:
        res = CliRunner().invoke(main, ["clean", str(few_faces), "--output", str(out), "--embedder",
                                        "dlib-resnet", "--min-images", "2", "--set", "source.shard_size=4",
                                        "--quiet", *executor], catch_exceptions=False)  # fmt: skip
        assert res.exit_code == 0, res.output
        t = pq.read_table(out / "clean_scores.parquet", columns=["sample_id", "clean_score", "status"])
        return sorted(t.to_pylist(), key=lambda r: r["sample_id"])

    local = scores(tmp_path / "local", "--executor", "local")
    assert local and any(r["clean_score"] is not None for r in local)
    assert scores(tmp_path / "pool", "--executor", "processes", "--num-cpus", "2") == local
