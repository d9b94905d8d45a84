"""Cleaning on synthetic embeddings: exactness of the reference rule, robustness of ``robust``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.clean import CleanConfig, default_threshold, score_identities
from maskforge.clean.batching import pad_indices, plan_batches
from maskforge.clean.methods import density_seed, mean_distance_scores, rms_to_set

DIM = 128


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def cluster(rng: np.random.Generator, n: int, spread: float, centre=None) -> np.ndarray:
    """n unit vectors around a random (or given) centre; pairwise L2 ~ spread * 1.3."""
    c = unit(rng.standard_normal(DIM)) if centre is None else centre
    return unit(c + spread * rng.standard_normal((n, DIM)) / np.sqrt(DIM))


def brute_mean_distance(x: np.ndarray, ids: np.ndarray) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for name in np.unique(ids):
        g = np.flatnonzero(ids == name)
        d = np.linalg.norm(x[g, None] - x[None, g], axis=-1)
        out[g] = d.sum(1) / (len(g) - 1)
    return out


def dataset(seed: int = 0):
    """40 tight identities (spread 0.25) of 6-30 images, 10 % foreign images planted."""
    rng = np.random.default_rng(seed)
    xs, ids, noisy = [], [], []
    centres = unit(rng.standard_normal((40, DIM)))
    for k in range(40):
        n = int(rng.integers(6, 31))
        xs.append(cluster(rng, n, 0.25, centres[k]))
        ids += [f"id{k:02d}"] * n
        noisy += [False] * n
        m = max(1, n // 10)
        donors = rng.choice([j for j in range(40) if j != k], size=m)
        xs.append(np.concatenate([cluster(rng, 1, 0.25, centres[d]) for d in donors]))
        ids += [f"id{k:02d}"] * m
        noisy += [True] * m
    return np.concatenate(xs), np.array(ids, dtype=object), np.array(noisy)


def test_mean_distance_matches_brute_force_with_chunking():
    x, ids, _ = dataset(1)
    ref = brute_mean_distance(x, ids)
    for memory_mb in (1, 256):
        res = score_identities(
            x, ids, CleanConfig(method="mean-distance", threshold=0.45, memory_mb=memory_mb)
        )
        np.testing.assert_allclose(res.score, ref, atol=2e-4)
        assert np.all(res.threshold == np.float32(0.45))
        assert np.array_equal(res.flagged, ref > 0.45)


def test_row_chunks_and_padding_give_same_scores():
    rng = np.random.default_rng(2)
    x = torch.from_numpy(cluster(rng, 50, 0.3)).unsqueeze(0)
    mask = torch.ones(1, 50, dtype=torch.bool)
    mask[0, 45:] = False  # padded slots
    full = mean_distance_scores(x, mask, memory_bytes=1 << 30)
    tiny = mean_distance_scores(x, mask, memory_bytes=1)  # one row per chunk
    torch.testing.assert_close(full, tiny, equal_nan=True)
    assert torch.isnan(full[0, 45:]).all()
    for a, b in zip(
        density_seed(x, mask, 0.4, memory_bytes=1 << 30),
        density_seed(x, mask, 0.4, memory_bytes=1),
        strict=True,
    ):
        torch.testing.assert_close(a, b)


def test_rms_to_set_is_leave_one_out_rms():
    rng = np.random.default_rng(3)
    x = cluster(rng, 9, 0.4)
    member = np.array([1, 1, 1, 0, 1, 1, 0, 1, 1], bool)
    rms, mean = rms_to_set(torch.from_numpy(x)[None], torch.from_numpy(member)[None])
    for i in range(9):
        others = [j for j in np.flatnonzero(member) if j != i]
        want = np.sqrt(np.mean(np.sum((x[others] - x[i]) ** 2, axis=1)))
        assert rms[0, i].item() == pytest.approx(want, abs=1e-4)
    np.testing.assert_allclose(mean[0].numpy(), x[member].mean(0), atol=1e-6)


def test_plan_batches_respects_budget_and_covers_all():
    groups = [np.arange(n) + 1000 * i for i, n in enumerate([3, 5, 40, 7, 300, 3, 12])]
    batches = list(plan_batches(groups, DIM, memory_bytes=2_000_000, reference_size=1024))
    seen = sorted(int(g[0]) for b in batches for g in b.groups)
    assert seen == sorted(int(g[0]) for g in groups)
    for b in batches:
        index, mask = pad_indices(b)
        assert index.shape == mask.shape == (len(b.groups), b.width)
        assert mask.sum() == sum(len(g) for g in b.groups)


def test_robust_finds_planted_noise_and_beats_reference():
    x, ids, noisy = dataset(4)
    rob = score_identities(x, ids, CleanConfig(method="robust"))
    assert np.array_equal(rob.flagged, noisy)
    assert set(rob.status[noisy]) == {"flagged"} and set(rob.status[~noisy]) == {"kept"}
    assert set(rob.reason[noisy]) <= {"distance", "closer_to_other"}
    # the nearest other identity of a planted image is its donor cluster's identity
    assert all(name is not None and name.startswith("id") for name in rob.nearest_identity[noisy])
    assert np.all(rob.nearest_identity[~noisy] == None)  # noqa: E711 - object array
    assert rob.identity_stats["flagged"].sum() == noisy.sum()


def test_robust_spares_high_variance_identity():
    rng = np.random.default_rng(5)
    wide = cluster(rng, 60, 0.36)  # genuine but spread: mean distance ~0.5 > 0.45
    tight = cluster(rng, 30, 0.25)
    x = np.concatenate([wide, tight])
    ids = np.array(["wide"] * 60 + ["tight"] * 30, dtype=object)
    md = score_identities(x, ids, CleanConfig(method="mean-distance"))
    rob = score_identities(x, ids, CleanConfig(method="robust"))
    assert md.flagged[:60].mean() > 0.5  # the reference rule punishes the varied identity
    assert rob.flagged.sum() <= 1
    thr = dict(zip(rob.identity_stats["identity"], rob.identity_stats["threshold"], strict=True))
    assert thr["wide"] > thr["tight"] >= default_threshold("robust", "dlib-resnet")


@pytest.mark.parametrize("noise_fraction", [0.3, 0.4])
def test_robust_handles_identity_with_heavy_noise(noise_fraction):
    rng = np.random.default_rng(6)
    n_noise = int(round(20 * noise_fraction / (1 - noise_fraction)))
    genuine = cluster(rng, 20, 0.25)
    noise = unit(rng.standard_normal((n_noise, DIM)))  # scattered: each from somebody else
    others = [cluster(rng, 5, 0.25) for _ in range(4)]
    x = np.concatenate([genuine, noise, *others])
    ids = np.array(["a"] * (20 + n_noise) + [f"o{i}" for i in range(4) for _ in range(5)], object)
    truth = np.zeros(len(x), bool)
    truth[20 : 20 + n_noise] = True
    rob = score_identities(x, ids, CleanConfig(method="robust"))
    assert np.array_equal(rob.flagged, truth)
    md = score_identities(x, ids, CleanConfig(method="mean-distance"))
    assert md.flagged[:20].mean() > 0.5 or md.flagged[truth].mean() < 1  # reference breaks


def test_robust_handles_a_second_cluster_of_40_percent():
    """40 % of the identity is one other person (a coherent cluster, not scattered noise)."""
    rng = np.random.default_rng(11)
    genuine = cluster(rng, 12, 0.22)
    intruder = cluster(rng, 8, 0.18)  # tighter than the genuine images: densest point is there
    x = np.concatenate([genuine, intruder])
    ids = np.array(["a"] * 20, object)
    rob = score_identities(x, ids, CleanConfig(method="robust"))
    assert np.array_equal(rob.flagged, np.r_[np.zeros(12, bool), np.ones(8, bool)])


def test_too_few_images_not_cleaned_and_counted():
    rng = np.random.default_rng(7)
    x = np.concatenate([cluster(rng, 2, 0.25), cluster(rng, 5, 0.25)])
    ids = np.array(["pair", "pair"] + ["five"] * 5, object)
    res = score_identities(x, ids, CleanConfig(min_images=3))
    assert list(res.status[:2]) == ["too_few_images"] * 2
    assert np.isnan(res.score[:2]).all() and not res.flagged[:2].any()
    assert res.summary()["identities_too_few_images"] == 1
    assert res.summary()["identities_cleaned"] == 1


def test_keep_list_and_action():
    x, ids, noisy = dataset(8)
    paths = [f"{i}/{k}.jpg" for k, i in enumerate(ids)]
    first = int(np.flatnonzero(noisy)[0])
    from maskforge.clean import KeepList

    keep = KeepList(paths=frozenset({paths[first]}))
    res = score_identities(x, ids, CleanConfig(), source_paths=paths, keep=keep)
    assert res.status[first] == "whitelisted" and not res.flagged[first]
    assert res.flagged.sum() == noisy.sum() - 1
    assert res.removed.sum() == res.flagged.sum()
    flag_only = score_identities(x, ids, CleanConfig(action="flag"), source_paths=paths, keep=keep)
    assert flag_only.removed.sum() == 0 and flag_only.flagged.sum() == noisy.sum() - 1


def test_large_identity_bounded_memory():
    rng = np.random.default_rng(9)
    x = np.concatenate([cluster(rng, 2500, 0.25), unit(rng.standard_normal((25, DIM)))])
    ids = np.array(["big"] * len(x), object)
    res = score_identities(x, ids, CleanConfig(memory_mb=4, nearest_identity=False))
    assert res.flagged[2500:].all() and res.flagged[:2500].sum() <= 3


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), method=st.sampled_from(["robust", "mean-distance"]))
def test_scores_do_not_depend_on_order(seed, method):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, size=5)
    x = np.concatenate([cluster(rng, int(n), 0.3) for n in sizes])
    ids = np.array([f"i{k}" for k, n in enumerate(sizes) for _ in range(n)], object)
    perm = rng.permutation(len(x))
    a = score_identities(x, ids, CleanConfig(method=method))
    b = score_identities(x[perm], ids[perm], CleanConfig(method=method))
    np.testing.assert_allclose(a.score[perm], b.score, atol=1e-5, equal_nan=True)
    assert np.array_equal(a.flagged[perm], b.flagged)
    assert np.array_equal(a.status[perm], b.status)
