"""Issue 10 items 3-4 (writer side): keys that capture every input, labels from the run's label
space, and a run that owns its output folder (stale shards, --restart, killed merges)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from PIL import Image

from maskforge import read_shards, run
from maskforge.pipeline import plan_run

PLAIN = "seed = 0\n[source]\nshard_size = {shard_size}\n"


def write_identities(root: Path, counts: dict[str, int], seed: int = 0) -> None:
    """Identity folders of small distinct JPEGs (no faces: for recipes without [detect])."""
    rng = np.random.default_rng(seed)
    for name, n in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.jpg", quality=90)


def recipe(tmp_path: Path, shard_size: int, extra: str = "") -> Path:
    p = tmp_path / "recipe.toml"
    p.write_text(PLAIN.format(shard_size=shard_size) + extra)
    return p


def labels_csv(out: Path) -> dict[str, int]:
    with open(out / "labels.csv", newline="") as fh:
        return {r["identity"]: int(r["label"]) for r in csv.DictReader(fh)}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def assert_labels_agree(out: Path) -> None:
    labels = labels_csv(out)
    assert list(labels) == sorted(labels) and list(labels.values()) == list(range(len(labels)))
    rows = read_shards(out).to_table(columns=["identity", "label"]).to_pylist()
    wrong = [r for r in rows if labels[r["identity"]] != r["label"]]
    assert not wrong, f"{len(wrong)}/{len(rows)} rows carry a label that labels.csv contradicts"
    assert manifest(out)["labels"] == labels


# --------------------------------------------------------------------------- labels (row 4)
def test_rerun_after_adding_identity_mid_alphabet(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    # shard 0 = Aa (3 images, Cc does not fit next to it), shard 1 = Cc + Dd
    write_identities(src, {"Aa": 3, "Cc": 2, "Dd": 2})
    rec = recipe(tmp_path, shard_size=4)
    run(rec, input=src, output=out, executor="local")
    assert labels_csv(out) == {"Aa": 0, "Cc": 1, "Dd": 2}
    # Bb fills shard 0's gap: shard 1 keeps the same files, but Cc and Dd move to labels 2, 3
    write_identities(src, {"Bb": 1}, seed=1)
    run(rec, input=src, output=out, executor="local")
    assert labels_csv(out) == {"Aa": 0, "Bb": 1, "Cc": 2, "Dd": 3}
    assert_labels_agree(out)


def test_labels_from_label_space_not_detect_cache(lfw_dir: Path, tmp_path: Path) -> None:
    """With [detect] the cached faces are reused, and the labels still follow labels.csv."""
    names = sorted(p.name for p in lfw_dir.iterdir() if len(list(p.glob("*.jpg"))) >= 3)
    src, out = tmp_path / "in", tmp_path / "out"
    for mine, theirs, n in (("Aa", names[0], 3), ("Cc", names[1], 2), ("Dd", names[2], 2),
                            ("Bb", names[3], 1)):
        (src / mine).mkdir(parents=True)
        for f in sorted((lfw_dir / theirs).glob("*.jpg"))[:n]:
            shutil.copy(f, src / mine / f.name)
    bb = tmp_path / "Bb"
    shutil.move(src / "Bb", bb)
    rec = recipe(tmp_path, shard_size=4, extra="[detect]\n")
    run(rec, input=src, output=out, executor="local")
    cache = next((out / "cache").glob("detect-*/shard-00001.parquet"))
    assert "label" not in pq.read_schema(cache).names  # labels are never cached
    shutil.move(bb, src / "Bb")
    run(rec, input=src, output=out, executor="local")
    m = manifest(out)
    assert m["timings_s"]["reused"]["detect"] == 1  # shard 1's faces came from the cache
    assert_labels_agree(out)
    assert "non-commercial" in (out / "README.md").read_text()


def test_labels_cover_the_kept_identities_only(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 1, "Bb": 1, "Cc": 1})
    run(recipe(tmp_path, 10), input=src, output=out, executor="local",
        overrides=["source.limit_identities=2"])
    assert labels_csv(out) == {"Aa": 0, "Bb": 1}
    assert_labels_agree(out)


# --------------------------------------------------------------------------- input keys
def _reused(out: Path) -> int:
    return manifest(out)["shards"]["reused"]


def test_touched_or_rewritten_file_invalidates_its_shard(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 2, "Bb": 2})
    rec = recipe(tmp_path, 2)
    run(rec, input=src, output=out, executor="local")
    # same name, new content: only Bb's shard is redone, and it serves the new bytes
    write_identities(src, {"Bb": 1}, seed=7)
    new = (src / "Bb" / "0.jpg").read_bytes()
    run(rec, input=src, output=out, executor="local")
    assert _reused(out) == 1
    rows = read_shards(out).to_table(columns=["source_path", "image"]).to_pylist()
    assert {r["source_path"]: r["image"] for r in rows}["Bb/0.jpg"] == new
    # a touch (new mtime, same bytes) redoes the shard too
    p = src / "Aa" / "1.jpg"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    run(rec, input=src, output=out, executor="local")
    assert _reused(out) == 1 and manifest(out)["shards"]["processed"] == 1


def test_same_size_same_mtime_new_content_is_redone(tmp_path: Path) -> None:
    """Issue 21: a file rewritten with the same size and its old mtime put back (``os.utime``)
    is redone: the kernel set its ctime, which is in the shard key."""
    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 2, "Bb": 2})
    rec = recipe(tmp_path, 2)
    run(rec, input=src, output=out, executor="local")
    p = src / "Bb" / "0.jpg"
    st = p.stat()
    old = p.read_bytes()
    new = bytearray(old)
    new[len(new) // 2] ^= 0xFF  # one byte inside the scan: same size, other pixels
    p.write_bytes(bytes(new))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (p.stat().st_size, p.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert p.stat().st_ctime_ns != st.st_ctime_ns
    run(rec, input=src, output=out, executor="local")
    assert _reused(out) == 1 and manifest(out)["shards"]["processed"] == 1
    rows = read_shards(out).to_table(columns=["source_path", "image"]).to_pylist()
    assert {r["source_path"]: r["image"] for r in rows}["Bb/0.jpg"] == bytes(new)


def test_detect_key_is_the_resolved_config(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_identities(src, {"Aa": 1})

    def key(extra: str) -> str:
        return plan_run(recipe(tmp_path, 10, extra), input=src, output=tmp_path / "o").stage_keys["detect"]

    default = key("[detect]\n")
    assert key("[detect]\nsize = 112\n") == default  # the default, spelled out
    assert key("[detect]\nsize = 160\n") != default
    import maskforge.detect.key as plan_mod

    plan_mod.DETECT_CODE_VERSION += 1  # a maskforge whose detection code writes other crops
    try:
        assert key("[detect]\n") != default
    finally:
        plan_mod.DETECT_CODE_VERSION -= 1


def test_occluder_assets_are_part_of_the_dataset_key(tmp_path: Path, monkeypatch) -> None:
    from maskforge.occlude.assets import bundled_dir

    src, mine = tmp_path / "in", tmp_path / "my-assets"
    write_identities(src, {"Aa": 1})
    mine.mkdir()
    for f in bundled_dir().glob("n95.*"):  # a copy of one bundled asset as a user asset
        shutil.copy(f, mine / f.name.replace("n95", "mymask"))
    (mine / "mymask.json").write_text((mine / "mymask.json").read_text().replace('"n95', '"mymask'))
    extra = f'[[variants]]\nname = "original"\naugment = false\n[occlude]\nasset_dirs = ["{mine}"]\n'

    def keys(text: str = extra) -> dict[str, str]:
        return plan_run(recipe(tmp_path, 10, text), input=src, output=tmp_path / "o").stage_keys

    before = keys()
    assert keys() == before  # the same bytes, the same key
    png = next(mine.glob("mymask*.png"))
    pixels = np.asarray(Image.open(png)).copy()
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(png)  # an edited asset: its shards must be redone
    edited = keys()
    assert edited["dataset"] != before["dataset"] and edited["detect"] == before["detect"]
    (mine / "extra.txt").write_text("x")
    assert keys()["dataset"] != edited["dataset"]  # an added file too
    added, plain = keys(), keys("")
    env = tmp_path / "env-assets"
    shutil.copytree(mine, env)
    monkeypatch.setenv("MASKFORGE_ASSETS", str(env))  # the environment adds a folder
    assert keys()["dataset"] != added["dataset"]
    assert keys("") == plain  # without variants no asset is read, and none is keyed


def test_embeddings_not_reused_under_another_embedder(lfw_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """A run, then the embedder's identity at planning changes (its weights changed): detection
    is reused, embeddings and cleaning are redone, never judged under another threshold. (The
    resolver itself: tests/test_embed_resolution.py.)"""
    import maskforge.pipeline.plan as embed_task

    src, out = tmp_path / "in", tmp_path / "out"
    names = sorted(p.name for p in lfw_dir.iterdir() if len(list(p.glob("*.jpg"))) >= 3)[:2]
    for n in names:
        (src / n).mkdir(parents=True)
        for f in sorted((lfw_dir / n).glob("*.jpg"))[:3]:
            shutil.copy(f, src / n / f.name)
    rec = recipe(tmp_path, 10, extra="[detect]\n[clean]\nmin_images = 3\n")
    run(rec, input=src, output=out, executor="local")
    real = embed_task.plan_embedder

    def new_weights(recipe: dict):  # noqa: ANN202
        ident, parts = real(recipe)
        return {**ident, "sha256": "f" * 64}, {**parts, "sha256": "f" * 64}

    monkeypatch.setattr(embed_task, "plan_embedder", new_weights)
    run(rec, input=src, output=out, executor="local")
    m = manifest(out)
    assert m["timings_s"]["reused"] == {"detect": 1, "embed": 0, "finish": 0}
    assert "embed" in m["timings_s"]["stages_cpu_s"]


# --------------------------------------------------------------------------- folder (row 5)
@pytest.mark.parametrize("resume", [True, False], ids=["resume", "restart"])
def test_smaller_input_serves_no_removed_identity(tmp_path: Path, resume: bool) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 2, "Bb": 2, "Cc": 2, "Dd": 2})
    rec = recipe(tmp_path, 2)
    run(rec, input=src, output=out, executor="local")
    assert len(list((out / "dataset").glob("*.parquet"))) == 4
    # what a cleaning run left behind; this recipe does not clean
    for table in ("removed", "clean_scores"):
        (out / table).mkdir()
        shutil.copy(out / "rejects" / "shard-00003.parquet", out / table / "shard-00003.parquet")
        shutil.copy(out / "rejects.parquet", out / f"{table}.parquet")
    shutil.rmtree(src / "Cc")
    shutil.rmtree(src / "Dd")
    run(rec, input=src, output=out, executor="local", resume=resume)

    assert set(read_shards(out).to_table().column("identity").to_pylist()) == {"Aa", "Bb"}
    every = pads.dataset(str(out / "dataset"), format="parquet", exclude_invalid_files=True)
    assert set(every.to_table(columns=["identity"]).column("identity").to_pylist()) == {"Aa", "Bb"}
    m = manifest(out)
    on_disk = sorted(str(p.relative_to(out)) for p in (out / "dataset").glob("*.parquet"))
    assert on_disk == m["dataset_files"] == ["dataset/shard-00000.parquet", "dataset/shard-00001.parquet"]
    assert sorted(p.name for p in (out / "rejects").iterdir()) == [
        "shard-00000.parquet", "shard-00001.parquet"]
    for table in ("removed", "clean_scores"):
        assert not list((out / table).iterdir()) and not (out / f"{table}.parquet").exists()
    assert m["shards"]["reused"] == (2 if resume else 0)
    assert_labels_agree(out)


def test_restart_starts_from_an_empty_dataset(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 1, "Bb": 1})
    rec = recipe(tmp_path, 1)
    run(rec, input=src, output=out, executor="local")
    stale = out / "dataset" / "shard-00007.parquet"
    shutil.copy(out / "dataset" / "shard-00000.parquet", stale)
    seen: list[list[str]] = []

    def progress(stats: dict) -> None:
        seen.append(sorted(p.name for p in (out / "dataset").glob("*.parquet")))

    run(rec, input=src, output=out, executor="local", resume=False, progress=progress)
    assert seen[0] == ["shard-00000.parquet"]  # nothing from before while the run went on
    assert not stale.exists() and manifest(out)["shards"]["reused"] == 0


# --------------------------------------------------------------------------- killed merge
KILL_DURING_MERGE = """
import os, signal, sys
from pathlib import Path
import pyarrow.parquet as pq
real = pq.write_table
def write_then_die(table, where, **kw):
    real(table, where, **kw)
    if Path(str(where)).name.startswith(".rejects.parquet."):
        os.kill(os.getpid(), signal.SIGKILL)   # the merged table is half-way to its name
pq.write_table = write_then_die
from maskforge import run
run(sys.argv[1], input=sys.argv[2], output=sys.argv[3], executor="local")
"""


def test_sigkill_while_merging_side_tables_leaves_no_tmp(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 2, "Bb": 2})
    (src / "Bb" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    rec = recipe(tmp_path, 2)
    proc = subprocess.run([sys.executable, "-c", KILL_DURING_MERGE, str(rec), str(src), str(out)],
                          capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert list(out.glob(".rejects.parquet.*.tmp")), "the kill should land in the merge"
    run(rec, input=src, output=out, executor="local")
    assert not [p for p in out.rglob("*.tmp")]
    assert pq.read_table(out / "rejects.parquet").column("source_path").to_pylist() == ["Bb/broken.jpg"]
    assert manifest(out)["status"] == "complete"


def test_refuses_to_replace_files_it_did_not_write(tmp_path: Path) -> None:
    from maskforge.errors import OutputError

    src, out = tmp_path / "in", tmp_path / "out"
    write_identities(src, {"Aa": 1})
    out.mkdir()
    (out / "README.md").write_text("my notes")
    with pytest.raises(OutputError, match="README.md"):
        run(recipe(tmp_path, 2), input=src, output=out, executor="local")
    assert (out / "README.md").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]
