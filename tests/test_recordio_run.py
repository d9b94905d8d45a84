"""``maskforge run recipes/ms1m-retinaface.toml --input X.rec`` end to end, on a .rec of ArcFace
112 crops of lfw-dev packed by the independent packer (tests/recordio_ref.py): labels preserved,
faces masked, no detector; the export back to RecordIO, and ``eval pairs`` on a ``.bin``."""

from __future__ import annotations

import struct
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from maskforge.detect import AlignedFace, DetectStage
from maskforge.io.decode import decode_image, encode_image

from . import recordio_ref as ref

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "ms1m-retinaface.toml"


@pytest.fixture(scope="module")
def lfw_rec(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[bytes]]]:
    """train.rec/.idx/property in insightface's layout: 12 lfw-dev identities with 3+ images (at
    most 5 each), as JPEG 112x112 ArcFace crops made by maskforge's detect + align."""
    folders = [d for d in sorted(lfw_dir.iterdir()) if len(list(d.glob("*.jpg"))) >= 3][:12]
    stage = DetectStage({"size": 112, "template": "arcface"})
    identities = []
    for d in folders:
        faces = stage([decode_image(p) for p in sorted(d.glob("*.jpg"))[:5]])
        identities.append([encode_image(f.image, "jpeg", 95) for f in faces if isinstance(f, AlignedFace)])
    folder = tmp_path_factory.mktemp("ms1m")
    ref.write(folder, ref.insightface_layout(identities), num_classes=len(identities))
    return folder / "train.rec", identities


def _no_detector(*args: object, **kwargs: object) -> None:
    raise AssertionError("a detector was built for aligned input")


def test_ms1m_recipe_end_to_end(lfw_rec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maskforge import read_shards, run

    monkeypatch.setattr("maskforge.detect.stage.make_detector", _no_detector)
    rec, identities = lfw_rec
    records = ref.read_all(rec, rec.with_suffix(".idx"))
    out = tmp_path / "out"
    run(RECIPE, input=rec, output=out, executor="local")
    rows = read_shards(out).to_table().to_pylist()
    n_images = sum(len(v) for v in identities)
    by_variant: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_variant[r["variant"]].append(r)
        name, key = r["source_path"].split("#")
        assert name == "train.rec"
        flag, labels, image = records[int(key)]
        assert r["identity"] == f"{int(labels[0]):08d}"  # the record's label ...
        assert r["label"] == int(labels[0])  # ... preserved as the run's label
        if r["variant"] == "original":  # the record's face, unchanged but for the JPEG re-encoding
            diff = decode_image(r["image"]).astype(int) - decode_image(image).astype(int)
            assert np.abs(diff).mean() < 2.0
    assert len(by_variant["original"]) == n_images
    masked = [r for r in by_variant["mask"] if r["occluded"]]
    assert len(masked) >= 0.98 * n_images, f"{len(masked)} of {n_images} masked"
    assert (read_shards(out, table="rejects").count_rows()) == 0
    assert 'aligned = "arcface-112"' in (out / "recipe.toml").read_text()

    # back to RecordIO: the independent reader sees the same labels and image bytes
    from maskforge.export.insightface import export_insightface

    dst = tmp_path / "rec-out"
    export_insightface(out, dst)
    got = ref.read_all(dst / "train.rec", dst / "train.idx")
    exported = sorted((int(labels[0]), image) for k, (flag, labels, image) in got.items() if flag == 0)
    assert exported == sorted((r["label"], r["image"]) for r in rows)
    assert struct.unpack("<I", (dst / "train.rec").read_bytes()[:4])[0] == ref.MAGIC


def test_eval_pairs_reads_a_bin(lfw_rec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maskforge.eval import verify
    from maskforge.eval.bin_sets import bin_detect, bin_pairs
    from maskforge.io.verification_bin import write_bin

    monkeypatch.setattr("maskforge.detect.stage.make_detector", _no_detector)
    _, identities = lfw_rec
    multi = [v for v in identities if len(v) >= 2]
    bins, issame = [], []
    for k in range(10):  # 10 folds of one matched and one mismatched pair
        a, b = multi[k % len(multi)], multi[(k + 1) % len(multi)]
        bins += [a[0], a[1], a[0], b[0]]
        issame += [True, False]
    write_bin(tmp_path / "lfw.bin", bins, issame)
    pairs, images = bin_pairs(tmp_path / "lfw.bin", folds=10)
    assert [p.fold for p in pairs] == [k // 2 for k in range(20)]

    def embed(crops: np.ndarray) -> np.ndarray:  # a toy embedding: the mean colour of the crop
        return crops.reshape(len(crops), -1, 3).mean(1)

    res = verify(pairs, images, embed, mask="one", detect=bin_detect())
    assert res.metrics["pairs"] == 20 and res.metrics["failures"]["images"] == 0
    assert np.isfinite(res.distances).all()


def test_auto_is_aligned_for_recordio_and_in_the_detect_key(tmp_path: Path) -> None:
    from maskforge.pipeline import plan_run
    from maskforge.recipe import load_recipe

    ref.write(tmp_path / "rec", [ref.payload(k % 2, b"jpeg-bytes-%d" % k) for k in range(4)])
    (tmp_path / "folder" / "a").mkdir(parents=True)
    (tmp_path / "folder" / "a" / "x.jpg").write_bytes(b"x")
    recipe = load_recipe(text="[detect]\n")
    assert recipe.detect is not None and recipe.detect.aligned == "auto"
    rec_plan = plan_run(recipe, input=tmp_path / "rec", output=tmp_path / "out1")
    folder_plan = plan_run(recipe, input=tmp_path / "folder", output=tmp_path / "out2")
    assert rec_plan.recipe.detect.aligned == "arcface-112"
    assert folder_plan.recipe.detect.aligned == "auto"  # the stage detects
    none_plan = plan_run(recipe, input=tmp_path / "rec", output=tmp_path / "out3",
                         overrides=["detect.aligned=none"])  # fmt: skip
    assert none_plan.recipe.detect.aligned == "none"
    assert len({p.stage_keys["detect"] for p in (rec_plan, folder_plan, none_plan)}) == 3


def test_corrupt_records_are_rejects_of_a_run(lfw_rec, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from maskforge import run
    from maskforge.io.recordio import read_index

    _, identities = lfw_rec
    rec = ref.write(tmp_path / "bad", ref.insightface_layout(identities[:2]))
    offsets = dict(read_index(rec.with_suffix(".idx")))
    raw = bytearray(rec.read_bytes())
    raw[offsets[2] : offsets[2] + 4] = b"JUNK"  # bad magic: the listing rejects it
    raw[offsets[3] + 40 : offsets[3] + 300] = bytes(260)  # a damaged JPEG: the decoder rejects it
    rec.write_bytes(bytes(raw))
    run(RECIPE, input=rec, output=tmp_path / "out", executor="local")
    rejects = {r["source_path"]: r for r in pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()}
    assert set(rejects) == {"train.rec#2", "train.rec#3"}
    assert (rejects["train.rec#2"]["stage"], rejects["train.rec#2"]["reason"]) == ("list", "bad_magic")
    assert rejects["train.rec#2"]["detail"].startswith(f"at byte {offsets[2]}")
    assert rejects["train.rec#3"]["stage"] == "decode"


def toy_embed(crops: np.ndarray) -> np.ndarray:
    """A toy embedding for ``--model``: the mean colour of each crop's four quarters."""
    n = len(crops)
    q = crops.reshape(n, 2, crops.shape[1] // 2, 2, crops.shape[2] // 2, 3).astype(np.float64)
    return q.mean(axis=(2, 4)).reshape(n, -1)


def test_cli_eval_pairs_on_a_bin(lfw_rec, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from maskforge.cli import main
    from maskforge.io.verification_bin import write_bin

    _, identities = lfw_rec
    multi = [v for v in identities if len(v) >= 2]
    bins, issame = [], []
    for k in range(10):
        a, b = multi[k % len(multi)], multi[(k + 3) % len(multi)]
        bins += [a[0], a[1], a[1], b[0]]
        issame += [True, False]
    write_bin(tmp_path / "lfw.bin", bins, issame)
    res = CliRunner().invoke(main, ["eval", "pairs", str(tmp_path / "lfw.bin"), "--output", str(tmp_path / "ev"),
                                    "--model", "tests.test_recordio_run:toy_embed", "--mask", "none", "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["pairs"] == 20 and metrics["failures"]["images"] == 0
    (tmp_path / "imgs").mkdir()
    res = CliRunner().invoke(main, ["eval", "pairs", str(tmp_path / "lfw.bin"), "--output", str(tmp_path / "ev2"),
                                    "--images", str(tmp_path / "imgs"), "--model", "tests.test_recordio_run:toy_embed"])  # fmt: skip
    assert res.exit_code == 2 and "leave out --images" in res.output
