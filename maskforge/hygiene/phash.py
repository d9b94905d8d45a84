"""Perceptual hash (DCT pHash) of an image and Hamming distances between hashes.

The hash of an RGB uint8 ``HxWx3`` image (or a grey ``HxW`` one): luma (BT.601), resized with area
averaging to 32x32, 2-D DCT-II, the 8x8 lowest frequencies (DC included), each bit = coefficient
above the median of those 64, packed row-major into one unsigned 64-bit integer (bit 63 = the DC
term). A re-encode, a resize or a crop of a few percent moves only low frequencies a little, so
the Hamming distance between the hashes stays small; different photos differ in about half the
bits. Thresholds are calibrated in docs/cleaning.md ("Identity hygiene").
"""

from __future__ import annotations

import cv2
import numpy as np

HASH_SIZE = 8  # 8x8 = 64 bits
_RESIZE = 32

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _luma(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        return img.astype(np.float32)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxW or HxWx3 image, got shape {img.shape}")
    rgb = img[..., :3].astype(np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def phash(image: np.ndarray) -> int:
    """The 64-bit DCT perceptual hash of ``image`` (RGB uint8 HxWx3 or grey HxW), as an int."""
    grey = _luma(image)
    if min(grey.shape) < 1:
        raise ValueError("cannot hash an empty image")
    small = cv2.resize(grey, (_RESIZE, _RESIZE), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:HASH_SIZE, :HASH_SIZE].ravel()
    bits = low > np.median(low)
    return int(np.packbits(bits).view(">u8")[0])


def phashes(images: list[np.ndarray]) -> np.ndarray:
    """:func:`phash` of each image -> uint64 ``[N]``."""
    return np.array([phash(im) for im in images], dtype=np.uint64)


def hamming(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """Bitwise Hamming distance (0..64) between uint64 hashes, broadcast elementwise -> uint8."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(*x.shape, 8)
    return _POPCOUNT8[as_bytes].sum(-1).astype(np.uint8)
