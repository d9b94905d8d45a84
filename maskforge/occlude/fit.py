"""Fitting a user's PNG onto the canonical face: where the drawn assets' anchors fall in it.

The drawn assets are made on the canonical face (:mod:`.anchors`), so their anchors are the
constructions of :func:`~maskforge.occlude.draw.mask_anchor_constructions` /
:func:`~maskforge.occlude.draw.glasses_anchor_constructions` evaluated there. An imported PNG
gets the *same* constructions; what the fit finds is a map from canonical eye-frame units
(eye midpoint at 0, inter-ocular distance 1, y down) to the PNG's pixels, and the anchors are the
images of the canonical anchor positions under that map.

- **Masks**: a thin-plate spline that sends the outline of the drawn mask of the same wear
  (top edge from cheek to nose bridge to cheek, bottom edge along the jaw and under the chin)
  onto the PNG's alpha outline, key point to key point (corners, top point, bottom point) and
  at equal arc length in between. The PNG's bottom edge therefore lands on the jaw line and closes
  at the chin exactly as a drawn mask does.
- **Glasses**: a similarity (glasses are rigid) that sends the two lens centres to where the
  drawn lenses sit, so the lenses hold the eye corners and the bridge lands on landmark 27.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AssetError
from .anchors import AnchorSet, canonical_landmarks
from .assets import triangulate
from .draw import glasses_anchor_constructions, mask_anchor_constructions, mask_shape
from .outline import Lenses, MaskOutline, resample

#: Points per outline arc (four arcs) in the spline fit.
ARC_POINTS = 16
#: Smoothing of the spline (canonical units squared): the outline is followed to ~0.01 IOD.
TPS_SMOOTHING = 1e-4
#: Where the drawn lenses are centred (eye-frame units): x = +-0.52, y per kind.
LENS_X = 0.52
LENS_Y = {"glasses": 0.015, "sunglasses": 0.03}
#: How much further (IOD) than a drawn mask's edge an imported mask's outline is put around
#: the chin: a photo's edge is its outermost opaque pixels, a drawn edge is anti-aliased outwards.
CHIN_MARGIN = 0.003
#: The drawn mask outline a PNG's outline is mapped onto (its family's shape for 'correct').
TARGET_FAMILY = "surgical"


@dataclass
class Fit:
    """Anchor constructions, their canonical positions (A, 2, eye-frame units) and their
    positions in the source PNG (A, 2, px); ``triangles`` (T, 3) are the canonical Delaunay
    triangles (the drawn assets' triangulation); ``iod_px`` the source pixels per IOD."""

    constructions: list[dict]
    canonical: np.ndarray
    points: np.ndarray
    triangles: np.ndarray
    iod_px: float
    bottom: np.ndarray | None = None  # masks: the fitted bottom edge (left to right), PNG px
    bottom_slack: np.ndarray | None = None  # per bottom point, 0..1: 1 around the chin, 0 at sides
    top: np.ndarray | None = None  # masks: the fitted top edge (left to right), PNG px


class ThinPlate:
    """2-D thin-plate spline ``f(p) = A [p, 1] + sum_i w_i U(|p - c_i|)``, ``U(r) = r^2 log r``,
    fitted so that ``f(c_i) ~ y_i`` (smoothing ``lam``)."""

    def __init__(self, ctrl: np.ndarray, target: np.ndarray, lam: float = TPS_SMOOTHING) -> None:
        c = np.asarray(ctrl, np.float64)
        n = len(c)
        k = self._kernel(c, c) + lam * np.eye(n)
        p = np.hstack([c, np.ones((n, 1))])
        lhs = np.zeros((n + 3, n + 3))
        lhs[:n, :n], lhs[:n, n:], lhs[n:, :n] = k, p, p.T
        rhs = np.vstack([np.asarray(target, np.float64), np.zeros((3, 2))])
        sol = np.linalg.solve(lhs, rhs)
        self.ctrl, self.w, self.a = c, sol[:n], sol[n:]

    @staticmethod
    def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return 0.5 * r2 * np.log(np.maximum(r2, 1e-300))

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        q = np.asarray(pts, np.float64)
        return self._kernel(q, self.ctrl) @ self.w + np.hstack([q, np.ones((len(q), 1))]) @ self.a


def mesh_map(
    q: np.ndarray, canon: np.ndarray, pts: np.ndarray, tris: np.ndarray, fallback
) -> np.ndarray:
    """Points ``q`` (N, 2, canonical units) mapped piecewise-affinely by the mesh ``tris`` from
    ``canon`` to ``pts`` (barycentric coordinates in the containing triangle); points outside
    the mesh go through ``fallback``."""
    q = np.asarray(q, np.float64)
    a, b, c = canon[tris[:, 0]], canon[tris[:, 1]], canon[tris[:, 2]]
    v0, v1 = b - a, c - a  # (T, 2)
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    d = q[:, None, :] - a[None]  # (N, T, 2)
    l1 = (d[..., 0] * v1[:, 1] - d[..., 1] * v1[:, 0]) / det
    l2 = (v0[:, 0] * d[..., 1] - v0[:, 1] * d[..., 0]) / det
    inside = (l1 >= -1e-9) & (l2 >= -1e-9) & (l1 + l2 <= 1 + 1e-9)
    k = np.argmax(inside, axis=1)
    rows = np.arange(len(q))
    l1, l2 = l1[rows, k][:, None], l2[rows, k][:, None]
    pa, pb, pc = pts[tris[k, 0]], pts[tris[k, 1]], pts[tris[k, 2]]
    out = pa + l1 * (pb - pa) + l2 * (pc - pa)
    miss = ~inside.any(axis=1)
    if miss.any():
        out[miss] = fallback(q[miss])
    return out


def _signed_areas(pts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def chin_weight(x: np.ndarray) -> np.ndarray:
    """0..1 along a mask's bottom edge by canonical x: 1 around the chin (|x| < 0.45 IOD), 0
    from the jaw's turn towards the cheeks (|x| > 0.7 IOD, landmarks 0..5 and 11..16)."""
    return np.clip((0.7 - np.abs(x)) / 0.25, 0.0, 1.0)


def target_bottom(wear: str) -> np.ndarray:
    """The drawn mask's bottom edge for ``wear`` (left to right, eye-frame units), pushed
    :data:`CHIN_MARGIN` further out around the chin."""
    b = mask_shape(TARGET_FAMILY, wear).bottom
    t = np.gradient(b, axis=0)
    n = np.stack([-t[:, 1], t[:, 0]], axis=1)  # outwards for a left -> right bottom edge
    n /= np.maximum(np.hypot(*n.T), 1e-12)[:, None]
    return b + (CHIN_MARGIN * chin_weight(b[:, 0]))[:, None] * n


def _target_arcs(wear: str) -> list[np.ndarray]:
    """The drawn mask's outline for ``wear`` as four arcs (eye-frame units): left corner to top
    point, top point to right corner, right corner to chin, chin to left corner."""
    top, bottom = mask_shape(TARGET_FAMILY, wear).top, target_bottom(wear)[::-1]
    t = int(np.argmin(np.abs(top[:, 0])))
    b = int(np.argmin(np.abs(bottom[:, 0])))
    return [top[: t + 1], top[t:], bottom[: b + 1], bottom[b:]]


def fit_mask(outline: MaskOutline, wear: str, path: Path) -> Fit:
    """Anchors of a mask PNG from its outline (module doc); AssetError when the map folds."""
    src = [
        outline.top[: outline.top_mid + 1],
        outline.top[outline.top_mid :],
        outline.bottom[: outline.bottom_mid + 1],
        outline.bottom[outline.bottom_mid :],
    ]
    dst = _target_arcs(wear)
    ctrl = np.vstack([resample(d, ARC_POINTS) for d in dst])
    target = np.vstack([resample(s, ARC_POINTS) for s in src])
    tps = ThinPlate(ctrl, target)
    constructions = mask_anchor_constructions()
    canon = AnchorSet(constructions).evaluate(canonical_landmarks(1.0, (0.0, 0.0)))
    pts = tps(canon)
    tris = triangulate(canon)
    ref, got = _signed_areas(canon, tris), _signed_areas(pts, tris)
    scale = float(np.median(got / ref))
    bad = int(((got / ref) < 0.02 * scale).sum()) if scale > 0 else len(tris)
    if bad:
        raise AssetError(
            f"{path}: the fit cannot place this outline ({outline.describe()}): mapping it onto "
            f"the face folds {bad} of {len(tris)} mesh triangles; the mask's outline should be a "
            "convex-ish shape, wider than tall, top edge up"
        )
    bottom = target_bottom(wear)
    slack = chin_weight(bottom[:, 0])
    # the outline through the anchor mesh (not the spline): on a face, the mesh maps it exactly
    # where a drawn mask's edge goes
    edge = mesh_map(bottom, canon, pts, tris, tps)
    top = mesh_map(mask_shape(TARGET_FAMILY, wear).top, canon, pts, tris, tps)
    return Fit(constructions, canon, pts, tris, float(np.sqrt(scale)), edge, slack, top)


def fit_glasses(lenses: Lenses, kind: str, path: Path) -> Fit:
    """Anchors of glasses from their two lens boxes (module doc); AssetError when the lenses
    cannot hold the eye corners."""
    (lx, ly), (rx, ry) = lenses.centers()
    d = np.hypot(rx - lx, ry - ly)
    if d < 8:
        raise AssetError(f"{path}: the two lenses found are {d:.0f} px apart; that is too small")
    # similarity canonical -> PNG: (-LENS_X, y0) -> left centre, (LENS_X, y0) -> right centre
    s = d / (2 * LENS_X)
    cos, sin = (rx - lx) / d, (ry - ly) / d
    rot = s * np.array([[cos, -sin], [sin, cos]])
    y0 = LENS_Y.get(kind, LENS_Y["glasses"])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])

    def to_png(p: np.ndarray) -> np.ndarray:
        return (np.asarray(p, np.float64) - (0.0, y0)) @ rot.T + mid

    constructions = glasses_anchor_constructions()
    lm = canonical_landmarks(1.0, (0.0, 0.0))
    canon = AnchorSet(constructions).evaluate(lm)
    # each lens must hold its eye's two corners (checked in the PNG along the eye line)
    for box, corners, which in ((lenses.left, (36, 39), "left"), (lenses.right, (42, 45), "right")):
        xs = to_png(lm[list(corners)])[:, 0]
        if not (box[0] <= xs.min() and xs.max() <= box[2]):
            raise AssetError(
                f"{path}: the fit cannot place these glasses: the {which} lens found spans "
                f"x {box[0]:.0f}..{box[2]:.0f} px but the eye corners fall at "
                f"{xs.min():.0f}..{xs.max():.0f} px; lenses must be at least ~0.4 of the distance "
                "between their centres wide"
            )
    tris = triangulate(canon)
    return Fit(constructions, canon, to_png(canon), tris, float(s))
