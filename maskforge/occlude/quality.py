"""Placement checks: is an occluder where it should be?

Built from landmarks of the *original* image and the pixels the occluder changed. Used by the
tests and by benchmarks/bench_overlay.py to report the figures of docs/occluders.md.
"""

from __future__ import annotations

import cv2
import numpy as np

NOSE = list(range(30, 36))
MOUTH = list(range(48, 68))
CHIN = list(range(6, 11))
EYES = list(range(36, 48))
EYE_CORNERS = [36, 39, 42, 45]


def changed_pixels(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose RGB differs."""
    return np.any(before != after, axis=2)


def face_outline_mask(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: jaw polygon 0..16 closed by the brow line 26..17 (boundary pixels inside)."""
    lm = np.asarray(landmarks, np.float64)
    poly = np.vstack([lm[0:17], lm[26:16:-1]])
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    cv2.polylines(
        out, [np.round(poly * 16).astype(np.int32)], True, 1, lineType=cv2.LINE_8, shift=4
    )
    return out.astype(bool)


def _hits(region: np.ndarray, landmarks: np.ndarray, idx: list[int]) -> np.ndarray:
    h, w = region.shape
    pts = np.round(np.asarray(landmarks, np.float64)[idx]).astype(int)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    hits = np.zeros(len(idx), bool)
    hits[inside] = region[pts[inside, 1], pts[inside, 0]]
    return hits


def placement_stats(
    before: np.ndarray, after: np.ndarray, landmarks: np.ndarray, mask: np.ndarray | None = None
) -> dict:
    """Per-face figures: fraction of nose/mouth/chin/eye points changed, whether any eye point
    changed, eye corners changed, mouth changed; fraction of the occluder's pixels (``mask``,
    alpha >= 0.5) outside the face outline (``outside``) and the same for every changed pixel,
    faint anti-aliased fringe included (``outside_changed``)."""
    changed = changed_pixels(before, after)
    n = int(changed.sum())
    outline = face_outline_mask(landmarks, changed.shape)
    m = changed if mask is None else mask
    nm = int(m.sum())
    return {
        "nose": float(_hits(changed, landmarks, NOSE).mean()),
        "mouth": float(_hits(changed, landmarks, MOUTH).mean()),
        "chin": float(_hits(changed, landmarks, CHIN).mean()),
        "cover": float(_hits(changed, landmarks, NOSE + MOUTH + CHIN).mean()),
        "eyes_touched": bool(_hits(changed, landmarks, EYES).any()),
        "eye_corners": float(_hits(changed, landmarks, EYE_CORNERS).mean()),
        "mouth_touched": bool(_hits(changed, landmarks, MOUTH).any()),
        "outside": float((m & ~outline).sum() / nm) if nm else 0.0,
        "outside_changed": float((changed & ~outline).sum() / n) if n else 0.0,
        "changed_px": n,
    }
