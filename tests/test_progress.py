"""Per-image progress: the board, snapshots, the local executor's monitor and the CLI's bar."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge import run
from maskforge.io.sharding import AUTO_MAX, AUTO_MIN, AUTO_SHARDS, auto_shard_size, make_shards
from maskforge.io.sources import SourceSample
from maskforge.pipeline import progress as progress_mod
from maskforge.pipeline.progress import Board, PoolState, Reporter, Snapshot

RECIPE = """
seed = 1
[source]
shard_size = 4
[detect]
[select]
per_identity = 2
[[variants]]
name = "original"
augment = false
"""


def test_board_counts_a_retried_shard_once() -> None:
    b = Board()
    b.set("detect", 0, 10)
    b.set("detect", 1, 4)
    b.set("detect", 0, 3)  # shard 0 retried on a restarted actor: it reports from 0 again
    assert b.snapshot() == {"detect": 7}
    b.set("detect", 0, 12)
    b.set("embed", 0, 5)
    assert b.snapshot() == {"detect": 16, "embed": 5}


def test_snapshot_images_plus_and_describe() -> None:
    s = Snapshot(100, ("detect", "embed", "finish"), {"detect": 60, "embed": 30, "finish": 0},
                 (PoolState("cpu", 2, 2, 5),), shards_done=1, shards=8)
    assert s.images == 30.0
    t = s.plus(50, 3)  # 50 images in 3 shards were done before the run (reused)
    assert (t.total, t.done, t.shards_done, t.shards) == (150, {"detect": 110, "embed": 80, "finish": 50}, 4, 11)
    assert t.images == pytest.approx(80.0)
    assert s.describe() == "detect 60 embed 30 finish 0 | cpu 2/2 busy, 5 queued"
    assert Snapshot(10, ("detect",), {}, phase="starting Ray").describe() == "starting Ray"
    assert Snapshot(10, ("detect",), {"detect": 99}).images == 10  # never past the total


def test_reporter_throttles_but_always_sends_the_last_count(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, int, int]] = []
    r = Reporter(lambda *a: sent.append(a), "detect", 7)
    for n in range(1, 50):
        r(n)  # within INTERVAL_S of each other: only the first goes out
    r.finish(60)
    assert sent == [("detect", 7, 1), ("detect", 7, 60)]


@given(st.integers(1, 5_000_000))
def test_auto_shard_size_bounds(images: int) -> None:
    size = auto_shard_size(images)
    assert AUTO_MIN <= size <= AUTO_MAX
    shards = -(-images // size)
    if AUTO_MIN < size < AUTO_MAX:  # in between the bounds: about AUTO_SHARDS shards, never more
        assert shards <= AUTO_SHARDS < -(-images // (size - 1))
    assert auto_shard_size(images + 1) >= size  # more images never make smaller shards


def test_auto_shards_of_a_small_input_are_many_and_small() -> None:
    samples = [SourceSample(f"{i:03d}{j}", f"id{i:03d}", i, f"id{i:03d}/{j}.jpg", Path(f"/x/{i}/{j}"))
               for i in range(300) for j in range(3 + i % 5)]
    assert len(samples) == 1500 and auto_shard_size(len(samples)) == AUTO_MIN
    shards = make_shards(samples, auto_shard_size(len(samples)))
    assert all(len(s.samples) <= AUTO_MIN for s in shards) and len(shards) >= 1500 // AUTO_MIN


@pytest.fixture(scope="module")
def faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("progress-faces")
    names = sorted(p.name for p in lfw_dir.iterdir() if len(list(p.glob("*.jpg"))) >= 4)[:3]
    for n in names:
        shutil.copytree(lfw_dir / n, root / n)
    return root


def test_local_monitor_follows_each_task_per_image(
    faces: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_mod, "INTERVAL_S", 0.0)  # every tick: see each batch
    import maskforge.pipeline.executors as ex

    monkeypatch.setattr(ex, "INTERVAL_S", 0.0)
    recipe = tmp_path / "r.toml"
    recipe.write_text(RECIPE)
    snaps: list[Snapshot] = []
    result = run(recipe, input=faces, output=tmp_path / "out", executor="local", monitor=snaps.append)
    total = result.counts["inputs"]
    shards = len(result.shard_stats)
    assert snaps and all(s.total == total and s.tasks == ("detect", "finish") for s in snaps)
    last = snaps[-1]
    assert last.done == {"detect": total, "finish": total} and last.shards_done == shards
    # counts only grow, and the finish task is seen between whole shards (per image, not per shard)
    for a, b in zip(snaps, snaps[1:], strict=False):
        assert all(b.done.get(t, 0) >= a.done.get(t, 0) for t in a.tasks)
    seen = {s.done.get("finish", 0) for s in snaps}
    shard_ends = {sum(s["inputs"] for s in result.shard_stats[:k]) for k in range(shards + 1)}
    assert seen - shard_ends, "finish progress only moved at shard boundaries"

    # a rerun reuses every shard: the monitor is not called (nothing runs), the bar is complete
    snaps.clear()
    again = run(recipe, input=faces, output=tmp_path / "out", executor="local", monitor=snaps.append)
    assert again.skipped_shards == shards and snaps == []


def test_cli_bar_shows_rate_eta_and_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    import maskforge.pipeline.quiet as quiet
    from maskforge.cli._common import Progress

    buf = io.StringIO()
    monkeypatch.setattr(quiet, "_TERMINAL", buf)
    tasks = ("detect", "embed", "finish")
    with Progress(90) as bar:
        bar.bar.mininterval = 0  # print every update (tqdm skips those under 0.1 s apart)
        bar.watch(Snapshot(60, tasks, {}, phase="loading models on 2 Ray actors"))
        bar.watch(Snapshot(60, tasks, {"detect": 30, "embed": 12, "finish": 0}, (PoolState("cpu", 2, 2, 4),)))
        bar.shard({"inputs": 50})  # per-shard updates are ignored once snapshots arrive
        bar.watch(Snapshot(60, tasks, {"detect": 60, "embed": 60, "finish": 60}, (PoolState("cpu", 2, 0, 0),)))
    text = buf.getvalue()
    assert "loading models on 2 Ray actors" in text
    assert "14/60" in text and "detect 30 embed 12 finish 0 | cpu 2/2 busy, 4 queued" in text
    assert "60/60" in text and "img/s" in text and "100%" in text


def test_cli_bar_counts_opens_late_and_stays_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    import maskforge.pipeline.quiet as quiet
    from maskforge.cli._common import Progress

    buf = io.StringIO()
    monkeypatch.setattr(quiet, "_TERMINAL", buf)
    with Progress(0, desc="verify") as bar:  # the total is known at the first count
        assert bar.bar is None
        bar.count(3, 12)
        bar.count(12, 12)
    assert "verify" in buf.getvalue() and "12/12" in buf.getvalue()
    buf.truncate(0)
    with Progress(0, quiet=True) as bar:
        bar.count(5, 10)
        bar.watch(Snapshot(10, ("detect",), {"detect": 5}))
    assert buf.getvalue() == ""
