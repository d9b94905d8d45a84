"""Calibrated default thresholds, and the tools used to calibrate them on planted noise.

Defaults were calibrated on half of lfw-dev's identities (80 of 160, stratified by size) with
planted label noise, and checked on the other half; the procedure and figures are in
docs/cleaning.md and ``benchmarks/bench_clean.py --calibrate``:

1. embed every image once (dlib-resnet on chips cut from the source image, as the pipeline does);
2. plant noise (:func:`plant_label_noise`): move a fraction of images from other identities
   (single-image identities included) into identity folders, at 5 % and 10 %, random donors and
   look-alike donors (nearest identities in embedding space);
3. on the calibration half, pick the mean-distance threshold and the robust settings with the best
   mean F1 over the four noise settings (thresholds are L2 distances between unit vectors); report
   F1 on the held-out half.

``facenet-vggface2`` mean-distance uses the reference rule's published 1.25; facenet values for
``robust`` are derived from that scale (see docs) since the VGGFace2 weights are not available here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import RecipeError
from ..onnxrt import is_onnx
from ..seeding import PLANT, rng_for

#: (method, embedder) -> default threshold (robust: the floor of the per-identity threshold).
DEFAULT_THRESHOLDS: dict[tuple[str, str], float] = {
    ("mean-distance", "dlib-resnet"): 0.44,
    ("mean-distance", "facenet-vggface2"): 1.25,
    ("robust", "dlib-resnet"): 0.44,
    ("robust", "facenet-vggface2"): 1.25,
}

#: embedder -> robust defaults: ``cap`` (ceiling of the per-identity threshold), ``confusion``
#: (score above which a sample is also flagged when it is closer to another identity) and
#: ``margin`` (by how much closer). facenet values are the dlib ones scaled by 1.25 / 0.44
#: (uncalibrated here: the VGGFace2 weights are not available offline; a warning says so).
ROBUST_DEFAULTS: dict[str, dict[str, float]] = {
    "dlib-resnet": {"cap": 0.60, "confusion": 0.38, "margin": 0.0},
    "facenet-vggface2": {"cap": 1.70, "confusion": 1.08, "margin": 0.0},
}


#: Embedders that make the same vectors share defaults.
SAME_VECTORS = {"dlib-resnet-native": "dlib-resnet"}


#: What an ONNX embedder (no calibration) must be given, per key of :data:`ROBUST_DEFAULTS`.
ONNX_KEYS = {"cap": "clean.threshold_cap", "confusion": "clean.confusion_threshold",
             "margin": "clean.confusion_margin"}  # fmt: skip


def _uncalibrated(embedder: str, key: str) -> RecipeError:
    """The message for an ONNX embedder, which has no calibrated cleaning thresholds."""
    keys = ["clean.threshold", *ONNX_KEYS.values()]
    return RecipeError(
        f"embedder {embedder!r} has no calibrated cleaning thresholds ({key} is needed): set "
        f"{', '.join(keys)} for its vectors (L2 distances between unit vectors, 0..2; "
        "docs/cleaning.md), or clean with dlib-resnet"
    )


def robust_default(embedder: str, key: str) -> float:
    """A robust default (``cap``, ``confusion`` or ``margin``) for an embedder."""
    if is_onnx(embedder):
        raise _uncalibrated(embedder, ONNX_KEYS[key])
    try:
        return ROBUST_DEFAULTS[SAME_VECTORS.get(embedder, embedder)][key]
    except KeyError:
        raise RecipeError(
            f"no calibrated robust {key} for embedder={embedder!r}; name the embedder "
            "(facenet-vggface2 or dlib-resnet) or set the value explicitly"
        ) from None


def default_threshold(method: str, embedder: str) -> float:
    """The calibrated default threshold; RecipeError for an unknown pair (e.g. ``auto``, or any
    ``onnx:PATH`` embedder)."""
    if is_onnx(embedder):
        raise _uncalibrated(embedder, "clean.threshold")
    try:
        return DEFAULT_THRESHOLDS[(method, SAME_VECTORS.get(embedder, embedder))]
    except KeyError:
        raise RecipeError(
            f"no calibrated threshold for method={method!r} with embedder={embedder!r}; "
            "set clean.threshold or name the embedder (facenet-vggface2 or dlib-resnet)"
        ) from None


@dataclass(frozen=True)
class PlantedNoise:
    """Identities after planting: ``identity[i]`` is the (possibly wrong) label of sample i,
    ``noisy[i]`` True where it was moved there from another identity."""

    identity: np.ndarray  # object array of str
    noisy: np.ndarray  # bool
    donors: str


def plant_label_noise(
    identities: Sequence[str],
    fraction: float,
    seed: int = 0,
    embeddings: np.ndarray | None = None,
    lookalike: bool = False,
    min_images: int = 3,
    lookalike_pool: int = 3,
) -> PlantedNoise:
    """Move images into identities of at least ``min_images`` images so that ``fraction`` of the
    images of those identities are foreign.

    Recipients are the identities with >= ``min_images`` images; each gets
    ``round(fraction / (1 - fraction) * n)`` foreign images (at least one with probability
    proportional to the remainder), taken from any other identity (single-image ones included).
    With ``lookalike`` the donor of each moved image is one of the ``lookalike_pool`` identities
    whose mean embedding is nearest to the recipient's (needs ``embeddings``).
    Moved images leave their donor (the donor may drop under min_images).
    """
    ids = np.asarray(identities, dtype=object)
    rng = rng_for(seed, PLANT, fraction, lookalike)
    names, codes = np.unique(ids, return_inverse=True)
    counts = np.bincount(codes, minlength=len(names))
    recipients = np.flatnonzero(counts >= min_images)
    if lookalike:
        if embeddings is None:
            raise ValueError("look-alike noise needs embeddings")
        means = np.zeros((len(names), embeddings.shape[1]), dtype=np.float64)
        np.add.at(means, codes, embeddings)
        means /= np.linalg.norm(means, axis=1, keepdims=True)
        sims = means @ means.T
        np.fill_diagonal(sims, -np.inf)
    new = ids.copy()
    noisy = np.zeros(len(ids), dtype=bool)
    available = np.ones(len(ids), dtype=bool)  # not moved yet
    for r in rng.permutation(recipients):
        want = fraction / (1.0 - fraction) * counts[r]
        k = int(np.floor(want)) + int(rng.random() < want - np.floor(want))
        if k == 0:
            continue
        if lookalike:
            donors = np.argsort(-sims[r])[:lookalike_pool]
            pool = np.flatnonzero(np.isin(codes, donors) & available & ~noisy)
        else:
            pool = np.flatnonzero((codes != r) & available)
        if len(pool) == 0:
            continue
        take = rng.choice(pool, size=min(k, len(pool)), replace=False)
        new[take] = names[r]
        noisy[take] = True
        available[take] = False
    return PlantedNoise(new, noisy, "look-alike" if lookalike else "random")


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def prf(flagged: np.ndarray, truth: np.ndarray) -> Scores:
    """Precision, recall and F1 of ``flagged`` against ``truth`` (both bool)."""
    flagged = np.asarray(flagged, bool)
    truth = np.asarray(truth, bool)
    tp = int((flagged & truth).sum())
    fp = int((flagged & ~truth).sum())
    fn = int((~flagged & truth).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(p, r, f, tp, fp, fn)


def best_threshold(
    score: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None
) -> tuple[float, Scores]:
    """The threshold (flag when score > t) with the best F1 over ``candidates`` (default: every
    distinct score); NaN scores are never flagged."""
    s = np.asarray(score, dtype=np.float64)
    ok = np.isfinite(s)
    if candidates is None:
        candidates = np.unique(s[ok])
    best = (float("nan"), prf(np.zeros_like(ok), truth))
    for t in candidates:
        res = prf(ok & (s > t), truth)
        if res.f1 > best[1].f1:
            best = (float(t), res)
    return best
