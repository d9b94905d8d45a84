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
    """``clean`` embeds with torch, already imported in this test process, so its workers are
    spawned (not forked): same scores."""
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



def test_models_importing_torch_are_loaded_single_threaded_and_forked() -> None:
    """In a fresh process, models that import torch while they load (the overlay's hand check)
    are loaded with torch held to one thread, so the pool still forks (its OpenMP pool never
    started); torch gets its threads back once the pool is done."""
    import os
    import subprocess
    import sys

    code = (
        "from maskforge.pipeline import process_pool as pp\n"
        "class P:\n"
        "    def warm(self):\n"
        "        import torch\n"
        "        self.threads = torch.get_num_threads()\n"
        "pipe = pp._fork_pipeline(lambda: P())\n"
        "import os, torch\n"
        "print(pipe is not None, pipe.threads, os.environ.get('OMP_NUM_THREADS'))\n"
        "pp._give_back_threads(False)\n"
        "print(torch.get_num_threads(), len(os.sched_getaffinity(0)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("\n")[:2]
    assert first == "True 1 None"  # forked, loaded on one thread, the environment as it was
    after, cpus = second.split()
    assert after == cpus


@pytest.mark.parametrize("runtime", ["torch", "litert"])
def test_overlay_with_the_hand_check_same_bytes_on_forked_workers(
    few_faces: Path, tmp_path: Path, runtime: str
) -> None:
    """The CLI in a fresh process: ``overlay --workers 2`` with the hand check (torch or LiteRT
    models loaded before the fork, forked workers) writes the bytes one process writes."""
    import subprocess
    import sys

    if runtime == "litert":
        pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert absent")

    def overlay(dst: Path, workers: int) -> dict[str, bytes]:
        cmd = [sys.executable, "-m", "maskforge", "overlay", str(few_faces), str(dst), "--workers",
               str(workers), "--in-front", "keep", "--runtime", runtime, "--quiet"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return {str(p.relative_to(dst)): p.read_bytes() for p in sorted(dst.rglob("*")) if p.is_file()
                and ".maskforge" not in p.parts}  # fmt: skip

    one = overlay(tmp_path / "one", 1)
    two = overlay(tmp_path / "two", 2)
    assert sum(k.endswith(".jpg") for k in one) >= 10 and one == two
