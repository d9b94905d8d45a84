"""CleanConfig validation, keep.csv parsing, calibrated defaults and noise planting."""

from __future__ import annotations

import numpy as np
import pytest

from maskforge.clean import CleanConfig, default_threshold, read_keep
from maskforge.clean.calibrate import best_threshold, plant_label_noise, prf
from maskforge.errors import RecipeError, SourceError


def test_from_dict_maps_recipe_table():
    cfg = CleanConfig.from_dict({"method": "mean-distance", "threshold": 0.5, "action": "flag"})
    assert (cfg.method, cfg.threshold, cfg.action, cfg.min_images) == (
        "mean-distance",
        0.5,
        "flag",
        3,
    )
    assert CleanConfig.from_dict(None) == CleanConfig()
    assert CleanConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "table, words",
    [
        ({"methd": "robust"}, "unknown key"),
        ({"method": "median"}, "clean.method"),
        ({"threshold": -1}, "clean.threshold"),
        ({"threshold": "0.5"}, "clean.threshold"),
        ({"threshold": True}, "clean.threshold"),
        ({"min_images": 1}, "clean.min_images"),
        ({"action": "delete"}, "clean.action"),
        ({"embedder": "arcface"}, "clean.embedder"),
        ({"k_mad": -2}, "clean.k_mad"),
        ({"confusion_margin": 3}, "clean.confusion_margin"),
        ({"memory_mb": 0}, "clean.memory_mb"),
    ],
)
def test_from_dict_rejects_bad_tables(table, words):
    with pytest.raises(RecipeError, match=words):
        CleanConfig.from_dict(table)


def test_default_thresholds():
    assert default_threshold("mean-distance", "facenet-vggface2") == 1.25
    assert 0 < default_threshold("robust", "dlib-resnet") < 1
    with pytest.raises(RecipeError):
        default_threshold("robust", "auto")


def test_read_keep_formats(tmp_path):
    p = tmp_path / "keep.csv"
    p.write_text("path,identity\n# a comment\nA/a_1.jpg,A\n./B\\b_2.jpg,B\n\n", encoding="utf-8")
    keep = read_keep(p)
    assert keep.paths == {"A/a_1.jpg", "B/b_2.jpg"}
    assert keep.contains("./A/a_1.jpg") and not keep.contains("A/a_2.jpg")
    bare = tmp_path / "bare.csv"
    bare.write_text("A/a_1.jpg\nC/c.png\n", encoding="utf-8")
    assert read_keep(bare).paths == {"A/a_1.jpg", "C/c.png"}
    ids = tmp_path / "ids.csv"
    ids.write_text("sample_id\n0123456789abcdef\n", encoding="utf-8")
    assert read_keep(ids).contains(sample_id="0123456789abcdef")
    assert len(read_keep(None)) == 0
    with pytest.raises(SourceError):
        read_keep(tmp_path / "missing.csv")


def test_plant_label_noise_fraction_and_determinism():
    ids = np.array([f"p{k}" for k in range(30) for _ in range(10)] + [f"s{k}" for k in range(40)])
    a = plant_label_noise(ids, 0.10, seed=3)
    b = plant_label_noise(ids, 0.10, seed=3)
    assert np.array_equal(a.identity, b.identity) and np.array_equal(a.noisy, b.noisy)
    assert not np.array_equal(a.noisy, plant_label_noise(ids, 0.10, seed=4).noisy)
    assert np.all(a.identity[a.noisy] != ids[a.noisy])  # moved to another identity
    assert np.array_equal(a.identity[~a.noisy], ids[~a.noisy])
    assert 0.7 * 33 <= a.noisy.sum() <= 1.3 * 33  # 10 % of ~330 images in recipients


def test_plant_lookalike_uses_nearest_identities():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((10, 16))
    emb, ids = [], []
    for k in range(10):  # identity 2k and 2k+1 are near each other
        centre = base[k // 2] + 0.1 * rng.standard_normal(16)
        emb.append(centre + 0.05 * rng.standard_normal((6, 16)))
        ids += [f"i{k}"] * 6
    emb = np.concatenate(emb)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = np.array(ids)
    pn = plant_label_noise(ids, 0.2, seed=1, embeddings=emb, lookalike=True, lookalike_pool=1)
    for i in np.flatnonzero(pn.noisy):
        src, dst = int(ids[i][1:]), int(pn.identity[i][1:])
        assert src // 2 == dst // 2  # donor = the nearest identity


def test_prf_and_best_threshold():
    truth = np.array([0, 0, 0, 1, 1], bool)
    s = prf(np.array([0, 0, 1, 1, 0], bool), truth)
    assert (s.tp, s.fp, s.fn) == (1, 1, 1) and s.f1 == pytest.approx(0.5)
    t, best = best_threshold(np.array([0.1, 0.2, 0.3, 0.9, 0.8]), truth)
    assert best.f1 == 1.0 and 0.3 <= t < 0.8
