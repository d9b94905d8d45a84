"""Exact duplicates: the hash of the file bytes and the hash of the decoded pixels.

Two files with the same bytes are the same file; two files with the same decoded pixels (same
shape, same RGB values) are the same image stored twice, e.g. a PNG and a lossless re-save.
Hashes are hex blake2b digests (16 bytes), stable across runs and machines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def bytes_hash(data: bytes) -> str:
    """Hex digest of a file's bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def pixel_hash(image: np.ndarray) -> str:
    """Hex digest of decoded pixels (any dtype and shape; shape and dtype are hashed too, so a
    transposed or re-typed array does not collide)."""
    arr = np.ascontiguousarray(image)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def duplicate_groups(hashes: Sequence[str | None], order: Sequence[str]) -> list[list[int]]:
    """Groups of >= 2 indices sharing a hash (None never matches). Within a group indices are
    sorted by ``order`` (e.g. the source path) and groups by their first member's ``order``: the
    first member of each group is the one kept."""
    by_hash: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        if h is not None:
            by_hash.setdefault(h, []).append(i)
    groups = [sorted(g, key=lambda i: (order[i], i)) for g in by_hash.values() if len(g) > 1]
    return sorted(groups, key=lambda g: (order[g[0]], g[0]))
