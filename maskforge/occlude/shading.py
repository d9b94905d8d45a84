"""Surface detail of the drawn masks: fabric grain, pleat and fold shading, cup lighting.

All functions take per-pixel fields of a :class:`~maskforge.occlude.canvas.Canvas` (template
pixels ``px``/``py``, eye-frame units ``x``/``y``, distances in template px) and return float32
shading terms. Sizes are chosen to survive the downscale to a 112 px aligned face (about 35 px
between the eyes, 4.3x smaller than the 150 px template): a fold is at least 0.05 IOD wide.
Grain comes from an integer hash (no random generator, no platform-dependent maths), so the
build stays byte-for-byte reproducible.
"""

from __future__ import annotations

import numpy as np

_M1, _M2, _M3 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35), np.uint32(0x27D4EB2F)


def _hash(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Values in [-1, 1] from integer lattice coordinates (a 32-bit integer mix)."""
    with np.errstate(over="ignore"):
        h = ix.astype(np.uint32) * _M1 ^ iy.astype(np.uint32) * _M2 ^ np.uint32(seed) * _M3
        h ^= h >> np.uint32(15)
        h *= _M1
        h ^= h >> np.uint32(13)
        h *= _M2
        h ^= h >> np.uint32(16)
    return (h >> np.uint32(8)).astype(np.float32) / np.float32(1 << 23) - np.float32(1.0)


def value_noise(px: np.ndarray, py: np.ndarray, cell: float, seed: int) -> np.ndarray:
    """Smooth noise in [-1, 1] with features of ``cell`` template px (bilinear, smoothstep)."""
    gx, gy = px / np.float32(cell), py / np.float32(cell)
    ix, iy = np.floor(gx), np.floor(gy)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    ix, iy = ix.astype(np.int64) + (1 << 20), iy.astype(np.int64) + (1 << 20)
    a, b = _hash(ix, iy, seed), _hash(ix + 1, iy, seed)
    c, d = _hash(ix, iy + 1, seed), _hash(ix + 1, iy + 1, seed)
    top = a + (b - a) * fx
    return (top + (c + (d - c) * fx - top) * fy).astype(np.float32)


def grain(px: np.ndarray, py: np.ndarray, amount: float, seed: int) -> np.ndarray:
    """Non-woven fabric grain: fine speckle plus a faint mottle, ``amount`` peak shading."""
    fine = value_noise(px, py, 1.6, seed)
    mottle = value_noise(px, py, 9.0, seed + 1)
    return np.float32(amount) * (0.65 * fine + 0.35 * mottle)


def pleats(v: np.ndarray, height: np.ndarray, iod: float, lines: tuple[float, ...]) -> np.ndarray:
    """Shading of horizontal pleats folded downwards at ``lines`` (fractions 0..1 of the mask's
    height ``v``): a cast shadow under each fold line fading over 0.06 IOD, and a rounded
    highlight on the fold's lip just above it."""
    out = np.zeros_like(v)
    for vk in lines:
        d = (v - vk) * height  # template px below the fold line
        below = np.maximum(d, 0)
        shadow = np.exp(-below / (0.06 * iod)) * (d > -0.004 * iod)
        lip = np.exp(-(((d + 0.035 * iod) / (0.03 * iod)) ** 2))
        out += -0.26 * shadow + 0.09 * lip
    return out.astype(np.float32)


def folds(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Soft diagonal wrinkles of a cloth mask (eye-frame units in, shading out)."""
    w = np.sin((x * 1.3 + y * 0.8) * 5.0) * np.sin((x * -0.7 + y * 1.1) * 3.2 + 0.6)
    return (0.07 * w).astype(np.float32)


def top_edge_darkening(dist_top: np.ndarray, iod: float) -> np.ndarray:
    """The fabric turning away from the light along the top edge (negative shading)."""
    return (-0.10 * np.exp(-np.maximum(dist_top, 0) / (0.045 * iod))).astype(np.float32)


def contact_shadow(dist_top: np.ndarray, iod: float, strength: float = 0.30) -> np.ndarray:
    """Opacity of the soft shadow the mask's top edge casts on the skin just above it
    (``dist_top`` < 0 there), fading over 0.02 IOD (under the 0.04 alpha floor, i.e. gone,
    0.04 IOD above the edge, so it never reaches the eyes)."""
    above = np.maximum(-dist_top, 0)
    return (strength * np.exp(-above / (0.02 * iod)) * (dist_top < 1.0)).astype(np.float32)


LIGHT = np.array([-0.45, -0.5, 0.74], np.float32) / np.float32(np.linalg.norm([-0.45, -0.5, 0.74]))


def dome(
    x: np.ndarray, y: np.ndarray, cx: float, cy: float, ax: float, ay: float, depth: float = 0.45
):
    """Diffuse (0..1) and specular (0..1) lighting of a moulded cup: the height field
    ``depth * (1 - ((x - cx) / ax)^2 - ((y - cy) / ay)^2)`` (eye-frame units) lit by
    :data:`LIGHT` (upper left, front) and seen from the front; the specular lobe falls off with
    the Blinn-Phong exponent 16, so the highlight sits upper left of the cup's centre."""
    gx = 2.0 * depth * (x - cx) / (ax * ax)
    gy = 2.0 * depth * (y - cy) / (ay * ay)
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    nx, ny, nz = gx / norm, gy / norm, 1.0 / norm
    diffuse = np.clip(nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2], 0, 1)
    half = LIGHT + np.array([0, 0, 1], np.float32)
    half = half / np.float32(np.linalg.norm(half))
    spec = np.clip(nx * half[0] + ny * half[1] + nz * half[2], 0, 1) ** 16
    return diffuse.astype(np.float32), spec.astype(np.float32)
