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

Covariates (``upper_covariates``): the photo's own properties, from U alone, so no mask pixel is
in them: what differs between two sets of photos whatever is drawn on the lower face (lfw's
faces are more colourful than rwmfd's, for one). ``u_sat`` mean saturation; ``u_lum`` log mean
Y; ``u_contrast`` log std Y; ``u_sharp``, ``u_noise``, ``u_block``, ``u_texture`` the logs of
the sharpness, noise sigma (+ 0.05), blockiness and texture above, in U; ``u_red`` and
``u_yellow`` the colour cast ((R - G) and ((R + G) / 2 - B) over mean Y + 1); ``u_light_lr``
and ``u_light_tb`` U's own left-right and top-bottom asymmetry; ``size`` log IOD in px.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
COVARIATES = (
    "u_sat",
    "u_lum",
    "u_contrast",
    "u_sharp",
    "u_noise",
    "u_block",
    "u_texture",
    "u_red",
    "u_yellow",
    "u_light_lr",
    "u_light_tb",
    "size",
)
_EPS = 1e-3
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


def _planes(img: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pixel planes the statistics are computed from (each (H, W) float32): luminance ``y``,
    |Laplacian| ``lap``, Sobel gradient magnitude ``grad``, Immerkaer response ``conv``,
    |difference of Gaussians| ``dog``, HSV saturation ``sat``."""
    y = _luma(img)
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    return {
        "y": y,
        "lap": np.abs(cv2.Laplacian(y, cv2.CV_32F, ksize=1)),
        "grad": np.sqrt(gx * gx + gy * gy),
        "conv": cv2.filter2D(y, cv2.CV_32F, _IMMERKAER),
        "dog": np.abs(cv2.GaussianBlur(y, (0, 0), 1.0) - cv2.GaussianBlur(y, (0, 0), 2.0)),
        "sat": _saturation(img),
    }


def _regions(img: np.ndarray, left, right):
    """(ex, ey, mask region, upper face) or None when a region leaves the image or is < 40 px."""
    h, w = img.shape[:2]
    if not (box_inside((h, w), left, right, MASK_BOX) and box_inside((h, w), left, right, UPPER_BOX)):
        return None
    ex, ey = eye_coords((h, w), left, right)
    mreg, ureg = region(ex, ey, MASK_BOX), region(ex, ey, UPPER_BOX)
    if mreg.sum() < 40 or ureg.sum() < 40:
        return None
    return ex, ey, mreg, ureg


def _sharp(pl: dict[str, np.ndarray], m: np.ndarray) -> np.floating:
    """Mean |Laplacian| / mean |gradient| over ``m`` (float32, as the figures were made)."""
    return (pl["lap"][m].mean() + _EPS) / (pl["grad"][m].mean() + _EPS)


def _asym(y: np.ndarray, m: np.ndarray, coord: np.ndarray, mid: float) -> float:
    """(mean Y where ``coord >= mid`` - mean Y where ``coord < mid``) / (mean Y + 1) over ``m``."""
    a, b = y[m & (coord < mid)], y[m & (coord >= mid)]
    mean = float(y[m].mean()) + 1.0
    return (float(b.mean()) - float(a.mean())) / mean if len(a) and len(b) else 0.0


def face_stats(img: np.ndarray, left: np.ndarray, right: np.ndarray) -> dict[str, float] | None:
    """The statistics (module doc) of the face whose eye centres are ``left``/``right`` (image
    px) in RGB uint8 ``img``; None when a region leaves the image or is under 40 px."""
    regs = _regions(img, left, right)
    if regs is None:
        return None
    ex, ey, mreg, ureg = regs
    pl = _planes(img)
    y, conv, grad, dog, sat = pl["y"], pl["conv"], pl["grad"], pl["dog"], pl["sat"]
    my, uy = y[mreg], y[ureg]
    mm_mid, um_mid = (MASK_BOX[2] + MASK_BOX[3]) / 2, (UPPER_BOX[2] + UPPER_BOX[3]) / 2
    return {
        "sharp": math.log(_sharp(pl, mreg) / _sharp(pl, ureg)),
        "noise": math.log((_noise(conv, grad, mreg) + 0.05) / (_noise(conv, grad, ureg) + 0.05)),
        "block": math.log(_blockiness(y, mreg) / _blockiness(y, ureg)),
        "light_lr": _asym(y, mreg, ex, 0.0) - _asym(y, ureg, ex, 0.0),
        # top minus bottom: _asym gives (bottom - top) / mean
        "light_tb": -_asym(y, mreg, ey, mm_mid) + _asym(y, ureg, ey, um_mid),
        "lum": math.log((float(my.mean()) + 1) / (float(uy.mean()) + 1)),
        "contrast": math.log((float(my.std()) + 0.5) / (float(uy.std()) + 0.5)),
        "sat": float(sat[mreg].mean()),
        "sat_rel": float(sat[mreg].mean() - sat[ureg].mean()),
        "texture": math.log((float(dog[mreg].mean()) + _EPS) / (float(dog[ureg].mean()) + _EPS)),
    }


def upper_covariates(img: np.ndarray, left: np.ndarray, right: np.ndarray) -> dict[str, float] | None:
    """The photo's own properties, from the **upper face** alone (no pixel of a mask region in
    them) and the face's size: the covariates ``COVARIATES`` (module doc) of the face whose eye
    centres are ``left``/``right`` (image px) in RGB uint8 ``img``; None where ``face_stats`` is."""
    regs = _regions(img, left, right)
    if regs is None:
        return None
    ex, ey, _, ureg = regs
    pl = _planes(img)
    y = pl["y"]
    f = img.astype(np.float32)[ureg]
    uy = float(y[ureg].mean()) + 1.0
    r, g, b = (float(f[:, c].mean()) for c in range(3))
    iod = float(np.hypot(*(np.asarray(right, np.float64) - np.asarray(left, np.float64))))
    return {
        "u_sat": float(pl["sat"][ureg].mean()),
        "u_lum": math.log(uy),
        "u_contrast": math.log(float(y[ureg].std()) + 0.5),
        "u_sharp": math.log(_sharp(pl, ureg)),
        "u_noise": math.log(_noise(pl["conv"], pl["grad"], ureg) + 0.05),
        "u_block": math.log(_blockiness(y, ureg)),
        "u_texture": math.log(float(pl["dog"][ureg].mean()) + _EPS),
        "u_red": (r - g) / uy,
        "u_yellow": ((r + g) / 2 - b) / uy,
        "u_light_lr": _asym(y, ureg, ex, 0.0),
        "u_light_tb": -_asym(y, ureg, ey, (UPPER_BOX[2] + UPPER_BOX[3]) / 2),
        "size": math.log(max(iod, 1.0)),
    }


def ks_distance(
    a: np.ndarray, b: np.ndarray, wa: np.ndarray | None = None, wb: np.ndarray | None = None
) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the empirical CDFs); with
    per-sample weights ``wa``/``wb`` (both or neither), between the weighted empirical CDFs."""
    if wa is not None and wb is not None:
        grid = np.concatenate([a, b]).astype(np.float64)
        return float(np.abs(_wcdf(a, wa, grid) - _wcdf(b, wb, grid)).max())
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def _wcdf(v: np.ndarray, w: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Weighted empirical CDF of ``v`` at each point of ``grid`` (share of weight <= it)."""
    order = np.argsort(v, kind="mergesort")
    cw = np.r_[0.0, np.cumsum(np.asarray(w, np.float64)[order])]
    return cw[np.searchsorted(np.asarray(v, np.float64)[order], grid, side="right")] / cw[-1]


def roc_auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; with ``weights``, each
    (positive, negative) pair counts the product of their weights."""
    if weights is not None:
        return _weighted_auc(np.asarray(scores, np.float64), labels.astype(bool), weights)
    s = np.asarray(scores, np.float64)
    order = np.argsort(s, kind="mergesort")
    r = np.empty(len(s))
    r[order] = np.arange(1, len(s) + 1)
    ss = s[order]
    tied = np.r_[np.diff(ss) == 0, False] | np.r_[False, np.diff(ss) == 0] if len(s) > 1 else []
    for v in np.unique(ss[tied]):  # (the mask is in sorted order: it was applied to s unsorted)
        r[s == v] = r[s == v].mean()  # ties share their mean rank
    pos = labels.astype(bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _weighted_auc(s: np.ndarray, pos: np.ndarray, w: np.ndarray) -> float:
    vals, inv = np.unique(s, return_inverse=True)
    w1 = np.bincount(inv, weights=np.where(pos, w, 0.0), minlength=len(vals))
    w0 = np.bincount(inv, weights=np.where(pos, 0.0, w), minlength=len(vals))
    below = np.cumsum(w0) - w0  # negative weight strictly under each value
    return float((w1 * (below + 0.5 * w0)).sum() / (w1.sum() * w0.sum()))


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 25, w: np.ndarray | None = None
) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; weights incl. bias (last).
    ``w``: per-row sample weights (mean 1; None = all 1, the same arithmetic)."""
    w = np.ones(len(x)) if w is None else np.asarray(w, np.float64)
    xb = np.hstack([x, np.ones((len(x), 1))])
    wt = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(xb @ wt, -30, 30)))
        g = xb.T @ (w * (p - y)) + reg @ wt * w.sum()
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + reg * w.sum() + 1e-9 * np.eye(len(wt))
        wt -= np.linalg.solve(hess, g)
    return wt


#: Per-row weights of one fold: ``weigh(train, test)`` (two boolean (N,) row masks over the rows
#: of ``a`` then ``b``) -> (N,) weights, those of the test rows computed from the training rows
#: alone (so that a weighting fitted to the data cannot leak the test rows into the fit).
Weigher = Callable[[np.ndarray, np.ndarray], np.ndarray]


def cv_auc(
    a: np.ndarray,
    b: np.ndarray,
    folds: int = 5,
    repeats: int = 4,
    seed: int = 0,
    weigh: Weigher | None = None,
) -> float:
    """Cross-validated ROC AUC of a logistic regression telling rows of ``a`` (label 1) from
    rows of ``b`` (label 0): stratified ``folds``-fold, features standardised on the training
    folds, AUC of the pooled out-of-fold scores, averaged over ``repeats`` shuffles. With
    ``weigh`` (``Weigher``): the fit, the standardisation and the AUC are weighted, the test
    rows' weights scaled to mean 1 per fold and label (same folds)."""
    x = np.vstack([a, b]).astype(np.float64)
    y = np.concatenate([np.ones(len(a)), np.zeros(len(b))])
    aucs = []
    for rep in range(repeats):
        rng = np.random.default_rng(seed + rep)
        fold = np.empty(len(y), np.int64)
        for lab in (0, 1):
            idx = np.flatnonzero(y == lab)
            fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
        scores, w_out = np.empty(len(y)), np.ones(len(y))
        for k in range(folds):
            tr, te = fold != k, fold == k
            if weigh is None:
                mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-9
                wt = _fit_logistic((x[tr] - mu) / sd, y[tr])
            else:
                w = np.asarray(weigh(tr, te), np.float64)
                mu = np.average(x[tr], axis=0, weights=w[tr])
                sd = np.sqrt(np.average((x[tr] - mu) ** 2, axis=0, weights=w[tr])) + 1e-9
                wt = _fit_logistic((x[tr] - mu) / sd, y[tr], w=w[tr] / w[tr].mean())
                for lab in (0, 1):
                    m = te & (y == lab)
                    w_out[m] = w[m] / w[m].mean()
            scores[te] = np.hstack([(x[te] - mu) / sd, np.ones((te.sum(), 1))]) @ wt
        aucs.append(roc_auc(scores, y, None if weigh is None else w_out))
    return float(np.mean(aucs))
