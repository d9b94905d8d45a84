"""Is something in front of the lower face? A per-pixel test, so a mask never paints over a hand.

:func:`find_in_front` works on one face (68 landmarks, image pixel frame) in eye-frame units
(origin at the eye midpoint, IOD = 1, y down the face; see :mod:`.anchors`):

1. **the face's own skin**: the cheeks under the eyes and the nose bridge (never masked, rarely
   covered) give a Gaussian model of skin colour: chroma (YCrCb Cr, Cb) and luminance relative to
   the cheeks' mean;
2. **evidence of an object**: skin-coloured pixels (chroma within 3 standard deviations of the
   face's, not in deep shadow) *outside* the face outline (jaw 0-16 closed by the brows), below
   the eyes, leaving out the ears (beside the face above the jaw corner) and the neck (under
   the chin). A hand or an arm in front of the lower face always reaches out of the outline;
   under :data:`MIN_OUTSIDE` IOD^2 of them, nothing is in front;
3. **the object's pixels** inside the lower face (the outline below the nose bridge): those whose
   colour is more likely under a Gaussian model of the outside evidence than under the face's
   model (log-likelihood ratio > 0), connected to the evidence (so lips or a beard the object's
   colour does not match are not taken for it), grown by 0.03 IOD to cover finger edges.

The result is a :class:`InFront`: ``face_prob`` (H, W) float32, 1 where the face shows, 0 on the
object, soft over 0.02 IOD; and ``share``, the fraction of the lower face the object covers.
Deterministic, no randomness. Known limits: a hand of exactly the face's colour and light next to
skin-coloured background can go unnoticed or be over-estimated (docs/occluders.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .anchors import eye_frame

#: Outside-the-outline skin area (IOD^2) from which an object in front is assumed.
MIN_OUTSIDE = 0.06
#: Work at about this inter-ocular distance (px) at most (cost).
WORK_IOD = 40.0


@dataclass(frozen=True)
class InFront:
    """``face_prob`` (H, W) float32 in 0..1 (image frame) and ``share`` of the lower face
    covered by the object in front (0..1)."""

    face_prob: np.ndarray
    share: float


def _gauss(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if len(samples) < 12:
        return None
    mu = samples.mean(0)
    cov = np.cov(samples, rowvar=False) + np.eye(samples.shape[1]) * 4e-4
    return mu, np.linalg.inv(cov)


def _loglik(x: np.ndarray, model: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    mu, icov = model
    d = x - mu
    return -0.5 * np.einsum("...i,ij,...j->...", d, icov, d) + 0.5 * math.log(
        max(np.linalg.det(icov), 1e-30)
    )


def _frame(lm: np.ndarray, shape: tuple[int, int], scale: float, box: tuple[int, int, int, int]):
    """Eye-frame coordinates (x, y) of the work grid (box at ``scale`` of the image)."""
    u, n = eye_frame(lm)
    o = (lm[36:42].mean(0) + lm[42:48].mean(0)) / 2
    x0, y0, x1, y1 = box
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    px = (xs + 0.5) / scale + x0 - 0.5 - o[0]
    py = (ys + 0.5) / scale + y0 - 0.5 - o[1]
    d2 = float(u @ u)
    ex = (px * u[0] + py * u[1]) / d2
    ey = (px * n[0] + py * n[1]) / d2
    return ex.astype(np.float32), ey.astype(np.float32)


def _outline(lm: np.ndarray, shape: tuple[int, int], scale: float, x0: int, y0: int) -> np.ndarray:
    poly = np.vstack([lm[0:17], lm[26:16:-1]])
    pts = np.round(((poly - (x0, y0)) * scale) * 16).astype(np.int32)
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def find_in_front(image: np.ndarray, landmarks: np.ndarray) -> InFront | None:
    """The object in front of the lower face (module doc), or None when there is none."""
    lm = np.asarray(landmarks, np.float64)
    iod = math.hypot(*eye_frame(lm)[0].tolist())
    if iod < 8:
        return None
    H, W = image.shape[:2]
    lo, hi = lm.min(0) - 0.9 * iod, lm.max(0) + 0.9 * iod
    x0, y0 = max(int(lo[0]), 0), max(int(lm[36:48, 1].min()), 0)
    x1, y1 = min(int(hi[0]) + 1, W), min(int(hi[1]) + 1, H)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    scale = min(WORK_IOD / iod, 1.0)
    crop = image[y0:y1, x0:x1]
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    shape = small.shape[:2]
    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb).astype(np.float32) / 255.0
    ex, ey = _frame(lm, shape, scale, (x0, y0, x1, y1))
    inside = _outline(lm, shape, scale, x0, y0)
    ax = np.abs(ex)
    cheeks = ((ax > 0.22) & (ax < 0.7) & (ey > 0.2) & (ey < 0.55)) | ((ax < 0.1) & (ey > 0.1) & (ey < 0.45))
    cheeks &= inside
    ref = float(ycc[..., 0][cheeks].mean()) if cheeks.any() else 0.5
    feats = np.dstack([ycc[..., 0] / max(ref, 0.05), ycc[..., 1], ycc[..., 2]])
    face = _gauss(feats[cheeks])
    if face is None:
        return None
    chroma = _gauss(feats[cheeks][:, 1:])
    skin = (_loglik(feats[..., 1:], chroma) - _loglik(chroma[0][None], chroma)[0] > -4.5) & (
        feats[..., 0] > 0.45
    )
    grow = max(int(round(0.06 * iod * scale)), 1)
    ring = cv2.dilate(inside.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) > 0
    ears = (ax > 0.95) & (ey < 1.0)
    neck = (ax < 0.8) & (ey > 1.5)
    evidence = skin & ~ring & ~ears & ~neck & (ey > 0.4)
    px_per_iod2 = (iod * scale) ** 2
    if evidence.sum() < MIN_OUTSIDE * px_per_iod2:
        return None
    obj = _gauss(feats[evidence])
    if obj is None:
        return None
    lower = inside & (ey > 0.45)
    bridge = ring & ~inside & ~ears & ~neck & (ey > 0.4)  # the gap between outline and evidence
    cand = (_loglik(feats, obj) > _loglik(feats, face)) & (lower | evidence | bridge)
    n, labels = cv2.connectedComponents((cand | evidence).astype(np.uint8), connectivity=8)
    touching = np.unique(labels[evidence])
    hand = np.isin(labels, touching[touching > 0]) & lower & cand
    if not hand.any():
        return None
    k = 2 * max(int(round(0.03 * iod * scale)), 1) + 1
    hand = cv2.dilate(hand.astype(np.uint8), np.ones((k, k), np.uint8)).astype(np.float32)
    hand = cv2.GaussianBlur(hand, (0, 0), max(0.02 * iod * scale, 0.5))
    full = np.ones((H, W), np.float32)
    full[y0:y1, x0:x1] = 1.0 - cv2.resize(hand, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    share = float((hand > 0.5)[lower].mean()) if lower.any() else 0.0
    return InFront(np.clip(full, 0.0, 1.0), share)
