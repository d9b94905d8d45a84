"""select_per_identity and assign_splits: counts, seeding, order independence, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.augment import assign_splits, count_stats, select_per_identity, split_stats
from maskforge.errors import RecipeError, SourceError

sizes_st = st.lists(st.integers(1, 30), min_size=1, max_size=25)


def dataset(sizes: list[int]) -> tuple[list[str], list[str]]:
    ids, idents = [], []
    for i, n in enumerate(sizes):
        for j in range(n):
            ids.append(f"id{i:03d}/img{j:03d}.jpg")
            idents.append(f"id{i:03d}")
    return ids, idents


@settings(max_examples=80, deadline=None)
@given(sizes_st, st.integers(1, 20), st.integers(1, 6), st.integers(0, 2**31))
def test_select_counts_and_subsets(sizes, n, min_images, seed):
    ids, idents = dataset(sizes)
    sel = select_per_identity(ids, idents, n, min_images=min_images, seed=seed)
    kept = [s for s in sizes if s >= min_images]
    assert len(sel.sample_ids) == sum(min(n, s) for s in kept)
    assert len(set(sel.sample_ids)) == len(sel.sample_ids)
    assert set(sel.sample_ids) <= set(ids)
    for i, s in enumerate(sizes):
        key = f"id{i:03d}"
        assert sel.counts_before[key] == s
        if s < min_images:
            assert sel.dropped[key] == "min_images" and key not in sel.counts_after
        else:
            assert sel.counts_after[key] == min(n, s)
            assert sum(x.startswith(key + "/") for x in sel.sample_ids) == min(n, s)
    assert sel.sample_ids == sorted(sel.sample_ids)
    assert sel.stats["after"]["images"] == len(sel.sample_ids)
    assert sel.stats["dropped_identities"].get("min_images", 0) == len(sizes) - len(kept)
    assert json.loads(json.dumps(sel.stats)) == sel.stats
    mask = sel.is_selected(ids)
    assert mask.sum() == len(sel) and all((s in sel) == m for s, m in zip(ids, mask, strict=True))


@settings(max_examples=40, deadline=None)
@given(sizes_st, st.integers(1, 10), st.integers(0, 2**31), st.randoms(use_true_random=False))
def test_select_independent_of_input_order(sizes, n, seed, rnd):
    ids, idents = dataset(sizes)
    order = list(range(len(ids)))
    rnd.shuffle(order)
    a = select_per_identity(ids, idents, n, seed=seed)
    b = select_per_identity([ids[i] for i in order], [idents[i] for i in order], n, seed=seed)
    assert a.sample_ids == b.sample_ids and a.stats == b.stats


def test_select_seed_changes_choice_and_identities_are_independent():
    ids, idents = dataset([50, 40, 3])
    picks = {tuple(select_per_identity(ids, idents, 5, seed=s).sample_ids) for s in range(5)}
    assert len(picks) == 5
    # adding an identity does not change what the others draw
    more_ids, more_idents = dataset([50, 40, 3, 20])
    a = select_per_identity(ids, idents, 5, seed=1).sample_ids
    b = select_per_identity(more_ids, more_idents, 5, seed=1).sample_ids
    assert [s for s in b if not s.startswith("id003/")] == a


def test_select_uniform_over_images():
    ids, idents = dataset([10])
    hits = np.zeros(10)
    for s in range(600):
        for sid in select_per_identity(ids, idents, 2, seed=s).sample_ids:
            hits[int(sid[-7:-4])] += 1
    # each image is picked with probability 2/10 -> 120 expected of 600
    assert hits.min() > 80 and hits.max() < 160


def test_select_all_and_max_identities():
    ids, idents = dataset([5, 1, 7, 2, 9])
    sel = select_per_identity(ids, idents, None, seed=0)
    assert sel.sample_ids == sorted(ids)
    sel = select_per_identity(ids, idents, 3, min_images=2, max_identities=2, seed=4)
    assert len(sel.counts_after) == 2
    assert sel.dropped["id001"] == "min_images"
    assert sorted(sel.dropped.values()).count("max_identities") == 2
    assert sel.stats["dropped_identities"] == {"max_identities": 2, "min_images": 1}
    assert sel.stats["dropped_images"] == len(ids) - sum(sel.counts_before[k] for k in sel.counts_after)
    chosen = {tuple(select_per_identity(ids, idents, 3, max_identities=2, seed=s).counts_after) for s in range(20)}
    assert len(chosen) > 3


def test_select_errors():
    ids, idents = dataset([3, 3])
    with pytest.raises(RecipeError, match="per_identity"):
        select_per_identity(ids, idents, 0, seed=0)
    with pytest.raises(RecipeError, match="min_images"):
        select_per_identity(ids, idents, 2, min_images=0, seed=0)
    with pytest.raises(RecipeError, match="max_identities"):
        select_per_identity(ids, idents, 2, max_identities=1.5, seed=0)
    with pytest.raises(SourceError, match="more than once"):
        select_per_identity(ids + ids[:1], idents + idents[:1], 2, seed=0)
    with pytest.raises(ValueError):
        select_per_identity(ids, idents[:-1], 2, seed=0)


def test_count_stats():
    assert count_stats([2, 5, 100]) == {"identities": 3, "images": 107, "min": 2, "median": 5.0, "max": 100}
    assert count_stats([])["identities"] == 0


# --- splits ---------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(sizes_st, st.floats(0.0, 0.9), st.integers(0, 2**31), st.randoms(use_true_random=False))
def test_split_by_identity(sizes, frac, seed, rnd):
    ids, idents = dataset(sizes)
    splits = assign_splits(ids, idents, val_fraction=frac, by="identity", seed=seed)
    assert list(splits) == ids and set(splits.values()) <= {"train", "val"}
    per_ident: dict[str, set[str]] = {}
    for sid, ident in zip(ids, idents, strict=True):
        per_ident.setdefault(ident, set()).add(splits[sid])
    assert all(len(v) == 1 for v in per_ident.values())  # never both
    n_val = sum(v == {"val"} for v in per_ident.values())
    n = len(sizes)
    if n < 2 or frac == 0:
        assert n_val == 0
    else:
        assert n_val == min(max(1, round(frac * n)), n - 1)
    order = list(range(len(ids)))
    rnd.shuffle(order)
    again = assign_splits([ids[i] for i in order], [idents[i] for i in order], frac, "identity", seed)
    assert again == splits


@settings(max_examples=60, deadline=None)
@given(sizes_st, st.floats(0.0, 0.9), st.integers(0, 2**31))
def test_split_by_image_stratified(sizes, frac, seed):
    ids, idents = dataset(sizes)
    splits = assign_splits(ids, idents, val_fraction=frac, by="image", seed=seed)
    stats = split_stats(splits, dict(zip(ids, idents, strict=True)))
    # every identity keeps at least one training image
    assert stats["train"]["identities"] == len(sizes)
    target = round(frac * len(ids))
    cap = sum(s - 1 for s in sizes)
    assert stats["val"]["images"] == min(target, cap)
    for i, s in enumerate(sizes):
        n_val = sum(splits[f"id{i:03d}/img{j:03d}.jpg"] == "val" for j in range(s))
        assert n_val <= max(s - 1, 0)
        if min(sizes) >= 10 and frac <= 0.5:  # no identity hits its cap: within 1 of its share
            assert abs(n_val - frac * s) < 1.0


def test_split_seeded_and_stable():
    ids, idents = dataset([4] * 100)
    a = assign_splits(ids, idents, 0.1, "identity", seed=1)
    b = assign_splits(ids, idents, 0.1, "identity", seed=2)
    assert a == assign_splits(ids, idents, 0.1, "identity", seed=1)
    assert a != b
    assert sum(v == "val" for v in a.values()) == 40
    # adding identities moves at most the boundary: most val identities stay val
    more_ids, more_idents = dataset([4] * 110)
    c = assign_splits(more_ids, more_idents, 0.1, "identity", seed=1)
    val_a = {s for s, v in a.items() if v == "val"}
    val_c = {s for s, v in c.items() if v == "val"}
    assert len(val_a & val_c) >= 0.8 * len(val_a)


def test_split_errors():
    ids, idents = dataset([3, 3])
    with pytest.raises(RecipeError, match="val_fraction"):
        assign_splits(ids, idents, 1.0)
    with pytest.raises(RecipeError, match="val_fraction"):
        assign_splits(ids, idents, -0.1)
    with pytest.raises(RecipeError, match="split.by"):
        assign_splits(ids, idents, 0.1, by="person")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(10, 40), min_size=1, max_size=12), st.floats(0.05, 0.5), st.integers(0, 99))
def test_split_by_image_shares_follow_identity_sizes(sizes, frac, seed):
    ids, idents = dataset(sizes)
    splits = assign_splits(ids, idents, val_fraction=frac, by="image", seed=seed)
    for i, s in enumerate(sizes):
        n_val = sum(splits[f"id{i:03d}/img{j:03d}.jpg"] == "val" for j in range(s))
        assert abs(n_val - frac * s) < 1.0
