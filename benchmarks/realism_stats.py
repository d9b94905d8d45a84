"""Photo statistics of a masked face that do not depend on who is photographed.

Used by ``benchmarks/bench_realism.py``. Every statistic compares the **mask region** of a face
with the **upper face** of the same face, both placed from the two eye centres alone (the only
landmarks a detector finds reliably on a masked face):

- eye frame: origin at the eye midpoint, ``u`` = left eye -> right eye (length = the inter-ocular
  distance, IOD), ``n`` = ``u`` turned 90 degrees down the face; coordinates in IOD units;
- mask region: x in [-0.6, 0.6], y in [0.75, 1.55] (below the nose tip, which sits at y ~ 0.77 on
  the canonical face, down to just above the chin at 1.91): inside any mask worn correctly;
- upper face: x in [-0.9, 0.9], y in [-0.45, 0.3] (brows, eyes, upper nose): never masked.

Statistics (luminance Y = 0.299 R + 0.587 G + 0.114 B, 0..255; ``M`` = mask region, ``U`` = upper
face; ``log`` ratios are natural logs):

- ``sharp``: log of (mean |Laplacian| / mean |gradient|) in M over the same in U (edge
  sharpness, ~ 1 / blur width);
- ``noise``: log of the Immerkaer noise sigma in M over U (the 3x3 kernel
  [[1,-2,1],[-2,4,-2],[1,-2,1]], sigma = sqrt(pi/2) mean|conv| / 6, on the flatter half of the
  pixels so edges do not count);
- ``block``: log of the JPEG blockiness in M over U (mean |difference| across the 8x8 grid lines
  of the image over the mean |difference| elsewhere, rows and columns);
- ``light_lr``: left-right luminance asymmetry ((right - left) / mean) of M minus that of U;
- ``light_tb``: top-bottom asymmetry ((top - bottom) / mean) of M minus that of U;
- ``lum``: log of mean Y in M over U;
- ``contrast``: log of std Y in M over U;
- ``sat``: mean HSV saturation in M (absolute, 0..1);
- ``sat_rel``: mean saturation in M minus that in U;
- ``texture``: log of the mean |difference of Gaussians (sigma 1 and 2)| in M over U.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MASK_BOX = (-0.6, 0.6, 0.75, 1.55)
UPPER_BOX = (-0.9, 0.9, -0.45, 0.3)
NAMES = (
    "sharp",
    "noise",
    "block",
    "light_lr",
    "light_tb",
    "lum",
    "contrast",
    "sat",
    "sat_rel",
    "texture",
)
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def eye_coords(shape: tuple[int, int], left: np.ndarray, right: np.ndarray):
    """Per-pixel eye-frame coordinates (x, y) in IOD units, each (H, W) float32."""
    h, w = shape
    u = np.asarray(right, np.float64) - np.asarray(left, np.float64)
    o = (np.asarray(right, np.float64) + np.asarray(left, np.float64)) / 2
    d2 = float(u @ u) or 1.0
    n = np.array([-u[1], u[0]])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    px, py = xs - o[0], ys - o[1]
    ex = (px * u[0] + py * u[1]) / d2
    ey = (px * n[0] + py * n[1]) / d2
    return ex.astype(np.float32), ey.astype(np.float32)


def region(ex: np.ndarray, ey: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x0, x1, y0, y1 = box
    return (ex >= x0) & (ex <= x1) & (ey >= y0) & (ey <= y1)


def box_inside(shape: tuple[int, int], left, right, box, margin: int = 2) -> bool:
    """Whether the eye-frame ``box`` lies inside the image with ``margin`` px to spare."""
    u = np.asarray(right, np.float64) - np.asarray(left, np.float64)
    o = (np.asarray(right, np.float64) + np.asarray(left, np.float64)) / 2
    n = np.array([-u[1], u[0]])
    h, w = shape
    for bx in box[:2]:
        for by in box[2:]:
            p = o + bx * u + by * n
            if not (margin <= p[0] < w - margin and margin <= p[1] < h - margin):
                return False
    return True


def _luma(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def _saturation(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32)
    mx, mn = f.max(2), f.min(2)
    return np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0).astype(np.float32)


def _blockiness(y: np.ndarray, m: np.ndarray) -> float:
    vals = []
    for axis in (1, 0):
        d = np.abs(np.diff(y, axis=axis))
        mm = m[:, :-1] & m[:, 1:] if axis == 1 else m[:-1, :] & m[1:, :]
        idx = np.arange(d.shape[axis])
        on = (idx % 8) == 7
        on = on[None, :] if axis == 1 else on[:, None]
        a = d[mm & on]
        b = d[mm & ~on]
        if len(a) and len(b):
            vals.append((a.mean() + 0.5) / (b.mean() + 0.5))
    return float(np.mean(vals)) if vals else 1.0


def _noise(conv: np.ndarray, grad: np.ndarray, m: np.ndarray) -> float:
    g = grad[m]
    c = np.abs(conv[m])
    flat = g <= np.median(g)
    return math.sqrt(math.pi / 2) * float(c[flat].mean()) / 6.0


def face_stats(img: np.ndarray, left: np.ndarray, right: np.ndarray) -> dict[str, float] | None:
    """The statistics (module doc) of the face whose eye centres are ``left``/``right`` (image
    px) in RGB uint8 ``img``; None when a region leaves the image or is under 40 px."""
    h, w = img.shape[:2]
    if not (box_inside((h, w), left, right, MASK_BOX) and box_inside((h, w), left, right, UPPER_BOX)):
        return None
    ex, ey = eye_coords((h, w), left, right)
    mreg, ureg = region(ex, ey, MASK_BOX), region(ex, ey, UPPER_BOX)
    if mreg.sum() < 40 or ureg.sum() < 40:
        return None
    y = _luma(img)
    lap = np.abs(cv2.Laplacian(y, cv2.CV_32F, ksize=1))
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt(gx * gx + gy * gy)
    conv = cv2.filter2D(y, cv2.CV_32F, _IMMERKAER)
    dog = np.abs(cv2.GaussianBlur(y, (0, 0), 1.0) - cv2.GaussianBlur(y, (0, 0), 2.0))
    sat = _saturation(img)
    eps = 1e-3

    def sharp(m):
        return (lap[m].mean() + eps) / (grad[m].mean() + eps)

    def asym(m, coord, mid):
        a, b = y[m & (coord < mid)], y[m & (coord >= mid)]
        mean = float(y[m].mean()) + 1.0
        return (float(b.mean()) - float(a.mean())) / mean if len(a) and len(b) else 0.0

    my, uy = y[mreg], y[ureg]
    mm_mid, um_mid = (MASK_BOX[2] + MASK_BOX[3]) / 2, (UPPER_BOX[2] + UPPER_BOX[3]) / 2
    return {
        "sharp": math.log(sharp(mreg) / sharp(ureg)),
        "noise": math.log((_noise(conv, grad, mreg) + 0.05) / (_noise(conv, grad, ureg) + 0.05)),
        "block": math.log(_blockiness(y, mreg) / _blockiness(y, ureg)),
        "light_lr": asym(mreg, ex, 0.0) - asym(ureg, ex, 0.0),
        # top minus bottom: asym gives (bottom - top) / mean
        "light_tb": -asym(mreg, ey, mm_mid) + asym(ureg, ey, um_mid),
        "lum": math.log((float(my.mean()) + 1) / (float(uy.mean()) + 1)),
        "contrast": math.log((float(my.std()) + 0.5) / (float(uy.std()) + 0.5)),
        "sat": float(sat[mreg].mean()),
        "sat_rel": float(sat[mreg].mean() - sat[ureg].mean()),
        "texture": math.log((float(dog[mreg].mean()) + eps) / (float(dog[ureg].mean()) + eps)),
    }


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the empirical CDFs)."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    s = np.asarray(scores, np.float64)
    order = np.argsort(s, kind="mergesort")
    r = np.empty(len(s))
    r[order] = np.arange(1, len(s) + 1)
    for v in np.unique(s[np.r_[np.diff(s[order]) == 0, False] | np.r_[False, np.diff(s[order]) == 0]] if len(s) > 1 else []):
        r[s == v] = r[s == v].mean()  # ties share their mean rank
    pos = labels.astype(bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 25) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; weights incl. bias (last)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    wt = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(xb @ wt, -30, 30)))
        g = xb.T @ (p - y) + reg @ wt * len(x)
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg * len(x) + 1e-9 * np.eye(len(wt))
        wt -= np.linalg.solve(hess, g)
    return wt


def cv_auc(a: np.ndarray, b: np.ndarray, folds: int = 5, repeats: int = 4, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a logistic regression telling rows of ``a`` (label 1) from
    rows of ``b`` (label 0): stratified ``folds``-fold, features standardised on the training
    folds, AUC of the pooled out-of-fold scores, averaged over ``repeats`` shuffles."""
    x = np.vstack([a, b]).astype(np.float64)
    y = np.concatenate([np.ones(len(a)), np.zeros(len(b))])
    aucs = []
    for rep in range(repeats):
        rng = np.random.default_rng(seed + rep)
        fold = np.empty(len(y), np.int64)
        for lab in (0, 1):
            idx = np.flatnonzero(y == lab)
            fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
        scores = np.empty(len(y))
        for k in range(folds):
            tr, te = fold != k, fold == k
            mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-9
            wt = _fit_logistic((x[tr] - mu) / sd, y[tr])
            scores[te] = np.hstack([(x[te] - mu) / sd, np.ones((te.sum(), 1))]) @ wt
        aucs.append(roc_auc(scores, y))
    return float(np.mean(aucs))
