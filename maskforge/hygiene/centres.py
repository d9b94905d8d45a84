"""Identity centres (robust means) and the identity pairs that look like one person.

The centre of an identity of at least ``min_images`` images is the mean of its robust inliers
(:func:`maskforge.clean.methods.robust_scores`, the cleaner's own rule, so a few mislabelled
images do not drag it), L2-normalised; smaller identities use the plain mean. Two identities whose
centres have cosine >= a calibrated threshold are flagged as the same person, with evidence: their
closest image pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..clean.batching import pad_indices, plan_batches
from ..clean.methods import robust_scores
from .knn import Pairs, as_unit, blocked_pairs_above, nearest_centres


@dataclass(frozen=True)
class Centres:
    """``names[k]`` (sorted), ``codes[i]`` = identity index of sample i, ``centre [K, D]`` unit
    rows, ``counts [K]`` images, ``inlier [N]`` robust inliers (True in small identities)."""

    names: np.ndarray
    codes: np.ndarray
    centre: np.ndarray
    counts: np.ndarray
    inlier: np.ndarray

    def without(self, x: np.ndarray, drop: np.ndarray) -> Centres:
        """The centres with the ``drop`` samples (bool [N]) taken out of the inliers of their
        identities (no new robust iteration); an identity left without inliers takes the mean of
        its other samples, one left empty keeps its centre. ``x``: the unit rows ``[N, D]``."""
        k, dim = self.centre.shape
        keep_in = self.inlier & ~drop
        has_in = np.bincount(self.codes[keep_in], minlength=k) > 0
        use = keep_in | (~drop & ~has_in[self.codes])
        acc = torch.zeros((k, dim), dtype=torch.float64)
        acc.index_add_(0, torch.from_numpy(self.codes[use]), torch.from_numpy(x[use]).double())
        sums = acc.numpy()
        touched = np.zeros(k, bool)
        touched[self.codes[drop]] = True
        ok = touched & (np.linalg.norm(sums, axis=1) > 0)
        centre = self.centre.copy()
        centre[ok] = (sums[ok] / np.linalg.norm(sums[ok], axis=1, keepdims=True)).astype(np.float32)
        return Centres(self.names, self.codes, centre, self.counts, keep_in)


def group_indices(codes: np.ndarray, k: int) -> list[np.ndarray]:
    """Sample indices of each of ``k`` codes, in input order."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(k)]


def identity_centres(
    embeddings: np.ndarray,
    identities: np.ndarray,
    floor: float,
    cap: float,
    *,
    min_images: int = 3,
    memory_bytes: int = 256 << 20,
    device: str = "cpu",
) -> Centres:
    """Robust centres of every identity (see module doc); ``floor``/``cap`` are the robust
    cleaner's per-identity threshold bounds (L2 between unit vectors)."""
    names, codes = np.unique(np.asarray(identities).astype(str), return_inverse=True)
    codes = codes.astype(np.int64)
    x = as_unit(embeddings, device)
    k, dim = len(names), x.shape[1]
    counts = np.bincount(codes, minlength=k)
    sums = torch.zeros((k, dim), dtype=torch.float32, device=x.device)
    sums.index_add_(0, torch.from_numpy(codes).to(x.device), x)
    inlier = np.ones(len(codes), dtype=bool)
    groups = group_indices(codes, k)
    robust = [groups[i] for i in np.flatnonzero(counts >= min_images)]
    for batch in plan_batches(robust, dim, memory_bytes, reference_size=1024):
        index_np, mask_np = pad_indices(batch)
        mask = torch.from_numpy(mask_np).to(x.device)
        res = robust_scores(
            x[torch.from_numpy(index_np).to(x.device)], mask, floor=floor, cap=cap,
            memory_bytes=memory_bytes,
        )  # fmt: skip
        sums[torch.from_numpy(codes[index_np[:, 0]]).to(x.device)] = res.mean
        inl = res.inlier.cpu().numpy()
        inlier[index_np[mask_np]] = inl[mask_np]
    centre = torch.nn.functional.normalize(sums, dim=1).cpu().numpy()
    return Centres(names.astype(object), codes, centre, counts, inlier)


def same_person_pairs(
    centres: Centres, threshold: float, *, memory_bytes: int = 256 << 20, device: str = "cpu"
) -> Pairs:
    """Identity pairs ``(a, b)`` (codes, a < b) whose centres have cosine >= ``threshold``."""
    return blocked_pairs_above(centres.centre, threshold, memory_bytes=memory_bytes, device=device)


def closest_images(
    embeddings: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, n: int = 3
) -> list[tuple[int, int, float]]:
    """The ``n`` most similar image pairs ``(row in a, row in b, cosine)`` between two sets of
    sample rows (the evidence of a same-person pair), most similar first, ties by rows."""
    if len(rows_a) == 0 or len(rows_b) == 0:
        return []
    s = embeddings[rows_a] @ embeddings[rows_b].T
    flat = np.lexsort((np.arange(s.size), -s.ravel()))[:n]
    ia, ib = np.unravel_index(flat, s.shape)
    return [(int(rows_a[i]), int(rows_b[j]), float(s[i, j])) for i, j in zip(ia, ib, strict=True)]


def own_cosine(embeddings: np.ndarray, centres: Centres) -> np.ndarray:
    """Per sample: cosine to its own identity's centre (``embeddings``: unit rows)."""
    return np.einsum("nd,nd->n", embeddings, centres.centre[centres.codes]).astype(np.float32)


def centre_affinity(
    embeddings: np.ndarray, centres: Centres, *, memory_bytes: int = 256 << 20, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample: cosine to its own identity's centre, the nearest OTHER identity (code) and the
    cosine to that identity's centre. A sample closer to another identity's centre than to its
    own is evidence of a wrong label (look-alike or a copy)."""
    x = as_unit(embeddings, device)
    c = torch.from_numpy(centres.centre).to(x.device)
    own = (x * c[torch.from_numpy(centres.codes).to(x.device)]).sum(1).cpu().numpy()
    if len(centres.names) < 2:
        return own, np.full(len(own), -1, np.int64), np.full(len(own), np.nan, np.float32)
    top2 = nearest_centres(x, c, 2, memory_bytes).cpu().numpy()
    other = np.where(top2[:, 0] == centres.codes, top2[:, 1], top2[:, 0])
    other_sim = np.einsum("nd,nd->n", x.cpu().numpy(), centres.centre[other])
    return own, other, other_sim.astype(np.float32)
