"""Anchor points: named constructions over the 68 landmarks, and the canonical face.

An asset's anchors are points of its PNG, each tied to a *construction* over the 68 iBUG/dlib
landmarks of a face. Every construction is linear in the landmarks plus an offset in the *eye
frame* (origin-free axes: ``u`` = vector from the left eye centre to the right eye centre, its length
the inter-ocular distance (IOD); ``n`` = ``u`` turned 90 degrees, pointing down the face). So a set of
anchors compiles to a weight matrix ``W`` (A, 68) and offsets ``D`` (A, 2) and evaluates in one
matrix product: ``P = W @ L + D[:, :1] * u + D[:, 1:] * n``.

Construction JSON forms (all coordinates in pixels of the landmarks' frame):

- ``{"lm": i}``                                   landmark ``i``
- ``{"lerp": [i, j, t]}``                        ``L[i] + t (L[j] - L[i])`` (``t`` outside 0..1
  extrapolates; ``t = 0.5`` is the midpoint)
- any of the above plus ``"eye": [dx, dy]``      offset ``dx * u + dy * n`` (units of IOD)

The canonical face (:data:`CANONICAL_68`) is the mean dlib 68-point shape of near-frontal LFW faces,
in eye-frame units (eye midpoint at the origin, IOD = 1, y down), measured once by this project.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import AssetError

#: Mean 68-point shape of near-frontal faces, eye midpoint at (0, 0), inter-ocular distance 1.
# fmt: off
CANONICAL_68 = np.array(
    [
        (-1.157, -0.004), (-1.138, 0.308), (-1.102, 0.617), (-1.051, 0.920), (-0.949, 1.209),
        (-0.781, 1.469), (-0.561, 1.686), (-0.301, 1.858), (0.000, 1.910), (0.301, 1.858),
        (0.561, 1.686), (0.781, 1.469), (0.949, 1.209), (1.051, 0.920), (1.102, 0.617),
        (1.138, 0.308), (1.157, -0.004),
        (-0.928, -0.185), (-0.789, -0.315), (-0.591, -0.355), (-0.386, -0.329), (-0.193, -0.254),
        (0.193, -0.254), (0.386, -0.329), (0.591, -0.355), (0.789, -0.315), (0.928, -0.185),
        (0.000, -0.038), (0.000, 0.162), (0.000, 0.360), (0.000, 0.565),
        (-0.226, 0.690), (-0.118, 0.733), (0.000, 0.771), (0.118, 0.733), (0.226, 0.690),
        (-0.691, 0.003), (-0.569, -0.062), (-0.427, -0.060), (-0.301, 0.023), (-0.436, 0.048),
        (-0.576, 0.048),
        (0.301, 0.023), (0.427, -0.060), (0.569, -0.062), (0.691, 0.003), (0.576, 0.048),
        (0.436, 0.048),
        (-0.445, 1.084), (-0.286, 1.001), (-0.124, 0.966), (0.000, 0.992), (0.124, 0.966),
        (0.286, 1.001), (0.445, 1.084), (0.296, 1.253), (0.134, 1.326), (0.000, 1.341),
        (-0.134, 1.326), (-0.296, 1.253),
        (-0.377, 1.091), (-0.125, 1.057), (0.000, 1.070), (0.125, 1.057), (0.377, 1.091),
        (0.128, 1.178), (0.000, 1.193), (-0.128, 1.178),
    ],
    dtype=np.float64,
)
# fmt: on

LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)


def eye_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(u, n)``: eye-line vector (left eye centre to right eye centre, length IOD) and the same
    vector turned 90 degrees so that it points down the face (``n = (-u_y, u_x)``)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    u = lm[RIGHT_EYE].sum(0) / 6.0 - lm[LEFT_EYE].sum(0) / 6.0  # difference of the eye means
    return u, np.array([-u[1], u[0]])


def canonical_landmarks(iod: float, origin: tuple[float, float]) -> np.ndarray:
    """The canonical face scaled to inter-ocular distance ``iod`` px with the eye midpoint at
    ``origin`` (x, y) px: the frame in which project assets are drawn. Returns (68, 2) float64."""
    return CANONICAL_68 * float(iod) + np.asarray(origin, dtype=np.float64)


class AnchorSet:
    """Compiled constructions: evaluate all anchors for a face in one matrix product."""

    def __init__(self, constructions: Sequence[Mapping[str, Any]]) -> None:
        n = len(constructions)
        if n < 3:
            raise AssetError(f"an asset needs at least 3 anchors, got {n}")
        self.constructions = [dict(c) for c in constructions]
        self.weights = np.zeros((n, 68), dtype=np.float64)
        self.offsets = np.zeros((n, 2), dtype=np.float64)
        for k, c in enumerate(self.constructions):
            self.weights[k], self.offsets[k] = _compile(c)
        # [W | D]: one product with the stacked [L; u; n] evaluates every anchor
        self._matrix = np.hstack([self.weights, self.offsets])

    def __len__(self) -> int:
        return len(self.constructions)

    def evaluate(self, landmarks: np.ndarray) -> np.ndarray:
        """Anchor positions (A, 2) float64 in the frame of ``landmarks`` (68, 2)."""
        lm = np.asarray(landmarks, dtype=np.float64)
        if lm.shape != (68, 2):
            raise ValueError(f"landmarks must have shape (68, 2), got {lm.shape}")
        u, n = eye_frame(lm)
        return self._matrix @ np.vstack([lm, u, n])


def _index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 68:
        raise AssetError(f"anchor {what} must be a landmark index 0..67, got {value!r}")
    return value


def _compile(c: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    w = np.zeros(68, dtype=np.float64)
    if "lm" in c:
        w[_index(c["lm"], "lm")] = 1.0
    elif "lerp" in c:
        try:
            i, j, t = c["lerp"]
            t = float(t)
        except (TypeError, ValueError) as exc:
            raise AssetError(f"anchor lerp must be [i, j, t], got {c['lerp']!r}") from exc
        w[_index(i, "lerp i")] += 1.0 - t
        w[_index(j, "lerp j")] += t
    else:
        raise AssetError(
            f"anchor construction {dict(c)!r} needs 'lm' or 'lerp' (see docs/occluders.md)"
        )
    off = np.zeros(2, dtype=np.float64)
    if "eye" in c:
        try:
            off[:] = [float(v) for v in c["eye"]]
        except (TypeError, ValueError) as exc:
            raise AssetError(f"anchor eye offset must be [dx, dy], got {c['eye']!r}") from exc
    return w, off


def yaw_from_landmarks(landmarks: np.ndarray) -> float:
    """Rough head yaw in degrees from 2-D landmarks (no camera model): the nose tip's offset from
    the jaw's horizontal middle, along the eye line. Positive when the face turns towards the
    image's right, as in docs/architecture.md. Used only when the caller gives no yaw."""
    lm = np.asarray(landmarks, dtype=np.float64)
    ux, uy = eye_frame(lm)[0].tolist()
    norm = math.hypot(ux, uy) or 1.0
    ux, uy = ux / norm, uy / norm
    (x0, y0), (x16, y16), (x30, y30) = lm[[0, 16, 30]].tolist()
    left, right, tip = x0 * ux + y0 * uy, x16 * ux + y16 * uy, x30 * ux + y30 * uy
    half = max((right - left) / 2.0, 1e-6)
    r = min(max((tip - (left + right) / 2.0) / half, -1.0), 1.0)
    return math.degrees(math.asin(r)) * 1.4
