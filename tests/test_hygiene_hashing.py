"""Exact-duplicate hashing and the DCT perceptual hash (maskforge.hygiene.exact / .phash)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.hygiene.config import DEFAULTS
from maskforge.hygiene.exact import bytes_hash, duplicate_groups, pixel_hash
from maskforge.hygiene.phash import hamming, phash, phashes
from maskforge.io.decode import decode_image, encode_image

LIMITS = DEFAULTS["dlib-resnet"]


def test_bytes_and_pixel_hash():
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    assert pixel_hash(img) == pixel_hash(img.copy())
    assert pixel_hash(img) != pixel_hash(img.reshape(5, 4, 3))  # same bytes, other shape
    assert pixel_hash(img) != pixel_hash(img.astype(np.int16))
    changed = img.copy()
    changed[0, 0, 0] ^= 1
    assert pixel_hash(changed) != pixel_hash(img)
    png = encode_image(img, "png")
    assert bytes_hash(png) == bytes_hash(bytes(png)) and len(bytes_hash(png)) == 32
    assert bytes_hash(png) != bytes_hash(png + b"\0")


def test_duplicate_groups_order_and_none():
    hashes = ["b", None, "a", "b", None, "a", "c"]
    order = ["z", "n1", "y", "a", "n2", "x", "c"]
    # groups sorted inside by order (first member is kept), groups by their first member
    assert duplicate_groups(hashes, order) == [[3, 0], [5, 2]]


def test_hamming_counts_bits():
    a = np.array([0, 0xFFFFFFFFFFFFFFFF, 0b1011], dtype=np.uint64)
    b = np.array([0, 0, 0b0001], dtype=np.uint64)
    assert hamming(a, b).tolist() == [0, 64, 2]
    assert hamming(a[:, None], b[None, :]).shape == (3, 3)


def test_phash_is_64_bits_and_deterministic(lfw_images):
    img = decode_image(lfw_images[0])
    h = phash(img)
    assert 0 < h < 2**64 and phash(img) == h
    assert phashes([img, img]).dtype == np.uint64
    with pytest.raises(ValueError):
        phash(np.zeros((4, 4, 2), np.uint8))


def _variant(img: np.ndarray, kind: str, amount: float, q: int) -> np.ndarray:
    h, w = img.shape[:2]
    if kind == "reencode":
        out = img
    elif kind == "resize":
        out = cv2.resize(img, (round(w * amount), round(h * amount)), interpolation=cv2.INTER_AREA)
    else:
        cut_x, cut_y = round(w * amount), round(h * amount)
        out = img[cut_y // 2 : h - (cut_y - cut_y // 2), cut_x // 2 : w - (cut_x - cut_x // 2)]
    return cv2.imdecode(np.frombuffer(encode_image(out, "jpeg", q), np.uint8), cv2.IMREAD_COLOR)[
        ..., ::-1
    ]


@settings(max_examples=25, deadline=None)
@given(
    index=st.integers(0, 735),
    q=st.integers(50, 70),
    scale=st.floats(0.6, 0.9),
    crop=st.floats(0.03, 0.08),
)
def test_phash_robust_to_reencode_resize_crop(lfw_images, index, q, scale, crop):
    """Re-encode and resize stay within ``phash_bits`` (the near rule); a centred crop of 3-8 %
    within ``crop_phash_bits`` (the crop rule)."""
    img = decode_image(lfw_images[index % len(lfw_images)])
    h = phash(img)
    assert hamming(h, phash(_variant(img, "reencode", 0, q))) <= LIMITS["phash_bits"]
    assert hamming(h, phash(_variant(img, "resize", scale, 90))) <= LIMITS["phash_bits"]
    assert hamming(h, phash(_variant(img, "crop", crop, 90))) <= LIMITS["crop_phash_bits"]


@settings(max_examples=25, deadline=None)
@given(a=st.integers(0, 735), b=st.integers(0, 735))
def test_phash_of_different_identities_differs(lfw_images, a, b):
    """Photos of two different people are farther apart than the re-encode rule allows."""
    pa, pb = lfw_images[a % len(lfw_images)], lfw_images[b % len(lfw_images)]
    if pa.parent == pb.parent:
        return
    assert hamming(phash(decode_image(pa)), phash(decode_image(pb))) > LIMITS["phash_bits"]
