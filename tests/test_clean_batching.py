"""Batching of identities for scoring: large identities are scored alone (issue 11)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.clean import CleanConfig, score_identities
from maskforge.clean.batching import plan_batches


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=30), st.integers(10, 2000))
@settings(max_examples=60)
def test_every_identity_once_and_large_ones_alone(sizes, reference_size):
    groups, start = [], 0
    for n in sizes:
        groups.append(np.arange(start, start + n))
        start += n
    batches = list(plan_batches(groups, 128, 1 << 40, reference_size))
    seen = sorted(int(g[0]) for b in batches for g in b.groups)
    assert seen == sorted(int(g[0]) for g in groups)
    for b in batches:
        assert b.width == max(len(g) for g in b.groups)
        if b.width > reference_size:
            assert len(b.groups) == 1


def test_robust_with_an_identity_over_1024_images_in_a_shared_batch():
    """Failed before: the 1,100-image identity shared a batch and _reference_columns raised."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 128))
    sizes = [1100, 20, 20, 20]
    x = np.concatenate([c + 0.05 * rng.normal(size=(n, 128)) for c, n in zip(centres, sizes, strict=True)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"id{i}" for i, n in enumerate(sizes) for _ in range(n)]
    res = score_identities(x.astype(np.float32), ids, CleanConfig(method="robust", memory_mb=4096), device="cpu")
    assert len(res.score) == len(ids) and not res.flagged.any()
