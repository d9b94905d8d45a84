"""Scoring methods over padded identity batches (torch; the same code on CPU and CUDA).

Every function takes ``x [B, n, D]`` (unit-length rows; padded slots arbitrary) and
``mask [B, n]`` (True = a real sample) and returns per-sample tensors ``[B, n]``. Distances are
Euclidean between unit vectors (0..2).

- :func:`mean_distance_scores` — the reference rule: a sample's average L2 distance to the other
  images of its identity.
- :func:`robust_scores` — RMS distance to the identity's *inliers*, with inliers found from a
  density seed and refined iteratively, and a per-identity threshold that can only rise above the
  global one for identities whose genuine images are naturally spread out. See docs/cleaning.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .batching import row_chunk

MAD_SCALE = 1.4826  # MAD -> standard deviation for a normal distribution


def _masked_kth(values: torch.Tensor, valid: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """k-th smallest (0-based, ``k`` broadcastable to values[..., 0]) of each row over valid
    entries; rows with no valid entry give +inf."""
    v = values.masked_fill(~valid, math.inf)
    k = k.clamp(min=0, max=values.shape[-1] - 1).to(torch.long)
    k = k.expand(v.shape[:-1]) if k.dim() < v.dim() - 1 else k
    top = int(k.max()) + 1 if k.numel() else 1
    if top < v.shape[-1] // 2:  # partial selection is cheaper than a full sort
        s = torch.topk(v, top, dim=-1, largest=False, sorted=True).values
    else:
        s, _ = torch.sort(v, dim=-1)
    return torch.gather(s, -1, k.unsqueeze(-1)).squeeze(-1)


def masked_median(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Lower median of each row of ``[B, n]`` over valid entries -> ``[B]``."""
    count = valid.sum(-1)
    return _masked_kth(values, valid, (count - 1).clamp(min=0) // 2)


def mean_distance_scores(
    x: torch.Tensor, mask: torch.Tensor, memory_bytes: int = 256 << 20
) -> torch.Tensor:
    """Average L2 distance of each sample to the other valid samples of its identity ``[B, n]``.

    Row-chunked: at most a few ``[B, rows, n]`` matrices exist at once.
    """
    b, n, _ = x.shape
    count = mask.sum(-1, keepdim=True).clamp(min=2).to(x.dtype)
    out = torch.empty((b, n), dtype=x.dtype, device=x.device)
    step = row_chunk(b, n, n, memory_bytes)
    cols = mask.unsqueeze(1)
    for start in range(0, n, step):
        stop = min(start + step, n)
        d = torch.cdist(x[:, start:stop], x)  # [B, r, n]
        d = d.masked_fill(~cols, 0.0)
        rows = torch.arange(start, stop, device=x.device)
        d[:, rows - start, rows] = 0.0  # self distance (cdist's matmul path is not exactly 0)
        out[:, start:stop] = d.sum(-1) / (count - 1)
    return out.masked_fill(~mask, math.nan)


def _reference_columns(mask: torch.Tensor, reference_size: int) -> torch.Tensor | None:
    """Column indices of a deterministic, evenly spaced reference subset when an identity is
    larger than ``reference_size`` (batches of one only); None to use every column."""
    b, n = mask.shape
    if n <= reference_size:
        return None
    if b != 1:
        raise ValueError("identities larger than reference_size must be scored alone")
    count = int(mask.sum())
    return torch.linspace(0, count - 1, reference_size, device=mask.device).round().long().unique()


def density_seed(
    x: torch.Tensor,
    mask: torch.Tensor,
    radius: float,
    quantile: float = 0.3,
    reference_size: int = 1024,
    memory_bytes: int = 256 << 20,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Density of every sample within its identity, against the other samples (or an evenly
    spaced reference subset of at most ``reference_size`` of them).

    Returns ``(neighbours [B, n], spread [B, n])``: the number of other samples within ``radius``,
    and the ``quantile``-th smallest distance to them (padded slots: 0 and +inf). The sample with
    the most neighbours (ties: the smallest spread) sits in the identity's largest cluster, even
    when the rest is a large share of scattered noise or a second, smaller cluster.
    """
    b, n, _ = x.shape
    cols = _reference_columns(mask, reference_size)
    ref = x if cols is None else x[:, cols]
    ref_mask = mask if cols is None else mask[:, cols]
    m = ref.shape[1]
    ref_count = ref_mask.sum(-1)  # [B]
    k = torch.ceil(quantile * (ref_count - 1).clamp(min=1).to(x.dtype)).long() - 1  # [B]
    spread = torch.full((b, n), math.inf, dtype=x.dtype, device=x.device)
    neighbours = torch.zeros((b, n), dtype=torch.long, device=x.device)
    step = row_chunk(b, n, m, memory_bytes)
    for start in range(0, n, step):
        stop = min(start + step, n)
        d = torch.cdist(x[:, start:stop], ref)  # [B, r, m]
        valid = ref_mask.unsqueeze(1).expand(b, stop - start, m).clone()
        rows = torch.arange(start, stop, device=x.device)
        if cols is None:
            valid[:, rows - start, rows] = False  # not its own neighbour
        else:
            valid &= cols.view(1, 1, m) != rows.view(1, -1, 1)
        neighbours[:, start:stop] = ((d <= radius) & valid).sum(-1)
        spread[:, start:stop] = _masked_kth(d, valid, k.view(b, 1).expand(b, stop - start))
    return neighbours.masked_fill(~mask, 0), spread.masked_fill(~mask, math.inf)


def seed_inliers(x: torch.Tensor, mask: torch.Tensor, radius: float, **kw) -> torch.Tensor:
    """Initial inliers ``[B, n]``: the samples within ``radius`` of the densest sample (see
    :func:`density_seed`), itself and its nearest neighbour always included."""
    b = x.shape[0]
    neighbours, spread = density_seed(x, mask, radius, **kw)
    key = neighbours.to(x.dtype) - spread.clamp(max=2.0) / 4.0  # spread only breaks ties
    key = key.masked_fill(~mask, -math.inf)
    centre = x[torch.arange(b, device=x.device), key.argmax(-1)]  # [B, D]
    d = torch.sqrt((2.0 - 2.0 * torch.einsum("bnd,bd->bn", x, centre)).clamp(min=0.0))
    second = _masked_kth(d, mask, torch.ones(b, dtype=torch.long, device=x.device))
    return mask & ((d <= radius) | (d <= second.unsqueeze(-1)))


@dataclass
class RobustOutput:
    score: torch.Tensor  # [B, n] RMS distance to the inliers (leave-one-out for inliers)
    threshold: torch.Tensor  # [B] per-identity threshold
    inlier: torch.Tensor  # [B, n] bool
    mean: torch.Tensor  # [B, D] mean of the inliers (not normalised)
    iterations: int


def rms_to_set(x: torch.Tensor, member: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RMS L2 distance of each sample to the members of its identity, itself excluded.

    For unit vectors ``mean_j |x_i - x_j|^2 = 2 - 2 x_i . mean_j x_j``, so only the members' sum is
    needed: O(n D). Returns ``(rms [B, n], members' mean [B, D])``; +inf where no other member.
    """
    w = member.to(x.dtype)
    total = torch.einsum("bn,bnd->bd", w, x)  # [B, D]
    count = w.sum(-1)  # [B]
    dots = torch.einsum("bnd,bd->bn", x, total)  # x_i . sum
    self_dot = (x * x).sum(-1)  # 1 for unit rows
    others_dot = dots - w * self_dot
    others = count.unsqueeze(-1) - w
    mean_dot = others_dot / others.clamp(min=1)
    rms = torch.sqrt((2.0 - 2.0 * mean_dot).clamp(min=0.0))
    rms = rms.masked_fill(others < 1, math.inf)
    mean = total / count.clamp(min=1).unsqueeze(-1)
    return rms, mean


def robust_scores(
    x: torch.Tensor,
    mask: torch.Tensor,
    floor: float,
    cap: float,
    k_mad: float = 3.0,
    quantile: float = 0.3,
    max_iter: int = 10,
    reference_size: int = 1024,
    memory_bytes: int = 256 << 20,
) -> RobustOutput:
    """The robust score and per-identity threshold.

    1. Seed: the samples within ``floor`` of the identity's densest sample (:func:`seed_inliers`).
    2. Repeat until the inlier set is stable (at most ``max_iter``): score every sample by its RMS
       distance to the current inliers (:func:`rms_to_set`); per-identity threshold
       ``clip(median + k_mad * 1.4826 * MAD, floor, cap)`` over the identity's scores; inliers =
       samples at or under it (always at least the two best).
    """
    b, n, _ = x.shape
    count = mask.sum(-1)
    inlier = seed_inliers(
        x, mask, floor, quantile=quantile, reference_size=reference_size, memory_bytes=memory_bytes
    )
    threshold = torch.full((b,), floor, dtype=x.dtype, device=x.device)
    floor_t = torch.tensor(floor, dtype=x.dtype, device=x.device)
    cap_t = torch.tensor(max(cap, floor), dtype=x.dtype, device=x.device)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported
        score, _ = rms_to_set(x, inlier)
        med = masked_median(score, mask)
        mad = masked_median((score - med.unsqueeze(-1)).abs(), mask)
        threshold = torch.minimum(torch.maximum(med + k_mad * MAD_SCALE * mad, floor_t), cap_t)
        best2 = _masked_kth(score, mask, torch.ones_like(count))
        new = mask & ((score <= threshold.unsqueeze(-1)) | (score <= best2.unsqueeze(-1)))
        if torch.equal(new, inlier):
            break
        inlier = new
    score, mean = rms_to_set(x, inlier)
    return RobustOutput(score.masked_fill(~mask, math.nan), threshold, inlier, mean, iterations)
