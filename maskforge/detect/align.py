"""Alignment: 5-point templates, similarity transforms and the crops they produce.

All points are ``(x, y)`` pixels with the centre of pixel ``(row i, col j)`` at ``(j, i)``;
transforms are 2x3 float64 matrices mapping source pixels to output pixels (``cv2.warpAffine``).

Templates (``(5, 2)`` points in an ``S x S`` output, order of ``landmarks5``):

- ``arcface``: the standard ArcFace / InsightFace 112x112 template, rescaled to ``S``.
- ``facenet``: where the 5 points fall, on average, in a facenet-pytorch MTCNN crop (margin 0,
  FaceNet-style, unstretched: see :data:`FACENET_UNIT`) -- measured on LFW, see
  docs/detection.md. It is tighter than ArcFace (eyes further apart in the output).
- ``auto``: ``facenet`` for ``size == 160``, else ``arcface``.

``margin`` (a fraction, >= 0) adds a border around the face region: the template is shrunk towards
the output centre by ``1 / (1 + 2 * margin)``, so ``margin = 0.1`` leaves 10 % of the face region
on each side.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, get_args, overload

import cv2
import numpy as np

#: ArcFace 112x112 template (InsightFace), in output pixels.
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

#: Mean 5 points in a FaceNet-style MTCNN crop, as fractions of the side, measured on lfw-dev with
#: facenet-pytorch MTCNN and averaged with the mirror image. MTCNN boxes are ~1.34x taller than wide
#: and facenet-pytorch stretches them to a square; a similarity cannot stretch, so the reference
#: square is the one of the same area centred on the box (side ``sqrt(w * h)``).
FACENET_UNIT = np.array(
    [
        [0.3049, 0.3663],
        [0.6951, 0.3663],
        [0.5000, 0.5964],
        [0.3292, 0.7961],
        [0.6708, 0.7961],
    ],
    dtype=np.float64,
)

#: The alignment template names (:data:`TEMPLATES` is derived from it).
TemplateName = Literal["auto", "arcface", "facenet"]
TEMPLATES: tuple[TemplateName, ...] = get_args(TemplateName)

#: Point weights of the alignment fit (eyes, nose tip, mouth corners). The eyes count double and the
#: nose tip half: the tip stands in front of the face plane and swings with yaw (on lfw-dev its
#: residual is ~3x the eyes'), so it should not pull the eyes off the template. With these weights
#: the mean eye-centre error on lfw-dev drops from 2.0 px (uniform) to 1.35 px at 112x112.
ALIGN_WEIGHTS = np.array([2.0, 2.0, 0.5, 1.0, 1.0])


def template_points(size: int, margin: float = 0.0, template: str = "auto") -> np.ndarray:
    """The ``(5, 2)`` float64 target points for an ``size x size`` output (output pixels)."""
    return _template_points(int(size), float(margin), template).copy()


@lru_cache(maxsize=64)
def _template_points(size: int, margin: float, template: str) -> np.ndarray:
    if size < 8:
        raise ValueError(f"output size must be >= 8 pixels, got {size}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if template == "auto":
        template = "facenet" if size == 160 else "arcface"
    if template == "arcface":
        unit = (ARCFACE_112 + 0.5) / 112.0
    elif template == "facenet":
        unit = FACENET_UNIT
    else:
        raise ValueError(f"unknown template {template!r}; known: {TEMPLATES}")
    pts = unit * size - 0.5
    centre = (size - 1) / 2.0
    return centre + (pts - centre) / (1.0 + 2.0 * margin)


def similarity_transform(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) taking
    ``src`` points to ``dst`` points (optionally with per-point ``weights``).
    Returns a 2x3 float64 matrix.

    Raises ValueError when ``src`` is degenerate (all points coincide) or not finite.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"need matching point sets of >= 2 points, got {src.shape}, {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError("points must be finite")
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(src),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {len(src)} non-negative numbers, not all zero")
    w = w / w.sum()
    # In complex numbers a similarity is z -> c z + t; the weighted least-squares c is closed-form
    # (the 2D case of Umeyama's method, reflections excluded by construction).
    zs = src[:, 0] + 1j * src[:, 1]
    zd = dst[:, 0] + 1j * dst[:, 1]
    mu_s, mu_d = w @ zs, w @ zd
    xs, xd = zs - mu_s, zd - mu_d
    var_s = float(w @ (xs.real**2 + xs.imag**2))
    if var_s < 1e-8:
        raise ValueError("source points are degenerate (they all coincide)")
    c = (w @ (np.conj(xs) * xd)) / var_s
    t = mu_d - c * mu_s
    return np.array([[c.real, -c.imag, t.real], [c.imag, c.real, t.imag]], dtype=np.float64)


@overload
def apply_transform(m: np.ndarray, points: np.ndarray) -> np.ndarray: ...
@overload
def apply_transform(m: np.ndarray, points: None) -> None: ...
def apply_transform(m: np.ndarray, points: np.ndarray | None) -> np.ndarray | None:
    """Map ``(K, 2)`` points by a 2x3 affine matrix (``dst = m @ [x, y, 1]``); returns float32
    ``(K, 2)`` (None for None). The one point transform of maskforge (detect and augment)."""
    if points is None:
        return None
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)


def invert_transform(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix (output -> source), float64."""
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


@overload
def transform_box(m: np.ndarray, box: np.ndarray) -> np.ndarray: ...
@overload
def transform_box(m: np.ndarray, box: None) -> None: ...
def transform_box(m: np.ndarray, box: np.ndarray | None) -> np.ndarray | None:
    """Axis-aligned bounds (float32 ``(4,)`` xyxy) of a box's four corners mapped by ``m``
    (None for None)."""
    if box is None:
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    corners = apply_transform(m, np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]))
    return np.concatenate([corners.min(0), corners.max(0)]).astype(np.float32)


def mirror_box(box: np.ndarray | None, width: int) -> np.ndarray | None:
    """A box of a horizontally flipped image of ``width`` pixels: ``x -> width - 1 - x``
    (float32 xyxy; None for None)."""
    if box is None:
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([width - 1 - x2, y1, width - 1 - x1, y2], dtype=np.float32)


def warp(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Warp ``image`` into a ``size x size`` output with ``m`` (bilinear; outside pixels black)."""
    out = cv2.warpAffine(
        image,
        m,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.ascontiguousarray(out)


def align_face(
    image: np.ndarray,
    landmarks5: np.ndarray,
    size: int = 112,
    margin: float = 0.0,
    template: str = "auto",
    weights: np.ndarray | None = ALIGN_WEIGHTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Align a face to the 5-point template by a (weighted least-squares) similarity transform.

    Args:
        image: ``(H, W, 3)`` uint8 RGB source image.
        landmarks5: ``(5, 2)`` source pixels (order of docs/architecture.md).
        size: output side in pixels (112 = ArcFace template, 160 = FaceNet-style crop).
        margin: extra border as a fraction of the face region (see module docstring).
        template: ``auto``, ``arcface`` or ``facenet``.
        weights: per-point weights of the fit (default :data:`ALIGN_WEIGHTS`; ``None``: uniform,
            the plain InsightFace-style fit).

    Returns:
        ``(crop, M)``: the ``(size, size, 3)`` uint8 crop and the 2x3 float64 source -> output
        matrix. Parts of the crop outside the source image are black.

    Raises:
        ValueError: degenerate or non-finite landmarks, bad size/margin/template.
    """
    m = similarity_transform(
        landmarks5, _template_points(int(size), float(margin), template), weights
    )
    return warp(image, m, size), m


def box_crop_transform(box: np.ndarray, size: int, margin: float = 0.0) -> np.ndarray:
    """The 2x3 matrix of the unaligned crop: the box grown by ``margin`` (fraction of its larger
    side, on each side), made square around its centre (aspect ratio kept), scaled to ``size``."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    if not np.isfinite(side) or side <= 0:
        raise ValueError(f"box {box!r} is empty")
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    scale = size / side
    c_out = (size - 1) / 2.0
    return np.array(
        [[scale, 0.0, c_out - scale * cx], [0.0, scale, c_out - scale * cy]], dtype=np.float64
    )


def crop_box(
    image: np.ndarray, box: np.ndarray, size: int = 112, margin: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Unaligned crop (``align = false``): square box + margin resized to ``size``.

    Returns ``(crop, M)`` like :func:`align_face`.
    """
    m = box_crop_transform(box, size, margin)
    return warp(image, m, size), m


def outside_fraction(
    m: np.ndarray, size: int, image_shape: tuple[int, int], grid: int = 16
) -> float:
    """Fraction of a ``size x size`` output (sampled on a ``grid x grid`` lattice of pixel centres)
    whose source position, by the inverse of ``m``, falls outside an image of ``(H, W)``."""
    h, w = image_shape[:2]
    inv = invert_transform(m)

    def inside(pts: np.ndarray) -> np.ndarray:
        x, y = pts[:, 0], pts[:, 1]
        return (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)

    # the output maps to a parallelogram: inside the image iff its four corners are (common case)
    e = size - 0.5
    if inside(apply_transform(inv, np.array([[-0.5, -0.5], [e, -0.5], [e, e], [-0.5, e]]))).all():
        return 0.0
    ticks = (np.arange(grid) + 0.5) * size / grid - 0.5
    xs, ys = np.meshgrid(ticks, ticks)
    src = apply_transform(inv, np.stack([xs.ravel(), ys.ravel()], axis=1))
    return float(1.0 - inside(src).mean())
