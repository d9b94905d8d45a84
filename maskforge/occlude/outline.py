"""Reading a user's occluder PNG: its alpha, the outline of a mask, the lenses of glasses.

Everything here works in the PNG's own pixel frame (x right, y down, pixel centres at integer
coordinates, docs/architecture.md). Problems are :class:`~maskforge.errors.AssetError` with one
message saying what was found and what to do.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import AssetError
from ..io.decode import DEFAULT_MAX_PIXELS
from ..io.inputs import InputFileError, read_input

#: Largest occluder PNG read (pixels, from its header, before decoding): a size bomb is refused.
MAX_ASSET_PIXELS = DEFAULT_MAX_PIXELS

#: Alpha (0..1) from which a pixel is part of the outline (as in the rendered occlusion mask).
OPAQUE = 0.5
#: A piece of alpha smaller than this share of the opaque area is a speck, not a piece.
SPECK = 0.005
#: Thin parts (straps, loops) narrower than this share of the width are left out of the outline.
STRAP = 0.04


def read_rgba(path: Path) -> np.ndarray:
    """(H, W, 4) uint8 straight-alpha RGBA of a PNG that has transparency; AssetError when it
    cannot be read or has no alpha channel."""
    try:
        data = read_input(path)
    except InputFileError as exc:
        raise AssetError(f"{path} cannot be read: {exc.detail}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > MAX_ASSET_PIXELS:
                    raise AssetError(
                        f"{path} is {w}x{h} pixels, over the {MAX_ASSET_PIXELS}-pixel limit of an "
                        "occluder PNG; scale it down (2000 px across is plenty)"
                    )
                mode, has_trns = im.mode, "transparency" in im.info
                rgba = np.asarray(im.convert("RGBA"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AssetError(
            f"{path} is too large to be an occluder PNG ({exc}); scale it down (2000 px across is plenty)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise AssetError(f"{path} cannot be read as an image: {exc}") from exc
    if mode not in ("RGBA", "LA", "PA", "La", "RGBa") and not has_trns:
        raise AssetError(
            f"{path} has no alpha channel (mode {mode}): save the occluder as a PNG with "
            "transparency around it"
        )
    return np.ascontiguousarray(rgba)


def check_alpha(alpha: np.ndarray, path: Path, kind: str) -> None:
    """Refuse an alpha that is empty, fully opaque, or (for a mask) in several pieces."""
    opaque = alpha >= OPAQUE
    n, total = int(opaque.sum()), alpha.size
    if n == 0:
        raise AssetError(
            f"{path}: the alpha channel is empty (no pixel is more than half opaque); "
            "the occluder must be opaque on a transparent background"
        )
    if n >= 0.99 * total:
        raise AssetError(
            f"{path}: the alpha channel is opaque almost everywhere ({n / total:.1%} of the "
            "pixels); cut the occluder out so the background is transparent"
        )
    if kind != "mask":
        return
    count, _, stats, _ = cv2.connectedComponentsWithStats(opaque.astype(np.uint8), connectivity=8)
    areas = sorted((int(a) for a in stats[1:count, cv2.CC_STAT_AREA]), reverse=True)
    pieces = [a for a in areas if a >= SPECK * n]
    if len(pieces) > 1:
        raise AssetError(
            f"{path}: the mask's alpha is in {len(pieces)} separate pieces (areas "
            f"{', '.join(str(a) for a in pieces[:5])} px); a mask must be one piece: "
            "join the pieces or erase the extra ones"
        )


def body(alpha: np.ndarray) -> np.ndarray:
    """(H, W) uint8 0/1: the largest opaque piece without thin parts (straps, loops)."""
    opaque = (alpha >= OPAQUE).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opaque, connectivity=8)
    main = (labels == 1 + int(np.argmax(stats[1:count, cv2.CC_STAT_AREA]))).astype(np.uint8)
    width = int(stats[1:count, cv2.CC_STAT_WIDTH].max())
    k = max(3, int(round(STRAP * width)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    opened = cv2.morphologyEx(main, cv2.MORPH_OPEN, disc)
    if opened.sum() < 0.5 * main.sum():  # the whole mask is thin: keep it as it is
        return main
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    core = (labels == 1 + int(np.argmax(stats[1:count, cv2.CC_STAT_AREA]))).astype(np.uint8)
    # grow back what the opening rounded off (corners), but not the thin parts' length
    return main & cv2.dilate(core, disc)


@dataclass
class MaskOutline:
    """A mask's outline split at its four key points (PNG px): ``top`` runs from the left
    corner through the top point (nose bridge) to the right corner; ``bottom`` from the right
    corner through the bottom point (chin) back to the left corner. ``top_mid`` / ``bottom_mid``
    are the indices of the top and bottom points in their chains."""

    top: np.ndarray  # (N, 2) float64
    bottom: np.ndarray  # (M, 2) float64
    top_mid: int
    bottom_mid: int

    def describe(self) -> str:
        (lx, ly), (rx, ry) = self.top[0], self.top[-1]
        tx, ty = self.top[self.top_mid]
        bx, by = self.bottom[self.bottom_mid]
        return (
            f"corners at ({lx:.0f}, {ly:.0f}) and ({rx:.0f}, {ry:.0f}), top at ({tx:.0f}, {ty:.0f}), "
            f"bottom at ({bx:.0f}, {by:.0f}) px"
        )


def _extreme(chain: np.ndarray, axis: int, sign: float, tol: float, pick: int) -> int:
    """Index in ``chain`` of the point most extreme along ``sign * axis`` (within ``tol`` px of
    the extreme; among those, the one with the smallest (pick=-1 -> topmost / leftmost) or median
    (pick=0) coordinate on the other axis)."""
    v = sign * chain[:, axis]
    near = np.flatnonzero(v >= v.max() - tol)
    other = chain[near, 1 - axis]
    if pick < 0:
        return int(near[np.argmin(other)])
    return int(near[np.argsort(other, kind="stable")[len(near) // 2]])


def mask_outline(body_mask: np.ndarray, path: Path) -> MaskOutline:
    """Split the outline of ``body_mask`` at the left and right corners (the topmost of the
    leftmost / rightmost points), the top point (highest point of the top edge) and the bottom
    point (lowest point of the bottom edge)."""
    contours, _ = cv2.findContours(body_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(contours, key=len).reshape(-1, 2).astype(np.float64)
    w = float(np.ptp(c[:, 0])) + 1
    h = float(np.ptp(c[:, 1])) + 1
    if w < 16 or h < 8 or len(c) < 40:
        raise AssetError(
            f"{path}: the mask's outline is too small to fit ({w:.0f} x {h:.0f} px); "
            "use an image where the mask is at least 64 px wide"
        )
    left = _extreme(c, 0, -1.0, 0.03 * w, -1)
    right = _extreme(c, 0, 1.0, 0.03 * w, -1)
    # the two chains between the corners; the top one has the smaller mean y
    a, b = sorted((left, right))
    one = c[a : b + 1]
    two = np.vstack([c[b:], c[: a + 1]])
    top, bottom = (one, two) if one[:, 1].mean() < two[:, 1].mean() else (two, one)
    if np.allclose(top[0], c[right]):
        top = top[::-1]
    if np.allclose(bottom[0], c[left]):
        bottom = bottom[::-1]
    if len(top) < 8 or len(bottom) < 8:
        raise AssetError(
            f"{path}: cannot tell the mask's top edge from its bottom edge (corners found at "
            f"{c[left].tolist()} and {c[right].tolist()} px); a mask is wider than it is tall "
            "with its top edge up"
        )
    top_mid = _extreme(top, 1, -1.0, 0.02 * h, 0)
    bottom_mid = _extreme(bottom, 1, 1.0, 0.02 * h, 0)
    out = MaskOutline(top, bottom, top_mid, bottom_mid)
    if not (0 < top_mid < len(top) - 1 and 0 < bottom_mid < len(bottom) - 1):
        raise AssetError(
            f"{path}: the fit cannot place this outline ({out.describe()}): its highest or "
            "lowest point is a corner; a mask's top edge must rise to the nose and its bottom "
            "edge dip to the chin between the two sides"
        )
    return out


def resample(chain: np.ndarray, n: int) -> np.ndarray:
    """``n`` points at equal arc length along ``chain`` (N, 2), first point included, last
    point excluded."""
    seg = np.hypot(*np.diff(chain, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], n, endpoint=False)
    return np.stack([np.interp(t, s, chain[:, 0]), np.interp(t, s, chain[:, 1])], axis=1)


@dataclass
class Lenses:
    """Two lens boxes (x0, y0, x1, y1) in PNG px, the image's left lens first."""

    left: tuple[float, float, float, float]
    right: tuple[float, float, float, float]

    def centers(self) -> np.ndarray:
        return np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in (self.left, self.right)])


def find_lenses(alpha: np.ndarray, path: Path) -> Lenses:
    """The two lens regions of glasses: the silhouette (frame plus lenses, holes filled) is
    tall over the lenses and low over the bridge and the temples; each run of columns at least
    half the silhouette's height is a lens."""
    sil = (alpha >= 0.25).astype(np.uint8)
    h, w = sil.shape
    pad = np.pad(sil, 1)
    flood = pad.copy()
    cv2.floodFill(flood, None, (0, 0), 2)
    sil = (flood[1:-1, 1:-1] != 2).astype(np.uint8)  # opaque or enclosed by the frame
    cols = sil.sum(0)
    tall = cols >= 0.5 * cols.max()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], tall.astype(np.int8), [0]])))
    runs = [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]
    runs = [r for r in runs if r[1] - r[0] >= 0.05 * w]
    if len(runs) != 2:
        raise AssetError(
            f"{path}: found {len(runs)} lens regions (column runs where the frame is at least "
            "half its full height), glasses need two lenses joined by a bridge; check that the "
            "frame is opaque and the image holds one pair of glasses"
        )
    boxes = []
    for x0, x1 in runs:
        rows = np.flatnonzero(sil[:, x0:x1].any(axis=1))
        boxes.append((float(x0), float(rows[0]), float(x1 - 1), float(rows[-1])))
    return Lenses(boxes[0], boxes[1])
