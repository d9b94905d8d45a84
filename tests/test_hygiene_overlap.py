"""Evaluation-set overlap: names, loaders, similarity (maskforge.hygiene.overlap / .evalsets)."""

from __future__ import annotations

import numpy as np
import pytest

from maskforge.errors import SourceError
from maskforge.hygiene import ExcludeSpec, HygieneConfig
from maskforge.hygiene.evalsets import EvalSet, load_eval_set, register_loader
from maskforge.hygiene.overlap import normalise_name
from maskforge.hygiene.search import EvalEmbeddings, HygieneInput
from maskforge.hygiene.stage import run_hygiene
from maskforge.io.decode import encode_image


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("George_W_Bush", "bush, george w."),
        ("José María Aznar", "Jose_Maria_Aznar"),
        ("Jean-David_Levitte", "jean david levitte"),
        ("LEVITTE Jean David", "Jean_David_Levitte"),
    ],
)
def test_normalised_names_match(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_different_names_differ():
    assert normalise_name("George_W_Bush") != normalise_name("George_HW_Bush")
    assert normalise_name("Laura_Bush") != normalise_name("George_W_Bush")


def _image_tree(root, names):
    img = encode_image(np.full((8, 8, 3), 120, np.uint8), "jpeg")
    for name, n in names.items():
        (root / name).mkdir(parents=True)
        for i in range(1, n + 1):
            (root / name / f"{name}_{i:04d}.jpg").write_bytes(img)


def test_pairs_file_and_folder_loaders(tmp_path):
    _image_tree(tmp_path / "lfw", {"Ann_A": 3, "Bob_B": 2})
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("1\t1\nAnn_A\t1\t3\nAnn_A\t2\tBob_B\t2\n")
    es = load_eval_set(ExcludeSpec(path=str(pairs), images=str(tmp_path / "lfw")))
    assert es.kind == "pairs" and es.names == ("Ann_A", "Ann_A", "Ann_A", "Bob_B")
    assert [p.rsplit("/", 1)[1] for p in es.paths] == ["Ann_A_0001.jpg", "Ann_A_0002.jpg",
                                                       "Ann_A_0003.jpg", "Bob_B_0002.jpg"]  # fmt: skip
    folder = load_eval_set(ExcludeSpec(path=str(tmp_path / "lfw")))
    assert folder.kind == "folder" and len(folder) == 5 and set(folder.names) == {"Ann_A", "Bob_B"}
    pairs.write_text("1\t1\nAnn_A\t1\t9\nAnn_A\t2\tBob_B\t2\n")
    with pytest.raises(SourceError, match="Ann_A_0009.jpg"):
        load_eval_set(ExcludeSpec(path=str(pairs), images=str(tmp_path / "lfw")))


def test_bin_loader_and_extension_point(tmp_path):
    from maskforge.io.verification_bin import write_bin

    img = encode_image(np.full((112, 112, 3), 90, np.uint8), "jpeg")
    binf = tmp_path / "lfw.bin"
    write_bin(binf, [img, img + b"", img, img], [True, False])
    es = load_eval_set(ExcludeSpec(path=str(binf)))
    assert es.kind == "bin" and es.paths == ("lfw.bin#0", "lfw.bin#1", "lfw.bin#2", "lfw.bin#3")
    assert es.names == ("lfw.bin#pair0", "lfw.bin#pair0", "lfw.bin#2", "lfw.bin#3")
    assert es.images is not None and es.images[0] == img
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0")
    with pytest.raises(SourceError, match="verification set"):
        load_eval_set(ExcludeSpec(path=str(bad)))
    from maskforge.hygiene import evalsets

    saved = evalsets._LOADERS["bin"]
    register_loader("bin", lambda spec: EvalSet(spec.path, "bin", ("x",), ("Ann_A",), (b"",)))
    try:
        assert load_eval_set(ExcludeSpec(path=str(binf))).names == ("Ann_A",)
    finally:
        register_loader("bin", saved)


def test_exclude_accepts_paths_and_tables():
    cfg = HygieneConfig.from_dict({"exclude": ["lfw/", {"path": "pairs.txt", "images": "lfw/"}]})
    assert [s.path for s in cfg.exclude_specs()] == ["lfw/", "pairs.txt"]
    assert cfg.exclude_specs()[1].images == "lfw/"


def _train_eval():
    rng = np.random.default_rng(1)
    c = rng.standard_normal((6, 32))
    c /= np.linalg.norm(c, axis=1, keepdims=True)

    def around(k, n):
        v = c[k] + 0.02 * rng.standard_normal((n, 32))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    # training: Ann (0), Bob (1) renamed "person7", Cid (2), Dee (3); evaluation: Ann, Bob, Eve (4)
    # and "Cid_C" who is someone else (5) with Cid's name
    x = np.vstack([around(0, 5), around(1, 5), around(2, 5), around(3, 5)])
    ids = ["Ann_A"] * 5 + ["person7"] * 5 + ["C, Cid"] * 5 + ["Dee_D"] * 5
    ev = np.vstack([around(0, 2), around(1, 2), around(4, 2), around(5, 2)])
    ev[0] = x[0]  # one photo in both sets
    names = ["Ann_A"] * 2 + ["Bob_B"] * 2 + ["Eve_E"] * 2 + ["Cid_C"] * 2
    inp = HygieneInput(x.astype(np.float32), ids, [f"{n}/{i}.jpg" for i, n in enumerate(ids)])
    return inp, EvalEmbeddings("pairs.txt", ev.astype(np.float32), names)


def test_overlap_by_similarity_and_name():
    inp, ev = _train_eval()
    res = run_hygiene(
        inp, HygieneConfig(action="remove", overlap_cosine=0.9, name_cosine=0.9), [ev]
    )
    got = {
        (o.identity, o.eval_identity): (o.signals, o.overlap, o.reason)
        for o in res.findings.overlaps
    }
    assert got == {
        ("Ann_A", "Ann_A"): (("image", "face", "name"), True, "eval_overlap_image"),
        ("person7", "Bob_B"): (("face",), True, "eval_overlap_face"),
        ("C, Cid", "Cid_C"): (("name",), False, "name_only"),  # same name, another face
    }
    gone = {inp.identities[i] for i in np.flatnonzero(res.removed)}
    assert gone == {"Ann_A", "person7"} and res.removed.sum() == 10
    rec = next(r for r in res.records if r["identity"] == "person7")
    assert rec["issue"] == "eval_overlap" and rec["partner"] == "pairs.txt:Bob_B"
    assert rec["score"] > 0.9 and "signals face" in rec["detail"]
    # a name match whose faces agree well enough is an overlap too
    loose = run_hygiene(inp, HygieneConfig(overlap_cosine=0.9, name_cosine=-1.0), [ev])
    assert {(o.identity, o.reason) for o in loose.findings.overlaps if o.overlap} >= {
        ("C, Cid", "eval_overlap_name")
    }
