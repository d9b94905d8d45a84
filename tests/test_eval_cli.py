"""``maskforge eval`` on real faces (lfw-dev): outputs, masks seeded per image, failures counted,
``--model``, output-folder safety, identification."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from maskforge.cli import main
from maskforge.detect import DetectConfig, DetectStage
from maskforge.errors import EvalError
from maskforge.eval import Pair, load_model, make_pairs, verify, write_pairs
from maskforge.eval.identify import identification_metrics, probe_rows
from maskforge.eval.output import check_output_dir

REQUIRED = ("pairs", "folds", "accuracy", "accuracy_std", "threshold", "auc", "eer", "tar_at_far",
            "failures", "embedder", "mask")  # fmt: skip


class Recorder:
    """A cheap embedding function that keeps the crops it was given (by call order)."""

    def __init__(self) -> None:
        self.crops: list[np.ndarray] = []

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        assert crops.dtype == np.uint8 and crops.ndim == 4 and crops.shape[3] == 3
        self.crops += list(crops)
        small = crops[:, ::8, ::8, :].reshape(len(crops), -1).astype(np.float32)
        return small - small.mean(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def small_pairs(lfw_dir, tmp_path_factory) -> Path:
    made = make_pairs(lfw_dir, folds=2, per_fold=2, seed=3)
    return write_pairs(made.pairs, tmp_path_factory.mktemp("pairs") / "pairs.txt")


@pytest.fixture(scope="module")
def stage() -> DetectStage:
    """One detect stage (models loaded once) for the Python-API tests."""
    return DetectStage(DetectConfig(size=112))


@pytest.fixture(scope="module")
def tiny_pairs(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "pairs.csv"
    path.write_text(
        "path_a,path_b,same,fold\n"
        "Ann_Veneman/Ann_Veneman_0001.jpg,Ann_Veneman/Ann_Veneman_0002.jpg,1,0\n"
        "Ann_Veneman/Ann_Veneman_0001.jpg,Bill_McBride/Bill_McBride_0001.jpg,0,0\n"
        "Bill_McBride/Bill_McBride_0001.jpg,Bill_McBride/Bill_McBride_0002.jpg,1,1\n"
        "Ann_Veneman/Ann_Veneman_0002.jpg,Bill_McBride/Bill_McBride_0002.jpg,0,1\n"
    )
    return path


def test_eval_pairs_cli_with_dlib_resnet(lfw_dir, small_pairs, tmp_path):
    out = tmp_path / "out"
    args = ["eval", "pairs", str(small_pairs), "--images", str(lfw_dir), "--output", str(out),
            "--embedder", "dlib-resnet", "--mask", "one", "--quiet"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    assert all(k in m for k in REQUIRED) and m["status"] == "complete"
    assert m["pairs"] == 8 and m["folds"] == 2 and m["mask"] == "one"
    assert m["embedder"] == "dlib-resnet" and m["occluder"].startswith("surgical")
    assert set(m["tar_at_far"]) == {"0.1", "0.01", "0.001", "0.0001"}
    assert m["tar_at_far"]["0.1"]["resolvable"] is False  # 4 impostor pairs resolve FAR >= 1/4
    assert m["tar_at_far"]["0.1"]["impostors"] == 4 and m["tar_at_far"]["0.1"]["tar"] is None
    assert m["accuracy"] >= 0.75 and m["auc"] >= 0.9  # dlib on LFW faces, one masked
    with Image.open(out / "roc.png") as im:
        assert im.format == "PNG" and im.size[0] >= 400
    assert "Most confident false accepts" in (out / "report.html").read_text()
    rows = (out / "scores.csv").read_text().splitlines()
    assert len(rows) == 9 and rows[0].endswith("distance")
    assert check_output_dir(out, [lfw_dir]) == out.resolve()  # a rerun may write here again


def test_masks_are_seeded_per_image(lfw_dir, stage):
    a, b, c = "Ann_Veneman/Ann_Veneman_0001.jpg", "Ann_Veneman/Ann_Veneman_0002.jpg", (
        "Bill_McBride/Bill_McBride_0001.jpg"
    )
    first, second, plain = Recorder(), Recorder(), Recorder()
    r1 = verify([Pair(a, b, True, 0), Pair(c, b, False, 1)], lfw_dir, first, "one", detect=stage)
    r2 = verify([Pair(b, c, False, 0), Pair(a, b, True, 1)], lfw_dir, second, "both", detect=stage)
    verify([Pair(a, b, True, 0), Pair(b, c, False, 1)], lfw_dir, plain, "none", detect=stage)
    # every image once per mask mode: a, c plain + b masked; then a, b, c masked
    assert r1.metrics["embedded"] == 3 and r2.metrics["embedded"] == 3
    masked_b_1 = r1.embeddings.vectors[(b, True)]
    masked_b_2 = r2.embeddings.vectors[(b, True)]
    assert np.array_equal(masked_b_1, masked_b_2)  # the same mask in every run, any pairs file
    # paths are processed in sorted order: a, b, c
    masked_b, unmasked_b = first.crops[1], plain.crops[1]
    assert np.array_equal(masked_b[:40], unmasked_b[:40])  # the eyes are not covered
    lower = np.abs(masked_b[70:].astype(int) - unmasked_b[70:]).mean()
    assert lower > 20  # the mouth and chin are covered, the eyes are not
    assert r1.metrics["occluder"] == "surgical+#1ca0f4:1"


def test_failures_are_counted_and_listed(lfw_dir, tmp_path, stage):
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (120, 120), (128, 128, 128)).save(blank)
    missing = tmp_path / "missing.jpg"
    good = "Ann_Veneman/Ann_Veneman_0001.jpg"
    pairs = [
        Pair(good, "Ann_Veneman/Ann_Veneman_0003.jpg", True, 0),
        Pair(good, str(blank), True, 1),
        Pair(good, "Bill_McBride/Bill_McBride_0001.jpg", False, 0),
        Pair(str(missing), good, False, 1),
    ]
    res = verify(pairs, lfw_dir, Recorder(), mask="none", detect=stage)
    f = res.metrics["failures"]
    assert f["images"] == 2 and f["pairs"] == 2 and f["matched_pairs"] == 1
    reasons = {x["path"]: x["reason"] for x in f["list"]}
    assert reasons == {str(blank): "no_face", str(missing): "unreadable"}
    assert res.metrics["pairs"] == 4 and res.metrics["matched"] == 2  # nothing dropped
    assert np.isinf(res.distances[[1, 3]]).all() and np.isfinite(res.distances[[0, 2]]).all()


def test_model_option_and_output_safety(lfw_dir, tiny_pairs, tmp_path, monkeypatch, stage):
    (tmp_path / "mymodel.py").write_text(
        "import numpy as np\n"
        "def embed(crops):\n"
        "    return crops[:, ::16, ::16, :].reshape(len(crops), -1).astype(np.float32)\n"
        "def broken(crops):\n"
        "    return np.zeros((len(crops) + 1, 4))\n"
    )
    monkeypatch.chdir(tmp_path)  # --model imports from the current folder
    runner = CliRunner()
    base = ["eval", "pairs", str(tiny_pairs), "--images", str(lfw_dir), "--mask", "none", "--quiet"]
    res = runner.invoke(main, [*base, "--output", "out", "--model", "mymodel:embed"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "out/metrics.json").read_text())["embedder"] == "mymodel:embed"
    assert str(tmp_path) not in sys.path  # put there for the import only
    with pytest.raises(EvalError, match="one row per crop"):
        verify(tiny_pairs, lfw_dir, load_model("mymodel:broken"), detect=stage)
    res = runner.invoke(main, [*base, "--output", "out3", "--model", "mymodel:nothing"])
    assert res.exit_code == 2 and "has no attribute" in res.output and "Traceback" not in res.output
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    res = runner.invoke(main, [*base, "--output", str(foreign), "--model", "mymodel:embed"])
    assert res.exit_code == 2 and "not written by maskforge eval" in res.output
    assert sorted(os.listdir(foreign)) == ["notes.txt"]
    images = tmp_path / "images"
    (images / "Ann_Veneman").mkdir(parents=True)
    res = runner.invoke(
        main, ["eval", "pairs", str(tiny_pairs), "--images", str(images),
               "--output", str(images / "out"), "--model", "mymodel:embed"],
    )  # fmt: skip
    assert res.exit_code == 2 and "inside the input folder" in res.output
    assert not (images / "out").exists()
    res = runner.invoke(main, ["eval", "make-pairs", str(lfw_dir), "--output", "out/metrics.json"])
    assert res.exit_code == 2 and "exists already" in res.output


def test_identification_metrics_by_hand():
    inf = np.inf
    # 4 probes x 3 identities; truth 0, 1, 2, 0; the last probe failed
    dist = np.array([[0.2, 0.9, 1.0], [0.5, 0.4, 1.1], [0.3, 0.8, 0.6], [inf, inf, inf]])
    m = identification_metrics(dist, np.array([0, 1, 2, 0]), far=0.5)
    assert m["rank1"] == pytest.approx(2 / 4)  # probe 2 is nearest to identity 0; probe 3 failed
    assert m["rank5"] == pytest.approx(3 / 4)
    o = m["open_set"]
    # non-mated nearest distances: 0.9, 0.5, 0.3 -> FPIR <= 0.5 allows 1 of 3: threshold < 0.5
    assert o["non_mated"] == 3 and 0.3 <= o["threshold"] < 0.5 and o["fpir"] == pytest.approx(1 / 3)
    assert o["dir"] == pytest.approx(2 / 4)  # probes 0 and 1 identified within the threshold
    assert o["accuracy"] == pytest.approx((2 + 3) / 8)  # 2 hits; 0.9, 0.5 and the failed rejected
    rows = probe_rows(dist, np.array([0, 1, 2, 0]))
    assert [r[:2] for r in rows] == [(0, 1), (1, 1), (0, 2), (-1, 0)]


def test_identify_cli(lfw_dir, tmp_path):
    images = tmp_path / "faces"
    names = ["Ann_Veneman", "Bill_McBride", "Ian_Thorpe", "Jason_Kidd"]
    for name in names:
        (images / name).mkdir(parents=True)
        for k in (1, 2, 3):
            f = f"{name}_{k:04d}.jpg"
            (images / name / f).symlink_to(lfw_dir / name / f)
    for name in ("AJ_Cook", "Aaron_Peirsol"):  # gallery-only distractors
        (images / name).mkdir()
        (images / name / f"{name}_0001.jpg").symlink_to(lfw_dir / name / f"{name}_0001.jpg")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["eval", "identify", "--images", str(images), "--output", str(out),
               "--embedder", "dlib-resnet", "--far", "0.2", "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["probes"] == 8 and m["gallery_images"] == 6 and m["gallery_identities"] == 6
    assert m["mask"] == "probes" and m["failures"]["images"] == 0
    assert m["rank1"] >= 0.5 and m["rank5"] >= m["rank1"]  # masked probes; chance is 1/6
    assert m["open_set"]["non_mated"] == 8 and m["open_set"]["fpir"] <= 0.2
    rows = (out / "probes.csv").read_text().splitlines()
    assert rows[0] == "path,identity,nearest,rank,distance" and len(rows) == 9
    hits = sum(r.split(",")[1] == r.split(",")[2] for r in rows[1:])
    assert hits == round(m["rank1"] * 8)  # rank 1 = nearest identity is its own
    assert not any(p.is_file() and not p.is_symlink() for p in images.rglob("*"))  # input untouched


def test_identity_distances_match_brute_force():
    from maskforge.eval.identify import identity_distances

    rng = np.random.default_rng(0)
    g = rng.normal(size=(9, 4))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    p = rng.normal(size=(5, 4))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    ids = np.array([3, 0, 3, 1, 0, 3, 1, 1, 0])  # identity 2 has no gallery image
    got = identity_distances(p, g, ids, 4, chunk=2)
    for q in range(5):
        for k in range(4):
            want = min((np.linalg.norm(p[q] - g[j]) for j in range(9) if ids[j] == k), default=np.inf)
            assert got[q, k] == pytest.approx(want, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=1, max_size=10),
    per=st.integers(1, 3),
    seed=st.integers(0, 5),
)
def test_split_gallery_property(sizes, per, seed):
    from maskforge.eval.identify import split_gallery

    by_id = {f"id{k}": [f"id{k}/{j}.jpg" for j in range(n)] for k, n in enumerate(sizes)}
    gallery, probes = split_gallery(by_id, per, seed)
    assert sorted(gallery + probes) == sorted((p, i) for i, ps in by_id.items() for p in ps)
    for ident, paths in by_id.items():
        assert sum(i == ident for _, i in gallery) == min(per, len(paths))
    assert split_gallery(by_id, per, seed) == (gallery, probes)  # seeded
