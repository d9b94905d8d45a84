"""Deterministic random generators.

Every random choice in maskforge flows from the recipe's ``seed``. A generator for one decision is
derived from ``(seed, *keys)`` by hashing, so it does not depend on worker count, batch boundaries or
processing order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *keys: object) -> int:
    """A 64-bit integer derived from ``seed`` and ``keys`` (stable across runs and machines)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(int(seed)).encode())
    for key in keys:
        h.update(b"\x1f")
        h.update(str(key).encode())
    return int.from_bytes(h.digest(), "little")


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator for ``(seed, *keys)``, e.g. ``rng_for(seed, sample_id, variant)``."""
    return np.random.Generator(np.random.PCG64(derive_seed(seed, *keys)))
