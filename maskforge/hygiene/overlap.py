"""Overlap between training identities and an evaluation set.

Three signals per (training identity, evaluation identity):

- ``image``: a training image and an evaluation image are the same photo (embedding cosine >=
  the near-duplicate sure cosine);
- ``face``: the identity centres have cosine >= ``overlap_cosine`` (one person);
- ``name``: the normalised names are equal (:func:`normalise_name`).

``image`` or ``face`` decide an overlap; a ``name`` match alone decides one only when the centres
still reach ``name_cosine``, else it is listed as ``name_only`` (two people may share a name).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from .centres import Centres, closest_images
from .knn import blocked_pairs_above


def normalise_name(name: str) -> str:
    """A name for matching: accents dropped, case folded, ``Last, First`` reordered, punctuation
    and underscores as spaces, tokens sorted (``George_W_Bush`` = ``bush, george w.``)."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    tokens = [t for t in re.split(r"[^0-9a-z]+", text) if t]
    return " ".join(sorted(tokens))


@dataclass(frozen=True)
class OverlapMatch:
    """One (training identity, evaluation identity) pair with at least one signal."""

    identity: str
    eval_identity: str
    eval_set: str
    signals: tuple[str, ...]  # subset of ("image", "face", "name"), in that order
    centre_cosine: float
    overlap: bool
    reason: str  # eval_overlap_image | eval_overlap_face | eval_overlap_name | name_only
    evidence: tuple[tuple[int, int, float], ...]  # (training row, eval row, cosine)


def eval_centres(eval_x: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(eval names [K], code per eval image [M], unit mean per name [K, D])``."""
    uniq, codes = np.unique(np.asarray(names, dtype=object).astype(str), return_inverse=True)
    sums = np.zeros((len(uniq), eval_x.shape[1]), np.float64)
    np.add.at(sums, codes, eval_x)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return uniq.astype(object), codes.astype(np.int64), sums.astype(np.float32)


def _reason(signals: list[str], cos: float, name_cosine: float) -> tuple[bool, str]:
    if "image" in signals:
        return True, "eval_overlap_image"
    if "face" in signals:
        return True, "eval_overlap_face"
    if cos >= name_cosine:
        return True, "eval_overlap_name"
    return False, "name_only"


def find_overlap(
    train_x: np.ndarray, centres: Centres, eval_x: np.ndarray, eval_names: list[str], label: str,
    *, overlap_cosine: float, image_cosine: float, name_cosine: float, evidence: int = 3,
    memory_bytes: int = 256 << 20, device: str = "cpu",
) -> list[OverlapMatch]:  # fmt: skip
    """Every (training identity, evaluation identity) pair with a signal (see module doc), sorted
    by training identity then evaluation identity. ``train_x [N, D]`` and ``eval_x [M, D]`` are
    unit rows; ``centres`` are the training identities' (:func:`.centres.identity_centres`)."""
    if len(eval_x) == 0:
        return []
    e_names, e_codes, e_centre = eval_centres(eval_x, eval_names)
    found: dict[tuple[int, int], list[str]] = {}
    img = blocked_pairs_above(train_x, image_cosine, base=eval_x, memory_bytes=memory_bytes,
                              device=device)  # fmt: skip
    for i, j in zip(centres.codes[img.a].tolist(), e_codes[img.b].tolist(), strict=True):
        found.setdefault((i, j), []).append("image")
    face = blocked_pairs_above(centres.centre, overlap_cosine, base=e_centre,
                               memory_bytes=memory_bytes, device=device)  # fmt: skip
    for i, j in zip(face.a.tolist(), face.b.tolist(), strict=True):
        found.setdefault((i, j), []).append("face")
    by_name: dict[str, list[int]] = {}
    for j, n in enumerate(e_names):
        by_name.setdefault(normalise_name(n), []).append(j)
    for i, n in enumerate(centres.names):
        for j in by_name.get(normalise_name(n), []):
            found.setdefault((i, j), []).append("name")
    out = []
    for (i, j), sig in sorted(found.items(), key=lambda kv: (centres.names[kv[0][0]], kv[0][1])):
        signals: list[str] = [s for s in ("image", "face", "name") if s in sig]
        cos = float(centres.centre[i] @ e_centre[j])
        overlap, reason = _reason(signals, cos, name_cosine)
        rows_a = np.flatnonzero(centres.codes == i)
        rows_b = np.flatnonzero(e_codes == j)
        ev = closest_images(
            np.concatenate([train_x[rows_a], eval_x[rows_b]]),
            np.arange(len(rows_a)),
            len(rows_a) + np.arange(len(rows_b)),
            evidence,
        )
        ev = [(int(rows_a[a]), int(rows_b[b - len(rows_a)]), s) for a, b, s in ev]
        out.append(OverlapMatch(str(centres.names[i]), str(e_names[j]), label, tuple(signals),
                                cos, overlap, reason, tuple(ev)))  # fmt: skip
    return out
