"""Hygiene outputs (hygiene.parquet, hygiene.json) and the audit report's hygiene pages."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq

from maskforge.hygiene import HygieneConfig
from maskforge.hygiene.search import EvalEmbeddings, HygieneInput
from maskforge.hygiene.stage import run_hygiene
from maskforge.hygiene.table import RECORD_SCHEMA, write_outputs
from maskforge.report.hygiene import build_hygiene_pages


def _setup(tmp_path, lfw_images):
    """A 3-identity dataset of real files: A (4 images), A_b (2 more of A's person), B (3) with a
    copy of A's first image; an evaluation folder holding B's person."""
    src = tmp_path / "src"
    files = {"A": lfw_images[0:4], "A_b": lfw_images[4:6], "B": lfw_images[20:23]}
    rng = np.random.default_rng(0)
    c = rng.standard_normal((2, 16))
    paths, ids, emb = [], [], []
    for name, imgs in files.items():
        (src / name).mkdir(parents=True)
        for k, f in enumerate(imgs):
            shutil.copy(f, src / name / f"{k}.jpg")
            paths.append(f"{name}/{k}.jpg")
            ids.append(name)
            emb.append(c[0 if name != "B" else 1] + 0.01 * rng.standard_normal(16))
    shutil.copy(lfw_images[0], src / "B" / "copy.jpg")
    paths.append("B/copy.jpg")
    ids.append("B")
    emb.append(emb[0])
    x = np.array(emb, np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    evdir = tmp_path / "eval" / "B_person"
    evdir.mkdir(parents=True)
    shutil.copy(lfw_images[23], evdir / "1.jpg")
    ev = EvalEmbeddings("evalset", x[6:8], ["B_person", "B_person"], [str(evdir / "1.jpg")] * 2,
                        str(tmp_path / "eval"))  # fmt: skip
    return src, HygieneInput(x, ids, paths), ev


CFG = {"near_cosine": 0.9999, "crop_cosine": 0.99999, "same_person_cosine": 0.98,
       "overlap_cosine": 0.98}  # fmt: skip


def test_outputs_and_pages(tmp_path, lfw_images):
    src, inp, ev = _setup(tmp_path, lfw_images)
    cfg = HygieneConfig(action="merge", **CFG)
    res = run_hygiene(inp, cfg, [ev])
    out = tmp_path / "out"
    out.mkdir()
    files = write_outputs(out, res, inp, cfg, [ev])
    table = pq.read_table(files["records"])
    assert table.schema.names == RECORD_SCHEMA.names and table.num_rows == len(res.records)
    assert set(table.column("issue").to_pylist()) == {"duplicate_across_identities", "same_person",
                                                      "eval_overlap"}  # fmt: skip
    data = json.loads(files["findings"].read_text())
    assert data["duplicate_sets"][0]["members"][0] == {
        "source_path": "A/0.jpg", "identity": "A", "how": "keeper", "cosine": 1.0, "bits": -1,
        "action": "keep"}  # fmt: skip
    assert data["duplicate_sets"][0]["members"][1]["action"] == "remove"
    assert [(p["a"], p["b"]) for p in data["identity_pairs"]] == [("A", "A_b")]
    assert (
        data["overlaps"][0]["identity"] == "B" and data["overlaps"][0]["evidence"][0]["eval_path"]
    )
    index = build_hygiene_pages(files["findings"], out / "report", source_root=src, per_page=1)
    folder = index.parent
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert pages == [
        "duplicates-0001.html",
        "identities-0001.html",
        "index.html",
        "overlaps-0001.html",
    ]
    dup = (folder / "duplicates-0001.html").read_text()
    assert "A/0.jpg" in dup and "B/copy.jpg" in dup and 'data-line="B/copy.jpg"' in dup
    thumbs = list((folder / "thumbnails").glob("*.jpg"))
    assert len(thumbs) >= 5  # training and evaluation images, read from their folders
    over = (folder / "overlaps-0001.html").read_text()
    assert "not shown" not in over and 'data-line="B"' in over
    # the same input gives the same bytes
    again = tmp_path / "again"
    again.mkdir()
    files2 = write_outputs(again, run_hygiene(inp, cfg, [ev]), inp, cfg, [ev])
    assert (
        files2["findings"].read_bytes() != b""
        and json.loads(files2["findings"].read_text())["duplicate_sets"] == data["duplicate_sets"]
    )
    assert pq.read_table(files2["records"]).equals(table)


def test_pages_never_read_outside_the_folders(tmp_path, lfw_images):
    findings = {
        "summary": {"action": "report", "duplicate_sets": 1, "duplicate_sets_across_identities": 0,
                    "same_person_pairs": 0, "eval_overlaps": 1, "eval_name_only": 0,
                    "removed": 0, "relabelled": 0},
        "eval_sets": [{"label": "e", "images": 1, "root": str(tmp_path / "eval")}],
        "duplicate_sets": [{"across": False, "members": [
            {"source_path": "../outside.jpg", "identity": "A", "how": "keeper", "cosine": 1.0,
             "bits": 0, "action": "keep"}]}],
        "identity_pairs": [],
        "overlaps": [{"identity": "A", "eval_identity": "A", "eval_set": "e", "signals": ["name"],
                      "centre_cosine": 0.99, "overlap": True, "reason": "eval_overlap_name",
                      "evidence": [{"path": "A/1.jpg", "eval_path": str(lfw_images[0]), "cosine": 0.9}]}],
    }  # fmt: skip
    index = build_hygiene_pages(findings, tmp_path / "report", source_root=tmp_path / "src")
    dup = (index.parent / "duplicates-0001.html").read_text()
    over = (index.parent / "overlaps-0001.html").read_text()
    assert "not shown: outside the input folder" in dup
    assert "not shown: outside the evaluation set" in over
    assert "none found" in index.read_text()  # no identity pairs
