"""Comparing masks, not photos: weighting two sets of faces to the same photographs.

Used by ``benchmarks/bench_realism.py``. The real masked faces (rwmfd-dev) and ours (lfw-dev
faces) are different photographs of different people: lfw's are more colourful, less noisy and
larger, whatever mask is drawn. The upper face's own properties (``realism_stats.COVARIATES``:
no pixel of a mask region in them) measure those differences. A propensity model (logistic
regression of real against ours on the covariates ``BALANCE_ON``) gives every face the
probability ``p`` that a photo like its own is a real one, and **overlap weights** (Li, Morgan
and Zaslavsky, 2018) weight real faces by ``1 - p`` and ours by ``p``: both sets then stand for
the photos the two have in common, and at the fit the weighted means of every covariate are the
same on both sides (exact balance but for the small L2), with no weight above 1 (no face counts
for more than itself, no trimming). The mask statistics are then compared with those weights: a
difference left is not one of those photo properties. In a cross-validated classifier the
weights are cross-fitted (``overlap_weigher``).

``BALANCE_ON`` was chosen on the *tune* half (docs/occluders.md, "Comparing masks, not photos"):
the covariates that predict at least one statistic on real masked faces (|correlation| >= 0.3),
less the two light asymmetries (the light statistics are differences against them, and
weighting on them broke the real-against-real check: AUC 0.38); the sharpness, noise and size
of the photo predict no statistic (|r| < 0.25) and separate the two sets most, so weighting on
them would spend most faces and remove no bias.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from realism_stats import Weigher, _fit_logistic

PROPENSITY_L2 = 1e-3
BALANCE_ON = ("u_sat", "u_lum", "u_contrast", "u_block", "u_texture", "u_red", "u_yellow")


def fit_propensity(
    real_cov: np.ndarray, other_cov: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Logistic regression of real (label 1, ``real_cov`` rows) against other photos on the
    (N, K) covariates (standardised on these rows, L2 ``PROPENSITY_L2``): a function giving, for
    (N, K) covariates, the probability (N,) that such a photo is a real one."""
    x = np.vstack([real_cov, other_cov]).astype(np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    y = np.r_[np.ones(len(real_cov)), np.zeros(len(other_cov))]
    wt = _fit_logistic((x - mu) / sd, y, l2=PROPENSITY_L2, iters=50)

    def predict(cov: np.ndarray) -> np.ndarray:
        z = (np.asarray(cov, np.float64) - mu) / sd
        return 1 / (1 + np.exp(-np.clip(z @ wt[:-1] + wt[-1], -30, 30)))

    return predict


def overlap_weights(real_cov: np.ndarray, other_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlap weights (module doc) fitted on all rows: ``1 - p`` for real faces, ``p`` for
    the others, each side scaled to mean 1; ``(w_real, w_other)``."""
    predict = fit_propensity(real_cov, other_cov)
    w_real, w_other = 1 - predict(real_cov), predict(other_cov)
    return w_real / w_real.mean(), w_other / w_other.mean()


def overlap_weigher(real_cov: np.ndarray, other_cov: np.ndarray) -> Weigher:
    """A ``realism_stats.Weigher`` for ``cv_auc(real_rows, other_rows, weigh=...)``: overlap
    weights of every row from a propensity model fitted on the fold's training rows alone
    (cross-fitted: balancing all rows at once would leave each training fold unbalanced the
    opposite way to its test fold, and a classifier would score below 0.5 on nothing)."""
    cov = np.vstack([real_cov, other_cov]).astype(np.float64)
    is_real = np.r_[np.ones(len(real_cov), bool), np.zeros(len(other_cov), bool)]

    def weigh(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        predict = fit_propensity(cov[train & is_real], cov[train & ~is_real])
        p = predict(cov)
        return np.where(is_real, 1 - p, p)

    return weigh


def effective_n(w: np.ndarray) -> float:
    """Kish's effective sample size of weights ``w``: (sum w)^2 / sum w^2."""
    w = np.asarray(w, np.float64)
    return float(w.sum() ** 2 / (w * w).sum())


def cv_r2(
    x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, ridge: float = 1e-2
) -> float:
    """Cross-validated R^2 of a (ridge) linear regression of ``y`` (N,) on ``x`` (N, K):
    the share of ``y``'s variance that ``x`` predicts on held-out rows (<= 1; 0 or less: none)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    pred = np.empty(len(y))
    for k in range(folds):
        tr, te = fold != k, fold == k
        mu, sd, ym = x[tr].mean(0), x[tr].std(0) + 1e-9, y[tr].mean()
        z = (x[tr] - mu) / sd
        beta = np.linalg.solve(z.T @ z + ridge * len(z) * np.eye(x.shape[1]), z.T @ (y[tr] - ym))
        pred[te] = ym + (x[te] - mu) / sd @ beta
    return float(1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def half_sample_sd(
    fn: Callable[[np.ndarray, np.ndarray], float], n_a: int, n_b: int, reps: int = 50, seed: int = 0
) -> float:
    """Sampling sd of a two-sample figure ``fn(rows_a, rows_b)`` (index arrays into sets of
    ``n_a`` and ``n_b`` rows): the sd of ``fn`` over ``reps`` half-samples (each set halved,
    without replacement) about its value on all rows. For a mean, ``var(half - all) =
    sigma^2 (2/n - 1/n)``: the sd of the full-sample figure itself (no duplicated rows to leak
    across the classifier's folds, as a bootstrap would)."""
    rng = np.random.default_rng(seed)
    full = fn(np.arange(n_a), np.arange(n_b))
    d = [
        fn(np.sort(rng.permutation(n_a)[: n_a // 2]), np.sort(rng.permutation(n_b)[: n_b // 2]))
        - full
        for _ in range(reps)
    ]
    return float(np.sqrt(np.mean(np.square(d))))


def weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    """The smallest value of ``v`` at which the weighted CDF reaches 1/2 (the lower median; for
    integer weights, the lower median of each value repeated that many times)."""
    order = np.argsort(v, kind="mergesort")
    cw = np.cumsum(np.asarray(w, np.float64)[order])
    return float(np.asarray(v, np.float64)[order][np.searchsorted(cw, 0.5 * cw[-1] - 1e-12)])
