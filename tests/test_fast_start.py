"""Issue 21 item 9: a Ray run starts Ray and loads its actors' models while the input is listed
(``maskforge.pipeline.ray_early``), with the bytes of a run that does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maskforge import read_shards, run
from maskforge.pipeline.plan import make_plan, recipe_context
from maskforge.pipeline.shard_work import ShardWork
from maskforge.recipe import load_recipe

from .test_pipeline_keys import write_identities

RECIPE = """
seed = 2
[source]
shard_size = 3
[split]
val_fraction = 0.5
[[variants]]
name = "original"
augment = false
[[variants]]
name = "aug"
augment = true
[augment]
"""


def test_adopt_keeps_the_tasks_when_only_planning_differs(tmp_path: Path) -> None:
    from maskforge.io.sources import list_samples

    src = tmp_path / "in"
    write_identities(src, {"Aa": 2, "Bb": 1, "Cc": 2})
    recipe = load_recipe(data={"seed": 1, "source": {"shard_size": 2}, "split": {"val_fraction": 0.5}})
    early = recipe_context(recipe, str(src), tmp_path / "out")
    assert not early.labels and early.stage_keys
    pipe = ShardWork(early)()
    tasks = [t for _, t in pipe.tasks]
    plan = make_plan(recipe, list_samples(src), str(src), tmp_path / "out")
    assert pipe.adopt(ShardWork(plan.context())) is True
    assert [t for _, t in pipe.tasks] == tasks and pipe.plan.labels == plan.labels == {"Aa": 0, "Bb": 1, "Cc": 2}
    assert tasks[0].plan.identity_splits == plan.identity_splits  # the tasks see the new values
    other = make_plan(load_recipe(data={"seed": 9}), list_samples(src), str(src), tmp_path / "out")
    assert pipe.adopt(ShardWork(other.context())) is False  # another recipe: built anew
    assert pipe.plan.recipe.seed == 9


def test_early_ray_start_writes_the_bytes_of_a_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    monkeypatch.setenv("MASKFORGE_EARLY_RAY", "1")  # opt-in: see ray_early.EARLY_ENV

    src = tmp_path / "in"
    write_identities(src, {"Aa": 2, "Bb": 1, "Cc": 3, "Dd": 2})
    rec = tmp_path / "r.toml"
    rec.write_text(RECIPE)
    local, early = tmp_path / "local", tmp_path / "early"
    run(rec, input=src, output=local, executor="local")
    run(rec, input=src, output=early, executor="ray", num_cpus=2)
    assert not ray.is_initialized()
    m = json.loads((early / "manifest.json").read_text())
    assert m["ray"]["early_start"] is True and m["ray"]["models_kept"] is True
    assert m["ray"]["actors"] == 2 and 0 <= m["ray"]["waited_s"]
    a = read_shards(local).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])
    b = read_shards(early).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])
    assert a.num_rows == 2 * 8 and a.equals(b)
    # a rerun of the complete run reuses every shard and starts no Ray at all
    run(rec, input=src, output=early, executor="ray", num_cpus=2)
    m2 = json.loads((early / "manifest.json").read_text())
    assert m2["shards"]["reused"] == m2["shards"]["total"] and "init_s" not in m2.get("ray", {})


def test_planning_error_shuts_the_early_ray_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    monkeypatch.setenv("MASKFORGE_EARLY_RAY", "1")

    from maskforge.errors import MaskforgeError

    src = tmp_path / "in"
    (src / "Aa").mkdir(parents=True)
    (src / "Aa" / "x.jpg").write_bytes(b"x")
    rec = tmp_path / "r.toml"
    rec.write_text(RECIPE)
    out = tmp_path / "out"
    bad = tmp_path / "list.csv"
    x = src / "Aa" / "x.jpg"
    bad.write_text(f"path,identity\n{x},Aa\n{x},Bb\n")  # one file, two identities: refused
    with pytest.raises(MaskforgeError):
        run(rec, input=bad, output=out, executor="ray", num_cpus=1)
    assert not ray.is_initialized()
    assert not (out / "manifest.json").exists()  # refused before the run started


def test_ray_starts_after_planning_when_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``MASKFORGE_EARLY_RAY=0`` (or ``early_start=False``): Ray starts after planning."""
    monkeypatch.setenv("MASKFORGE_EARLY_RAY", "0")
    src = tmp_path / "in"
    write_identities(src, {"Aa": 2, "Bb": 1})
    rec = tmp_path / "r.toml"
    rec.write_text(RECIPE)
    run(rec, input=src, output=tmp_path / "out", executor="ray", num_cpus=1)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert not m["ray"].get("early_start")


@pytest.mark.parametrize(
    ("env", "asked", "imported", "expected"),
    [
        (None, True, False, True),  # a fresh `maskforge run` or script: the default
        (None, True, True, False),  # Ray imported before (a notebook, a benchmark): after planning
        (None, False, False, False),  # early_start=False
        ("1", False, True, True),  # forced on
        ("0", True, False, False),  # forced off
    ],
)
def test_early_start_only_where_ray_never_ran(
    monkeypatch: pytest.MonkeyPatch, env: str | None, asked: bool, imported: bool, expected: bool
) -> None:
    """After an earlier Ray session in the same process, Ray 2.60 started from the background
    thread aborted the whole process ("Tried to create an owned object that already exists",
    reproduced with a benchmark's ray.init()/shutdown() before a run): early start is taken only
    where Ray was never imported, unless forced."""
    import sys

    from maskforge.pipeline import RunOptions
    from maskforge.pipeline.ray_early import early_wanted

    if env is None:
        monkeypatch.delenv("MASKFORGE_EARLY_RAY", raising=False)
    else:
        monkeypatch.setenv("MASKFORGE_EARLY_RAY", env)
    if imported:
        monkeypatch.setitem(sys.modules, "ray", sys.modules.get("ray") or object())
    else:
        monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert early_wanted(RunOptions(early_start=asked)) is expected
    assert RunOptions().early_start is True


def test_the_command_starts_ray_early_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``maskforge run`` is a fresh process: Ray starts while the input is listed, with the bytes
    of a local run."""
    import subprocess
    import sys

    monkeypatch.delenv("MASKFORGE_EARLY_RAY", raising=False)
    src = tmp_path / "in"
    write_identities(src, {"Aa": 2, "Bb": 1, "Cc": 2})
    rec = tmp_path / "r.toml"
    rec.write_text(RECIPE)
    local, cli = tmp_path / "local", tmp_path / "cli"
    run(rec, input=src, output=local, executor="local")
    done = subprocess.run(
        [sys.executable, "-m", "maskforge", "run", str(rec), "--input", str(src), "--output", str(cli),
         "--num-cpus", "1", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    m = json.loads((cli / "manifest.json").read_text())
    assert m["ray"]["early_start"] is True and m["ray"]["models_kept"] is True
    a = read_shards(local).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])
    b = read_shards(cli).to_table().sort_by([("sample_id", "ascending"), ("variant", "ascending")])
    assert a.num_rows > 0 and a.equals(b)
