"""The verification protocol on pair distances (pure numpy).

A pair is *accepted* (called "same person") when its distance is ``<= threshold``. Distances are
Euclidean between L2-normalised embeddings (``[0, 2]``); a pair with a failed image has distance
``+inf``: it is never accepted, so a failed matched pair is a false reject at every threshold and
a failed mismatched pair a true reject (the NIST FRVT convention for failures to enrol). Nothing
is removed from any denominator.

- :func:`best_threshold`: the threshold of highest accuracy (the midpoint between the two
  neighbouring distinct distances; the smallest such threshold on ties).
- :func:`kfold_accuracy`: LFW's protocol -- for each fold the threshold is chosen on the other
  folds and accuracy measured on the held-out fold; mean and sample standard deviation (ddof=1,
  as LFW defines it).
- :func:`roc`: (FAR, TAR, threshold) at every distinct distance; :func:`auc`; :func:`eer`
  (where FAR = 1 - TAR, linearly interpolated between ROC points).
- :func:`tar_at_far`: the highest TAR with FAR <= target, with the number of impostor pairs it
  rests on; a target below ``1 / impostors`` cannot be resolved and is marked so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Target FARs of ``tar_at_far`` in metrics.json (keys as strings).
FAR_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4)


def _check(dist: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(dist, np.float64).reshape(-1)
    s = np.asarray(same, bool).reshape(-1)
    if d.shape != s.shape:
        raise ValueError(f"{d.size} distances but {s.size} labels")
    if np.isnan(d).any() or (d == -np.inf).any():
        raise ValueError("distances must be numbers or +inf (failed pairs)")
    return d, s


def _cuts(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of ``d`` and, for each distinct value, how many distances are ``<=`` it."""
    order = np.argsort(d, kind="stable")
    sd = d[order]
    last = np.flatnonzero(np.append(sd[1:] != sd[:-1], True))
    return order, last + 1


def accuracy_curve(dist, same) -> tuple[np.ndarray, np.ndarray]:
    """Candidate thresholds (midpoints between distinct finite distances, and one below the
    smallest) and the accuracy at each."""
    d, s = _check(dist, same)
    order, ends = _cuts(d)
    sd, ss = d[order], s[order]
    values = sd[ends - 1]
    finite = np.isfinite(values)
    values, ends = values[finite], ends[finite]
    cum_same = np.concatenate([[0], np.cumsum(ss)])
    n_diff = int((~s).sum())
    k = np.concatenate([[0], ends])  # accept the k smallest
    correct = cum_same[k] + (n_diff - (k - cum_same[k]))
    lower = values[0] - 1e-6 if len(values) else 0.0
    nxt = np.append(values[1:], values[-1] + 1e-6) if len(values) else np.array([])
    thresholds = np.concatenate([[lower], (values + nxt) / 2.0])
    return thresholds, correct / max(len(d), 1)


def best_threshold(dist, same) -> tuple[float, float]:
    """``(threshold, accuracy)`` of the highest accuracy on these pairs."""
    t, acc = accuracy_curve(dist, same)
    k = int(np.argmax(acc))
    return float(t[k]), float(acc[k])


def accuracy_at(dist, same, threshold: float) -> float:
    """Fraction of pairs decided correctly at ``threshold`` (accept when ``d <= threshold``)."""
    d, s = _check(dist, same)
    return float(((d <= threshold) == s).mean()) if len(d) else float("nan")


@dataclass
class FoldResult:
    """Per fold: the threshold chosen on the other folds and the held-out accuracy."""

    thresholds: list[float]
    accuracies: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        a = np.asarray(self.accuracies)
        return float(a.std(ddof=1)) if len(a) > 1 else 0.0


def kfold_accuracy(dist, same, folds) -> FoldResult:
    """LFW's protocol over the folds given per pair (any hashable labels, sorted)."""
    d, s = _check(dist, same)
    f = np.asarray(folds).reshape(-1)
    if f.shape != d.shape:
        raise ValueError(f"{d.size} distances but {f.size} fold labels")
    labels = sorted(set(f.tolist()))
    if len(labels) < 2:
        raise ValueError("the protocol needs at least 2 folds")
    ths, accs = [], []
    for k in labels:
        test = f == k
        t, _ = best_threshold(d[~test], s[~test])
        ths.append(t)
        accs.append(accuracy_at(d[test], s[test], t))
    return FoldResult(ths, accs)


def roc(dist, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(far, tar, thresholds)`` from (0, 0) (threshold below every distance) through every
    distinct distance; the last point, (1, 1), is at the largest distance (+inf when a pair
    failed)."""
    d, s = _check(dist, same)
    n_same, n_diff = int(s.sum()), int((~s).sum())
    if n_same == 0 or n_diff == 0:
        raise ValueError("ROC needs both matched and mismatched pairs")
    order, ends = _cuts(d)
    ss = s[order]
    cum_same = np.concatenate([[0], np.cumsum(ss)])[ends]
    cum_diff = ends - cum_same
    thresholds = np.concatenate([[-np.inf], d[order][ends - 1]])
    tar = np.concatenate([[0.0], cum_same / n_same])
    far = np.concatenate([[0.0], cum_diff / n_diff])
    return far, tar, thresholds


def auc(far: np.ndarray, tar: np.ndarray) -> float:
    """Area under the ROC (trapezoids; ties count half, as in the Mann-Whitney statistic)."""
    return float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2.0))


def eer(far: np.ndarray, tar: np.ndarray) -> float:
    """Equal error rate: where FAR = FRR (= 1 - TAR) along the ROC, interpolated linearly."""
    gap = far - (1.0 - tar)  # rises from -1 to +1 along the curve
    k = int(np.searchsorted(gap, 0.0, side="left"))
    if k == 0:
        return float(far[0])
    g0, g1 = gap[k - 1], gap[k]
    w = 0.0 if g1 == g0 else -g0 / (g1 - g0)
    return float(far[k - 1] + w * (far[k] - far[k - 1]))


def tar_at_far(dist, same, targets: Sequence[float] = FAR_TARGETS) -> dict[str, dict]:
    """Per target FAR (key ``str(target)``): ``tar`` (the highest TAR with FAR <= target; None
    when unresolvable), the ``far`` actually reached there (the lowest FAR of that TAR),
    ``threshold``, ``false_accepts`` (impostor pairs accepted), ``impostors``
    (impostor pairs it rests on) and ``resolvable`` (``target >= 1 / impostors``)."""
    d, s = _check(dist, same)
    far, tar, th = roc(d, s)
    n_diff = int((~s).sum())
    out = {}
    for target in targets:
        ok = np.flatnonzero(far <= target + 1e-12)
        k = int(ok[np.argmax(tar[ok])])  # the highest TAR, reached first (at the lowest FAR)
        resolvable = target * n_diff >= 1.0 - 1e-9
        out[str(target)] = {
            "tar": float(tar[k]) if resolvable else None,
            "far": float(far[k]),
            "threshold": float(th[k]),
            "false_accepts": int(round(far[k] * n_diff)),
            "impostors": n_diff,
            "resolvable": bool(resolvable),
        }
    return out


def verification_metrics(dist, same, folds) -> dict:
    """Everything metrics.json reports about the pairs: pairs, folds, accuracy (mean over folds),
    accuracy_std, fold_accuracies, threshold (best over all pairs), auc, eer, tar_at_far."""
    d, s = _check(dist, same)
    kf = kfold_accuracy(d, s, folds)
    far, tar, _ = roc(d, s)
    threshold, best_acc = best_threshold(d, s)
    return {
        "pairs": int(len(d)),
        "matched": int(s.sum()),
        "mismatched": int((~s).sum()),
        "folds": len(kf.accuracies),
        "accuracy": kf.mean,
        "accuracy_std": kf.std,
        "fold_accuracies": kf.accuracies,
        "fold_thresholds": kf.thresholds,
        "threshold": threshold,
        "threshold_accuracy": best_acc,
        "auc": auc(far, tar),
        "eer": eer(far, tar),
        "tar_at_far": tar_at_far(d, s),
    }
