"""The numeric helpers of benchmarks/bench_realism.py's de-confounded comparison: weighted AUC
and KS, overlap weights (balance, and AUC ~ 0.5 when only the photo differs), effective sample
size, cross-validated R^2, and upper-face covariates that no mask pixel changes."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from realism_balance import (  # noqa: E402
    cv_r2,
    effective_n,
    fit_propensity,
    half_sample_sd,
    overlap_weigher,
    overlap_weights,
    weighted_median,
)
from realism_stats import (  # noqa: E402
    COVARIATES,
    MASK_BOX,
    cv_auc,
    eye_coords,
    face_stats,
    ks_distance,
    region,
    roc_auc,
    upper_covariates,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=2, max_size=40),
    st.lists(st.integers(1, 3), min_size=2, max_size=40),
    st.data(),
)
def test_weighted_auc_and_ks_are_the_unweighted_ones_of_repeated_rows(scores, reps, data):
    n = min(len(scores), len(reps))
    s, w = np.array(scores[:n], float), np.array(reps[:n], float)
    labels = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if labels.all() or not labels.any():
        labels[0] = not labels[0]
    # unit weights: the rank-sum AUC, ties counted half
    assert roc_auc(s, labels, np.ones(n)) == pytest.approx(roc_auc(s, labels))
    # integer weights: the same as each row repeated that many times
    rep = np.repeat(np.arange(n), w.astype(int))
    assert roc_auc(s, labels, w) == pytest.approx(roc_auc(s[rep], labels[rep]))
    a, b = s[labels], s[~labels]
    wa, wb = w[labels], w[~labels]
    ra, rb = np.repeat(a, wa.astype(int)), np.repeat(b, wb.astype(int))
    assert ks_distance(a, b, wa, wb) == pytest.approx(ks_distance(ra, rb))
    assert ks_distance(a, b, np.ones(len(a)), np.ones(len(b))) == pytest.approx(ks_distance(a, b))


def test_auc_known_values():
    s = np.array([0.1, 0.2, 0.3, 0.4])
    lab = np.array([0, 0, 1, 1], bool)
    assert roc_auc(s, lab, np.ones(4)) == 1.0
    assert roc_auc(s[::-1], lab, np.ones(4)) == 0.0
    assert roc_auc(np.zeros(4), lab, np.array([1.0, 2.0, 3.0, 4.0])) == 0.5  # all tied
    # the one positive above only the light negative: weight 1 of 1 + 9
    assert roc_auc(np.array([0.0, 2.0, 1.0]), np.array([0, 0, 1], bool), np.array([1.0, 9.0, 1.0])) == 0.1


def test_effective_n():
    assert effective_n(np.ones(10)) == pytest.approx(10)
    assert effective_n(np.r_[1.0, np.zeros(9)]) == pytest.approx(1)
    assert effective_n(np.r_[np.ones(5), 3 * np.ones(5)]) == pytest.approx(400 / 50)


def _two_photo_sets(rng, n_real=300, n_other=600, shift=1.0):
    """Covariates of two sets of photos, the other set shifted by ``shift`` sd in the first
    covariate and 0.5 sd in the second; a third one equal in both."""
    real = rng.normal(0, 1, (n_real, 3))
    other = rng.normal(0, 1, (n_other, 3)) + np.array([shift, 0.5 * shift, 0.0])
    return real, other


def test_overlap_weights_balance_the_covariate_means_and_stay_bounded():
    rng = np.random.default_rng(1)
    real, other = _two_photo_sets(rng)
    w_r, w_o = overlap_weights(real, other)
    assert w_r.mean() == pytest.approx(1) and w_o.mean() == pytest.approx(1)
    assert (w_r > 0).all() and (w_o > 0).all()
    before = other.mean(0) - real.mean(0)
    after = np.average(other, 0, w_o) - np.average(real, 0, w_r)
    assert abs(before[0]) > 0.8
    assert np.abs(after).max() < 0.02  # exact balance at the fit but for the small L2
    # the weighted distributions too, not only their means (normal covariates, equal spread)
    assert ks_distance(real[:, 0], other[:, 0]) > 0.3
    assert ks_distance(real[:, 0], other[:, 0], w_r, w_o) < 0.08
    # the propensity is a probability, higher where real photos are denser
    p = fit_propensity(real, other)(np.array([[-2.0, -1.0, 0.0], [3.0, 1.5, 0.0]]))
    assert 0 < p[1] < 0.5 < p[0] < 1


def test_weighted_auc_is_chance_when_only_the_photo_differs():
    """A statistic that depends on the photo alone (the same way in both sets) tells the sets
    apart unweighted, and not once the photos are weighted to each other; a real difference
    of the statistic (a mask that differs) is still seen."""
    rng = np.random.default_rng(2)
    real, other = _two_photo_sets(rng)

    def stat(cov, extra):
        return (cov[:, :1] + 0.5 * cov[:, 1:2] + 0.5 * rng.normal(0, 1, (len(cov), 1))) + extra

    weigh = overlap_weigher(real, other)
    same_r, same_o = stat(real, 0.0), stat(other, 0.0)
    assert cv_auc(same_r, same_o) > 0.75
    assert cv_auc(same_r, same_o, weigh=weigh) == pytest.approx(0.5, abs=0.06)
    # the covariates themselves ("the faces alone"): chance after weighting, cross-fitted
    assert cv_auc(real, other) > 0.75
    assert cv_auc(real, other, weigh=weigh) == pytest.approx(0.5, abs=0.06)
    # a statistic shifted by d of its own sd whatever the photo: told apart as two normals are,
    # AUC = Phi(d / sqrt(2))
    d = 2.0 / np.sqrt(1 + 0.25 + 0.25)
    expected = 0.5 * (1 + math.erf(d / 2))
    assert cv_auc(same_r, stat(other, 2.0), weigh=weigh) == pytest.approx(expected, abs=0.04)


def test_cv_auc_unweighted_is_unchanged_by_unit_weights():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.3, 1, (80, 2)), rng.normal(0, 1, (120, 2))
    ones = np.ones(200)
    assert cv_auc(a, b, weigh=lambda tr, te: ones) == pytest.approx(cv_auc(a, b), abs=1e-9)


def test_cv_r2():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (400, 3))
    assert cv_r2(x, x @ np.array([1.0, -2.0, 0.0]) + 0.01 * rng.normal(0, 1, 400)) > 0.99
    assert cv_r2(x, x[:, 0] + rng.normal(0, 1, 400)) == pytest.approx(0.5, abs=0.1)
    assert cv_r2(x, rng.normal(0, 1, 400)) < 0.03


def test_upper_covariates_see_no_mask_pixel():
    """Painting the mask region changes the statistics, not the covariates; both are None
    for the same faces (a region leaving the image)."""
    rng = np.random.default_rng(5)
    img = np.clip(rng.normal(140, 25, (200, 200, 3)), 0, 255).astype(np.uint8)
    left, right = np.array([75.0, 80.0]), np.array([125.0, 82.0])
    cov = upper_covariates(img, left, right)
    assert cov is not None and tuple(cov) == COVARIATES
    assert cov["size"] == pytest.approx(np.log(np.hypot(50, 2)))
    ex, ey = eye_coords(img.shape[:2], left, right)
    painted = img.copy()
    painted[region(ex, ey, MASK_BOX)] = (30, 90, 200)
    assert upper_covariates(painted, left, right) == cov
    assert face_stats(painted, left, right) != face_stats(img, left, right)
    far = np.array([10.0, 150.0]), np.array([60.0, 150.0])  # the mask region leaves the image
    assert upper_covariates(img, *far) is None and face_stats(img, *far) is None


def test_half_sample_sd_of_a_mean_difference_is_its_standard_error():
    rng = np.random.default_rng(6)
    a, b = rng.normal(0, 2.0, 400), rng.normal(1, 1.0, 900)
    sd = half_sample_sd(lambda i, j: float(a[i].mean() - b[j].mean()), 400, 900, reps=400)
    assert sd == pytest.approx(np.sqrt(4.0 / 400 + 1.0 / 900), rel=0.12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(1, 4)), min_size=1, max_size=30))
def test_weighted_median_is_the_lower_median_of_repeated_values(pairs):
    v = np.array([p[0] for p in pairs], float)
    w = np.array([p[1] for p in pairs], float)
    rep = np.sort(np.repeat(v, w.astype(int)))
    assert weighted_median(v, w) == rep[(len(rep) - 1) // 2]
