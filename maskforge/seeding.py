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


# The registry of seed streams: the first key after the seed names what a generator decides.
# Every stream name used anywhere is one of these constants (two decisions never share one).
#: Which identities ``select.max_identities`` keeps (ranked per identity name).
IDENTITIES = "identities"
#: Select-N: which images of an identity are kept.
SELECT = "select"
#: Train/val split assignment (per identity or per image).
SPLIT = "split"
#: The seeded order of a dataset shard's rows.
ROW_ORDER = "row-order"
#: One occluder of a variant; the augmentation of a variant.
OCCLUDER = "occluder"
AUGMENT = "augment"
#: ``maskforge overlay``: the occluders of one input file.
OVERLAY = "overlay"
#: The :class:`maskforge.occlude.Occlude` transform of one sample.
OCCLUDE = "occlude"
#: The per-process tiles of Gaussian noise that masks' camera noise and fabric texture are cut
#: from (``maskforge.occlude.camera``; where each face's window lies comes from its own stream).
GRAIN = "grain"
#: A contact sheet's cells (``maskforge assets sheet``).
SHEET = "sheet"
#: Planted label noise of the cleaning calibration.
PLANT = "plant"
#: Evaluation: masks drawn on probes, gallery choice, pairs dealt into folds.
EVAL_MASK = "eval-mask"
EVAL_GALLERY = "eval-gallery"
MAKE_PAIRS = "make-pairs"
#: The torch readers, per epoch: a worker's shuffle buffer, the rotation of each shard's rows,
#: the order in which a worker reads its pieces.
BUFFER = "buffer"
ROTATE = "rotate"
PIECES = "pieces"

STREAMS = (
    IDENTITIES, SELECT, SPLIT, ROW_ORDER, OCCLUDER, AUGMENT, OVERLAY, OCCLUDE, GRAIN, SHEET, PLANT,
    EVAL_MASK, EVAL_GALLERY, MAKE_PAIRS, BUFFER, ROTATE, PIECES,
)
