"""End-to-end runs of the pipeline on a few real faces: stages, caches, resume after SIGKILL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from maskforge import read_shards, run
from maskforge.errors import IncompleteRunError
from maskforge.io.writer import is_done

RECIPE = """
seed = 3
[source]
shard_size = {shard_size}
[detect]
[select]
per_identity = 4
[split]
val_fraction = 0.25
[augment]
[[variants]]
name = "original"
augment = false
[[variants]]
name = "aug"
augment = true
"""


@pytest.fixture(scope="module")
def faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six real identities (some with 15 images, some with 1)."""
    root = tmp_path_factory.mktemp("faces")
    names = sorted(p.name for p in lfw_dir.iterdir() if p.is_dir())
    big = [n for n in names if len(list((lfw_dir / n).glob("*.jpg"))) >= 4][:4]
    single = [n for n in names if len(list((lfw_dir / n).glob("*.jpg"))) == 1][:2]
    for n in big + single:
        shutil.copytree(lfw_dir / n, root / n)
    return root


def _recipe(tmp_path: Path, shard_size: int = 8) -> Path:
    p = tmp_path / "recipe.toml"
    p.write_text(RECIPE.format(shard_size=shard_size))
    return p


def _samples(out: Path) -> dict[tuple[str, str], bytes]:
    t = read_shards(out).to_table(columns=["sample_id", "variant", "image"])
    keys = list(zip(t.column("sample_id").to_pylist(), t.column("variant").to_pylist(), strict=True))
    assert len(keys) == len(set(keys)), "duplicated samples"
    return dict(zip(keys, t.column("image").to_pylist(), strict=True))


def test_detect_select_split_variants(faces: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(_recipe(tmp_path), input=faces, output=out, executor="local")
    t = read_shards(out).to_table().to_pylist()
    per_identity: dict[str, set] = {}
    for r in t:
        per_identity.setdefault(r["identity"], set()).add(r["sample_id"])
        assert r["width"] == r["height"] == 112
        assert len(r["landmarks68"]) == 68 and len(r["pose"]) == 3
        assert r["split"] in ("train", "val")
    # select-N: min(4, n_i) images per identity, two variants each
    assert all(len(v) <= 4 for v in per_identity.values())
    assert len(t) == 2 * sum(len(v) for v in per_identity.values())
    assert {r["variant"] for r in t} == {"original", "aug"}
    aug = [r for r in t if r["variant"] == "aug"]
    assert all(json.loads(r["augment"]) is not None for r in aug)
    # splits are whole identities
    split_of: dict[str, set] = {}
    for r in t:
        split_of.setdefault(r["identity"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    m = json.loads((out / "manifest.json").read_text())
    assert m["models"]["detect"]["detector"] == "dlib-hog"
    assert m["counts"]["samples"] == len(t) == result.counts["samples"]
    assert (out / "report" / "index.html").is_file()


def test_killed_run_resumes_to_identical_output(faces: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, shard_size=2)  # many small shards
    ref = tmp_path / "ref"
    run(recipe, input=faces, output=ref, executor="local")
    expected = _samples(ref)

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "maskforge.cli", "run", str(recipe), "--input", str(faces),
           "--output", str(out), "--executor", "local", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not any(is_done(f) for f in (out / "dataset").glob("*.parquet")):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    done_before = sum(is_done(f) for f in (out / "dataset").glob("*.parquet"))
    total = len(list((ref / "dataset").glob("*.parquet")))
    assert 0 < done_before < total, "the kill should land midway"
    with pytest.raises(IncompleteRunError):  # a killed run is never read as if it were whole
        read_shards(out)
    assert 0 < read_shards(out, allow_partial=True).count_rows() < len(expected)

    run(recipe, input=faces, output=out, executor="local")
    assert _samples(out) == expected  # nothing lost, nothing duplicated, same bytes
    assert pq.read_table(out / "rejects.parquet").num_rows == pq.read_table(ref / "rejects.parquet").num_rows


def test_changed_later_stage_reuses_detection(faces: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    out = tmp_path / "out"
    run(recipe, input=faces, output=out, executor="local")
    run(recipe, input=faces, output=out, executor="local", overrides=["select.per_identity=2"])
    m = json.loads((out / "manifest.json").read_text())
    assert m["timings_s"]["reused"]["detect"] == m["shards"]["total"]
    assert m["timings_s"]["reused"]["finish"] == 0
    assert "detect" not in m["timings_s"]["stages_cpu_s"]
    assert max(m["counts"]["per_identity_after"]) == 2


FULL = """
seed = 5
variants = "reference"
[source]
shard_size = 50
[detect]
[embed]
embedder = "auto"
[clean]
method = "robust"
[select]
per_identity = 3
"""


def test_full_pipeline_with_cleaning_and_masks(faces: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "full.toml"
    recipe.write_text(FULL)
    out = tmp_path / "out"
    run(recipe, input=faces, output=out, executor="local")
    t = read_shards(out).to_table().to_pylist()
    assert {r["variant"] for r in t} == {"original", "aug", "mask+aug", "mask+aug#2"}
    scores = pq.read_table(out / "clean_scores.parquet").to_pylist()
    status = {r["sample_id"]: r["status"] for r in scores}
    for r in t:
        assert len(r["embedding"]) == 128
        # identities under clean.min_images (3) are not scored: null score, status says why
        assert (r["clean_score"] is None) == (status[r["sample_id"]] == "too_few_images")
        if r["variant"].startswith("mask"):
            assert r["occluders"] and r["occluders"][0]["kind"] == "mask"
            assert r["occlusion_mask"] is not None
        else:
            assert not r["occluders"]
    n_faces = pq.read_metadata(next((out / "cache").glob("detect-*/shard-00000.parquet"))).num_rows
    assert len(scores) == n_faces
    assert (out / "removed.parquet").is_file()
    m = json.loads((out / "manifest.json").read_text())
    assert m["models"]["embed"]["name"] == "dlib-resnet"  # no facenet weights here: auto falls back
    index = (out / "report" / "index.html").read_text()
    assert "pipeline.html" in index and (out / "report" / "pipeline.html").is_file()

    # a different threshold reuses detection and embeddings
    run(recipe, input=faces, output=out, executor="local", overrides=["clean.threshold=0.3"])
    m2 = json.loads((out / "manifest.json").read_text())
    assert m2["timings_s"]["reused"]["detect"] == m2["timings_s"]["reused"]["embed"] == m2["shards"]["total"]
    assert not any(k.startswith(("detect", "embed")) for k in m2["timings_s"]["stages_cpu_s"])
    assert m2["counts"]["flagged"] >= m["counts"]["flagged"]


def test_clean_audit_accounts_for_rejected_inputs(faces: Path, tmp_path: Path) -> None:
    """An input with no usable face is a clean_scores row (status rejected, reason stage:reason)
    and the audit report counts it, so the audit accounts for every input."""
    import numpy as np
    from PIL import Image

    src = tmp_path / "in"
    name = sorted(p.name for p in faces.iterdir() if len(list(p.glob("*.jpg"))) >= 4)[0]
    shutil.copytree(faces / name, src / name)
    noise = np.random.default_rng(0).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    Image.fromarray(noise).save(src / name / "zz_noise.jpg")
    recipe = tmp_path / "r.toml"
    recipe.write_text("seed = 0\n[detect]\n[clean]\n")
    out = tmp_path / "out"
    run(recipe, input=src, output=out, executor="local")
    scores = pq.read_table(out / "clean_scores.parquet").to_pylist()
    rejected = [r for r in scores if r["status"] == "rejected"]
    assert [(r["source_path"], r["reason"], r["clean_score"]) for r in rejected] == [
        (f"{name}/zz_noise.jpg", "detect:no_face", None)]
    assert len(scores) == len(list((src / name).glob("*.jpg")))  # every input, once
    index = (out / "report" / "index.html").read_text()
    assert "rejected (no usable face)</th><td class=\"n\">1<" in index


SEEDED = """
seed = 3
[source]
shard_size = 8
[detect]
[embed]
embedder = "dlib-resnet"
[select]
per_identity = 3
[split]
val_fraction = 0.5
[[variants]]
name = "original"
augment = false
"""


def test_new_seed_reuses_detection_and_embeddings(faces: Path, tmp_path: Path) -> None:
    """Issue 21 item 8: shard boundaries ignore the seed, so ``--set seed=7`` reuses every detect
    and embed shard, redoes only the dataset shards, and gives what a fresh seed-7 run gives."""
    recipe = tmp_path / "seeded.toml"
    recipe.write_text(SEEDED)
    out = tmp_path / "out"
    run(recipe, input=faces, output=out, executor="local")
    m3 = json.loads((out / "manifest.json").read_text())
    before = read_shards(out).to_table(columns=["sample_id", "split"]).to_pylist()
    run(recipe, input=faces, output=out, executor="local", overrides=["seed=7"])
    m7 = json.loads((out / "manifest.json").read_text())
    total = m7["shards"]["total"]
    assert total == m3["shards"]["total"] > 1
    assert m7["timings_s"]["reused"] == {"detect": total, "embed": total, "finish": 0}
    assert not any(k.startswith(("detect", "embed")) for k in m7["timings_s"]["stages_cpu_s"])
    assert m7["shards"]["keys"]["detect"] == m3["shards"]["keys"]["detect"]
    assert m7["shards"]["keys"]["dataset"] != m3["shards"]["keys"]["dataset"]
    after = read_shards(out).to_table(columns=["sample_id", "split"]).to_pylist()
    assert sorted(map(str, before)) != sorted(map(str, after))  # the seed chose other rows/splits
    # same recipe, same bytes: the reused caches give what a fresh seed-7 run gives
    fresh = tmp_path / "fresh"
    run(recipe, input=faces, output=fresh, executor="local", overrides=["seed=7"])
    assert _samples(fresh) == _samples(out)
