"""Procedural drawing of the project's occluder PNGs (the definitions behind ``mask_assets/``).

Every asset is drawn in its *template frame*: the canonical face (:mod:`.anchors`) scaled to
inter-ocular distance :data:`MASK_IOD` (masks, 512x512 px, eye midpoint at (256, 90)) or
:data:`GLASSES_IOD` (glasses, 512x256 px, eye midpoint at (256, 128)). Drawing happens at 2x and is
area-downsampled, so edges are anti-aliased. The output of a drawing is premultiplied
``rgb`` (H, W, 3) float32 in [0, 1], ``alpha`` (H, W) and ``colorw`` (H, W): how much each pixel
takes the user's colour/texture (colourable parts are drawn as white-based shading).
Everything here is deterministic (no randomness at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..vocab import WEARS
from .anchors import canonical_landmarks
from .canvas import (
    GLASSES_IOD,
    GLASSES_ORIGIN,
    MASK_IOD,
    MASK_ORIGIN,
    MASK_SIZE,
    SS,
    Canvas,
    Drawing,
    ridge,
    smooth_step,
)
from .draw_glasses import draw_glasses
from .palette import PRESETS
from .shading import contact_shadow, dome, folds, grain, pleats, top_edge_darkening


def catmull(points: list[tuple[float, float]], n: int = 24) -> np.ndarray:
    """Centripetal-free (uniform) Catmull-Rom curve through ``points``; (M, 2) float64."""
    p = np.asarray(points, np.float64)
    p = np.vstack([p[0] * 2 - p[1], p, p[-1] * 2 - p[-2]])
    out = []
    t = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (
                (2 * p1)
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(p[-2][None])
    return np.vstack(out)


def curve_y(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y of a curve (sorted by x) at ``x`` by linear interpolation between dense samples."""
    order = np.argsort(points[:, 0], kind="stable")
    return np.interp(x, points[order, 0], points[order, 1]).astype(np.float32)


# --------------------------------------------------------------------------------------- masks

_C = canonical_landmarks(1.0, (0.0, 0.0))  # eye-frame units
#: How far (IOD) a mask's lower edge sits outside the jaw line: only around the chin (points
#: 5..11), so the mask closes under the chin without spilling past the cheeks.
JAW_MARGIN = 0.014
_MARGIN_WEIGHT = np.array([0, 0, 0, 0, 0.3, 0.7, 1, 1, 1, 1, 1, 0.7, 0.3, 0, 0, 0, 0])


def _jaw_outline(margin: float = JAW_MARGIN) -> np.ndarray:
    """The jaw line 0..16 pushed outwards (from the nose tip) by ``margin`` around the chin,
    densely sampled."""
    jaw = _C[0:17]
    d = jaw - _C[30]
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return catmull([tuple(p) for p in jaw + (margin * _MARGIN_WEIGHT)[:, None] * d], n=16)


def _side(jaw: np.ndarray, y: float, left: bool) -> tuple[float, float]:
    half = jaw[jaw[:, 0] < 0] if left else jaw[jaw[:, 0] > 0]
    order = np.argsort(half[:, 1])
    x = float(np.interp(y, half[order, 1], half[order, 0]))
    return (x, y)


# Top edges (left half, from the side point to the centre), per family and wear, in IOD units.
_TOPS: dict[tuple[str, str], tuple[float, list[tuple[float, float]]]] = {
    ("surgical", "correct"): (
        0.43,
        [(-0.85, 0.40), (-0.5, 0.36), (-0.22, 0.30), (-0.08, 0.24), (0.0, 0.225)],
    ),
    ("cloth", "correct"): (0.40, [(-0.85, 0.38), (-0.5, 0.33), (-0.2, 0.25), (0.0, 0.20)]),
    ("kn95", "correct"): (0.45, [(-0.8, 0.40), (-0.45, 0.31), (-0.15, 0.24), (0.0, 0.20)]),
    ("n95", "correct"): (
        1.06,
        [(-0.97, 0.75), (-0.85, 0.50), (-0.6, 0.34), (-0.3, 0.26), (0.0, 0.22)],
    ),
    ("*", "nose_exposed"): (0.80, [(-0.7, 0.83), (-0.35, 0.855), (0.0, 0.865)]),
    ("n95", "nose_exposed"): (1.18, [(-0.92, 0.95), (-0.7, 0.86), (-0.35, 0.855), (0.0, 0.865)]),
    ("*", "chin"): (1.34, [(-0.6, 1.43), (-0.3, 1.455), (0.0, 1.46)]),
}
_CHIN_BOTTOM = [(-0.80, 1.62), (-0.66, 1.95), (-0.38, 2.22), (0.0, 2.30)]


@dataclass
class MaskShape:
    """A mask region: for x in [xl, xr] (IOD units) it spans y from top(x) to bottom(x)."""

    xl: float
    xr: float
    top: np.ndarray  # dense curve (M, 2)
    bottom: np.ndarray


def mask_shape(family: str, wear: str) -> MaskShape:
    jaw = _jaw_outline()
    side_y, pts = _TOPS.get((family, wear)) or _TOPS[("*", wear)]
    sl = _side(jaw, side_y, left=True)
    sr = (-sl[0], sl[1])
    top = catmull([sl, *pts, *[(-x, y) for x, y in reversed(pts[:-1])], sr])
    if wear == "chin":
        bottom = catmull(
            [sl, *_CHIN_BOTTOM, *[(-x, y) for x, y in reversed(_CHIN_BOTTOM[:-1])], sr]
        )
    else:
        bottom = jaw[(jaw[:, 1] >= side_y - 1e-9)]
        bottom = np.vstack([[sl], bottom, [sr]])
    return MaskShape(sl[0], sr[0], top, bottom)


def _mask_fields(cv: Canvas, shape: MaskShape):
    """Per-pixel coverage, s (-1..1 across), v (0..1 down), height (template px)."""
    t = curve_y(shape.top, cv.x)
    b = curve_y(shape.bottom, cv.x)
    inside_x = np.minimum(cv.x - shape.xl, shape.xr - cv.x) * cv.iod
    d = np.minimum(np.minimum(cv.y - t, b - cv.y) * cv.iod, inside_x)
    cover = smooth_step(d, 1.0)
    height = np.maximum((b - t) * cv.iod, 1e-3)
    v = np.clip((cv.y - t) * cv.iod / height, 0, 1)
    s = np.clip(2 * (cv.x - shape.xl) / (shape.xr - shape.xl) - 1, -1, 1)
    dist_top = (cv.y - t) * cv.iod
    dist_bottom = (b - cv.y) * cv.iod
    return cover, s, v, height, dist_top, dist_bottom


def _ear_loops(cv: Canvas, shape: MaskShape, color=(0.93, 0.93, 0.93)) -> None:
    for sign in (-1.0, 1.0):
        x0, y0 = (shape.xl, shape.top[0, 1]) if sign < 0 else (shape.xr, shape.top[-1, 1])
        end = (sign * 1.085, min(y0 - 0.28, 0.16))
        curve = catmull([(x0 + 0.01 * -sign, y0), (sign * 1.10, (y0 + end[1]) / 2), end], n=20)
        pts = np.round((curve * cv.iod + np.asarray(cv.origin)) * SS * 16).astype(np.int32)
        img = np.zeros(cv.a.shape, np.uint8)
        cv2.polylines(
            img,
            [pts],
            False,
            255,
            thickness=max(1, int(0.022 * cv.iod * SS)),
            lineType=cv2.LINE_AA,
            shift=4,
        )
        cv.paint(img.astype(np.float32) / 255.0, color, 1.0, colorw=0.0)


def _shadow_above(cv: Canvas, shape: MaskShape, dt: np.ndarray) -> None:
    """The soft contact shadow the top edge casts on the skin (black, not colourable); none
    where the edge is pressed onto the nose bridge (|x| < 0.3 IOD, close to the inner eye
    corners) or at the sides."""
    inside = np.minimum(cv.x - shape.xl, shape.xr - cv.x)
    fade = np.clip(inside / 0.12, 0.0, 1.0) * np.clip((np.abs(cv.x) - 0.3) / 0.2, 0.0, 1.0)
    cv.paint(contact_shadow(dt, cv.iod) * fade, (0.0, 0.0, 0.0), 1.0, colorw=0.0)


def _mask_shade(family: str, cv: Canvas, shape: MaskShape, fields) -> tuple[np.ndarray, np.ndarray]:
    """White-based shading (0..1) of a mask's fabric and its specular highlight (0..1)."""
    cover, s, v, height, dt, db = fields
    iod = cv.iod
    spec = np.zeros_like(cover)
    edge = np.minimum(np.minimum(dt, db), np.minimum(cv.x - shape.xl, shape.xr - cv.x) * iod)
    if family == "surgical":
        shade = (1.0 - 0.20 * s**2) * (1.0 - 0.10 * v**2) + pleats(v, height, iod, (0.30, 0.52, 0.74))
        shade = (
            shade
            - 0.10 * ridge(dt, 0.055 * iod, 0.006 * iod)
            - 0.10 * ridge(db, 0.055 * iod, 0.006 * iod)
        )
        shade = shade + 0.06 * (np.abs(cv.x) < 0.22) * ridge(dt, 0.02 * iod, 0.012 * iod)
        shade = shade + grain(cv.px, cv.py, 0.05, 1)
    elif family == "n95":
        cy = float(shape.top[len(shape.top) // 2, 1] + shape.bottom[len(shape.bottom) // 2, 1]) / 2
        diffuse, spec = dome(cv.x, cv.y, 0.0, cy, 1.05, 0.95)
        shade = 0.26 + 0.68 * diffuse - 0.05 * v
        shade = (  # the moulded rim: a groove 0.06 IOD in, a raised lip at the edge
            shade
            - 0.16 * ridge(edge, 0.065 * iod, 0.02 * iod)
            + 0.07 * ridge(edge, 0.025 * iod, 0.015 * iod)
        )
        shade = shade + grain(cv.px, cv.py, 0.035, 2)
        spec = 0.55 * spec
    elif family == "kn95":
        # two panels folded at the centre seam, each curving away towards the cheek
        panel = np.abs(cv.x) / max(shape.xr, 1e-6)
        facing = np.where(cv.x < 0, 0.84, 1.0)
        shade = facing * (1.0 - 0.22 * panel**2) * (1.0 - 0.10 * v**2)
        shade = shade - 0.30 * ridge(np.abs(cv.x) * iod, 0.0, 0.008 * iod)
        shade = shade - 0.12 * np.exp(-np.abs(cv.x) * iod / (0.05 * iod))  # the fold's valley
        stitch = ridge(edge, 0.035 * iod, 0.006 * iod) * (np.sin(cv.px * 0.6) > 0)
        shade = shade - 0.16 * stitch + grain(cv.px, cv.py, 0.035, 3)
        band = np.exp(-(((panel - 0.38) / 0.16) ** 2)) * np.exp(-(((v - 0.42) / 0.35) ** 2))
        spec = np.where(cv.x < 0, 0.18, 0.40) * band
    elif family == "cloth":
        seam_x = 0.03 * np.sin((cv.y - 0.2) * 2.2)
        seam = np.abs(cv.x - seam_x) * iod
        weave = 0.035 * np.sin(cv.px * 2.1) * np.sin(cv.py * 2.1)
        shade = (1.0 - 0.26 * s**2) * (1.0 - 0.12 * v**2) + weave + folds(cv.x, cv.y)
        shade = (
            shade
            - 0.22 * ridge(seam, 0.0, 0.006 * iod)
            + 0.05 * ridge(seam, 0.015 * iod, 0.01 * iod)
        )
        shade = shade - 0.08 * ridge(np.minimum(dt, db), 0.04 * iod, 0.005 * iod)
        shade = shade + grain(cv.px, cv.py, 0.05, 4)
    else:
        raise ValueError(f"no drawing for mask family {family!r}")
    return shade + top_edge_darkening(dt, iod), spec


def draw_mask(family: str, wear: str) -> Drawing:
    cv = Canvas(MASK_SIZE, MASK_IOD, MASK_ORIGIN)
    shape = mask_shape(family, wear)
    fields = _mask_fields(cv, shape)
    cover, dt = fields[0], fields[4]
    if wear != "chin":  # pulled down, the top edge stands off the chin: no contact shadow
        _shadow_above(cv, shape, dt)
    shade, spec = _mask_shade(family, cv, shape, fields)
    base = {"surgical": "fabric", "n95": "shell", "kn95": "panels", "cloth": "fabric"}
    parts = [base[family]]
    grey = np.clip(shade, 0.0, 1.0)[..., None].repeat(3, axis=2)
    cv.paint(cover, grey, 1.0, colorw=1.0)
    if spec.any():  # a white highlight over any colour: not colourable
        cv.paint(cover * np.clip(spec, 0, 1), (1.0, 1.0, 1.0), 1.0, colorw=0.0)
    if family in ("surgical", "kn95"):
        _ear_loops(cv, shape)
        parts = parts + ["ear loops (fixed)"]
    if family == "n95" and wear == "correct":
        iod = cv.iod
        clip = (np.abs(cv.x) < 0.16) * smooth_step(
            np.minimum(dt - 0.015 * iod, 0.05 * iod - dt), 1.0
        )
        cv.paint(clip * cover, (0.72, 0.73, 0.75), 1.0, colorw=0.0)
        parts = parts + ["nose clip (fixed)"]
    return cv.result(parts)


# ------------------------------------------------------------------------------------- anchors


def _outward(j: int, dist: float) -> dict:
    """Jaw landmark ``j`` plus ``dist`` IOD along the canonical outward direction (from the nose
    tip), as an eye-frame offset."""
    d = _C[j] - _C[30]
    d = d / np.linalg.norm(d) * dist
    return {"lm": j, "eye": [round(float(d[0]), 4), round(float(d[1]), 4)]}


def mask_anchor_constructions() -> list[dict]:
    """Anchors shared by all project masks (see :mod:`.anchors` for the forms)."""
    out: list[dict] = [{"lm": i} for i in range(17)]
    out += [{"lm": i} for i in (27, 28, 29, 30, 31, 33, 35, 36, 39, 40, 41, 42, 45, 46, 47)]
    out += [{"lm": i} for i in (48, 51, 54, 57)]
    # outer rings: each jaw point pushed outwards by a fixed fraction of the inter-ocular
    # distance (eye-frame offsets stay rigid on turned heads, where the far-side jaw nears the nose)
    out += [_outward(i, 0.28) for i in range(17)]
    out += [_outward(i, 0.8) for i in range(3, 14)]
    out += [
        {"lm": 27, "eye": [0.0, -0.4]},
        {"lm": 36, "eye": [-0.2, -0.35]},
        {"lm": 45, "eye": [0.2, -0.35]},
        {"lm": 39, "eye": [0.0, -0.3]},
        {"lm": 42, "eye": [0.0, -0.3]},
    ]
    return out


def glasses_anchor_constructions() -> list[dict]:
    """Anchors of glasses: eye corners and nose bridge, rigid (IOD-scaled) vertically."""
    out: list[dict] = []
    for c in (36, 39, 42, 45):
        out += [{"lm": c}, {"lm": c, "eye": [0.0, -0.5]}, {"lm": c, "eye": [0.0, 0.5]}]
    out += [{"lm": 27}, {"lm": 27, "eye": [0.0, -0.5]}, {"lm": 27, "eye": [0.0, 0.5]}]
    # temples: rigid offsets beyond the outer eye corners (foreshortened per side at render
    # time from that eye's width, so the far-side temple stays on the face)
    for c, sign in ((36, -1.0), (45, 1.0)):
        for dx in (0.25, 0.55):
            out += [{"lm": c, "eye": [sign * dx, -0.5]}, {"lm": c, "eye": [sign * dx, 0.5]}]
    return out


@dataclass(frozen=True)
class AssetDef:
    """A project-drawn asset variant."""

    family: str
    kind: str
    wear: str
    default_color: str

    @property
    def name(self) -> str:
        return self.family if self.wear == "correct" else f"{self.family}.{self.wear}"


def asset_defs() -> list[AssetDef]:
    """All project assets, in build order."""
    defs = []
    for fam, preset in (  # default colours: as real masks photograph (palette.PRESETS)
        ("surgical", "surgical-blue"),
        ("n95", "n95"),
        ("kn95", "kn95"),
        ("cloth", "cloth-black"),
    ):
        color = PRESETS[preset][1] or "#ffffff"
        for wear in WEARS:
            defs.append(AssetDef(fam, "mask", wear, color))
    defs.append(AssetDef("glasses", "glasses", "correct", "#1e1e1e"))
    defs.append(AssetDef("sunglasses", "sunglasses", "correct", "#111111"))
    return defs


def draw_asset(d: AssetDef) -> tuple[Drawing, list[dict], float, tuple[float, float]]:
    """Drawing, anchor constructions, template IOD and template eye-midpoint of an asset."""
    if d.kind == "mask":
        return draw_mask(d.family, d.wear), mask_anchor_constructions(), MASK_IOD, MASK_ORIGIN
    return draw_glasses(d.family), glasses_anchor_constructions(), GLASSES_IOD, GLASSES_ORIGIN
