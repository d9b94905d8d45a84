"""Blocked and probed similarity search (maskforge.hygiene.knn) against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.hygiene.knn import blocked_knn, blocked_pairs_above, probed_pairs_above


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31), n=st.integers(1, 90), d=st.integers(2, 12), k=st.integers(1, 8),
    memory=st.sampled_from([1 << 10, 1 << 14, 1 << 24]), cols=st.integers(1, 40),
)  # fmt: skip
def test_blocked_knn_equals_brute_force(seed, n, d, k, memory, cols):
    x = _unit(np.random.default_rng(seed), n, d)
    sims, idx = blocked_knn(x, k=k, memory_bytes=memory, col_block=cols, device="cpu")
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    kk = min(k, n - 1)
    for i in range(n):
        want = np.lexsort((np.arange(n), -s[i]))[:kk]  # largest first, ties: smaller index
        np.testing.assert_allclose(sims[i, :kk], s[i, want], atol=1e-5)
        # indices agree except where neighbouring similarities tie within float error
        same = idx[i, :kk] == want
        assert same.all() or np.allclose(s[i, idx[i, :kk]], s[i, want], atol=1e-5)
        assert (idx[i, kk:] == -1).all() and np.isneginf(sims[i, kk:]).all()
        assert i not in idx[i]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 80), m=st.integers(1, 30),
       t=st.floats(-0.2, 0.9), cols=st.integers(1, 50))  # fmt: skip
def test_blocked_pairs_above_equals_brute_force(seed, n, m, t, cols):
    rng = np.random.default_rng(seed)
    x, b = _unit(rng, n, 6), _unit(rng, m, 6)
    got = blocked_pairs_above(x, t, memory_bytes=1 << 12, col_block=cols, device="cpu")
    s = x @ x.T
    i, j = np.nonzero(np.triu(s >= t, 1))
    want = set(zip(i.tolist(), j.tolist(), strict=True))
    have = set(zip(got.a.tolist(), got.b.tolist(), strict=True))
    assert {(p, q) for p, q in want ^ have if abs(s[p, q] - t) >= 1e-5} == set()  # float ties
    assert (got.a < got.b).all() and list(zip(got.a, got.b, strict=False)) == sorted(
        zip(got.a, got.b, strict=False)
    )
    np.testing.assert_allclose(got.sim, s[got.a, got.b], atol=1e-5)
    cross = blocked_pairs_above(x, t, base=b, memory_bytes=1 << 12, col_block=cols, device="cpu")
    sb = x @ b.T
    near_t = np.abs(sb - t) < 1e-5
    want = {(int(p), int(q)) for p, q in zip(*np.nonzero(sb >= t), strict=True)}
    have = set(zip(cross.a.tolist(), cross.b.tolist(), strict=True))
    assert {(p, q) for p, q in want ^ have if not near_t[p, q]} == set()


def test_probed_search_finds_near_duplicates_and_all_pairs_with_every_list():
    rng = np.random.default_rng(3)
    centres = _unit(rng, 40, 16)
    lab = rng.integers(0, 40, 600)
    x = centres[lab] + 0.25 * rng.standard_normal((600, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    dup = rng.choice(600, 30, replace=False)
    x[dup[:15]] = x[dup[15:]] + 1e-3  # 15 near-duplicate pairs
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact = blocked_pairs_above(x, 0.99, device="cpu")
    probed = probed_pairs_above(x, centres, 0.99, nprobe=2, device="cpu")
    assert set(zip(probed.a.tolist(), probed.b.tolist(), strict=False)) <= set(
        zip(exact.a.tolist(), exact.b.tolist(), strict=False)
    )
    pairs = {
        (min(a, b), max(a, b)) for a, b in zip(dup[:15].tolist(), dup[15:].tolist(), strict=False)
    }
    assert pairs <= set(zip(probed.a.tolist(), probed.b.tolist(), strict=False))
    # with every list probed the search is exhaustive
    every = probed_pairs_above(x, centres, 0.6, nprobe=40, device="cpu")
    full = blocked_pairs_above(x, 0.6, device="cpu")
    assert set(zip(every.a.tolist(), every.b.tolist(), strict=False)) == set(
        zip(full.a.tolist(), full.b.tolist(), strict=False)
    )
