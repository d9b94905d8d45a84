"""Multi-node Ray: a head and worker nodes on this machine (Ray's own test harness).

The head node has no CPUs, so every actor runs on a worker node: killing that node mid-run takes
the run's actors and their in-flight shards with it, and Ray must restart them on a fresh node.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from maskforge import read_shards, run

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

RECIPE = """
seed = 5
[source]
shard_size = 15
[detect]
[embed]
embedder = "dlib-resnet-native"  # slow enough that a node can be lost mid-run
[select]
per_identity = 3
"""


@pytest.fixture(scope="module")
def faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three identities of 15 images: three shards."""
    root = tmp_path_factory.mktemp("cluster-faces")
    names = sorted(p.name for p in lfw_dir.iterdir() if len(list(p.glob("*.jpg"))) >= 15)[:3]
    for n in names:
        shutil.copytree(lfw_dir / n, root / n)
    return root


@pytest.fixture(scope="module")
def local_rows(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("cluster-local")
    recipe = tmp / "recipe.toml"
    recipe.write_text(RECIPE)
    run(recipe, input=faces, output=tmp / "out", executor="local")
    return recipe, _sorted(tmp / "out")


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    worker = c.add_node(num_cpus=1)
    try:
        yield c, worker
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


def _sorted(out: Path):
    return read_shards(out).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])


def test_cluster_address_gives_local_bytes(faces: Path, local_rows, cluster, tmp_path: Path) -> None:
    recipe, expected = local_rows
    c, _ = cluster
    snaps: list = []
    result = run(recipe, input=faces, output=tmp_path / "out", executor="ray", address=c.address,
                 monitor=snaps.append)
    got = _sorted(tmp_path / "out")
    assert got.num_rows == expected.num_rows > 0
    assert got.equals(expected)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    timeline = manifest["ray"]
    assert (timeline["nodes"], timeline["shards_on_restarted_actors"]) == (1, 0)
    assert result.skipped_shards == 0
    # one actor (the worker node's one CPU) started once and loaded its models once for 3 shards
    pids = {st["worker"]["pid"] for s in result.shard_stats for st in s["stages"].values()}
    assert len(result.shard_stats) == 3 and len(pids) == 1 and timeline["actors"] == 1
    # the actor keeps OpenCV and torch to its one Ray CPU (both would use every core otherwise)
    threads = {tuple(st["worker"]["threads"].values()) for s in result.shard_stats for st in s["stages"].values()}
    assert threads == {(1, 1)}
    (pool,) = timeline["pools"]
    assert pool["actors"] == 1 and 0 < pool["utilisation"] <= 1
    assert timeline["init_s"] >= 0 and timeline["warm_s"] > 0 and timeline["work_s"] > 0
    # live progress through the board actor on the head node: phases, then per-task counts
    assert snaps[0].phase.startswith("joining Ray") and snaps[1].phase.startswith("loading models")
    last = snaps[-1]
    assert last.done == dict.fromkeys(("detect", "embed", "finish"), 45) and last.shards_done == 3
    assert {p.name for s in snaps for p in s.pools} == {"cpu"}


def test_node_lost_mid_run_completes_with_same_bytes(
    faces: Path, local_rows, cluster, tmp_path: Path
) -> None:
    recipe, expected = local_rows
    c, worker = cluster  # the same worker node the previous test ran on
    out = tmp_path / "out"
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = run(recipe, input=faces, output=out, executor="ray", address=c.address)
        except BaseException as e:  # surfaced below
            box["error"] = e

    th = threading.Thread(target=target)
    th.start()
    deadline = time.monotonic() + 300
    while not list((out / "dataset").glob("shard-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert th.is_alive(), "the run ended before a node could be killed"
    # Cluster.add_node installs signal handlers: it must run on the main thread.
    c.remove_node(worker, allow_graceful=False)
    c.add_node(num_cpus=1)
    th.join(timeout=300)
    assert not th.is_alive() and "error" not in box, box.get("error")
    assert _sorted(out).equals(expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ray"]["nodes"] == 2
    assert manifest["ray"]["shards_on_restarted_actors"] >= 1
