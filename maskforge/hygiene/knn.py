"""Similarity search over L2-normalised embeddings in torch, with a bounded memory footprint.

- :func:`blocked_knn` — exact k nearest neighbours (cosine), computed block by block: at most one
  ``[rows, cols]`` similarity block (plus the running top-k) exists at once.
- :func:`blocked_pairs_above` — exact: every pair with cosine >= a threshold, block by block.
- :func:`probed_pairs_above` — the scalable search (an inverted-file search whose coarse lists are
  given centres, e.g. the identity centres): each vector lives in the list of its nearest centre
  and is compared with the vectors of the lists of its ``nprobe`` nearest centres only. Two nearly
  identical vectors share their nearest centre, so near duplicates are found at a fraction of the
  all-pairs cost (N x nprobe x list size instead of N^2); recall against the exact search is
  measured by benchmarks/bench_hygiene.py.

Vectors are float32 rows ``[N, D]``, unit length (re-normalised here defensively). Indices are
int64 row numbers; results are sorted deterministically (by first index, then second).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ..device import resolve_device


@dataclass(frozen=True)
class Pairs:
    """Pairs of rows ``(a[i], b[i])`` with cosine ``sim[i]``; sorted by (a, b)."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    sim: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.a)

    @staticmethod
    def empty() -> Pairs:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))

    @staticmethod
    def of(a: np.ndarray, b: np.ndarray, sim: np.ndarray) -> Pairs:
        """Sorted by (a, b); a duplicate (a, b) keeps one row."""
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        key = np.unique(np.stack([a, b], 1), axis=0, return_index=True)[1] if len(a) else a
        return Pairs(a[key], b[key], np.asarray(sim, np.float32)[key])


def as_unit(x: np.ndarray | torch.Tensor, device: str) -> torch.Tensor:
    """float32 unit rows on ``device``."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
    return torch.nn.functional.normalize(t.to(device=device, dtype=torch.float32), dim=1)


def block_rows(n_cols: int, memory_bytes: int, floor: int = 16) -> int:
    """Rows of a ``[rows, n_cols]`` float32 block (about 3 such arrays live at once) that fit."""
    return max(floor, memory_bytes // max(1, 12 * n_cols))


def blocked_knn(
    queries: np.ndarray | torch.Tensor,
    base: np.ndarray | torch.Tensor | None = None,
    k: int = 10,
    *,
    memory_bytes: int = 256 << 20,
    col_block: int = 65536,
    device: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest ``base`` rows (cosine, largest first) of each query row.

    ``base=None`` searches the queries themselves, a row never being its own neighbour. Returns
    ``(sims [Nq, k] float32, idx [Nq, k] int64)``; when fewer than k candidates exist the tail is
    ``-inf`` / ``-1``. Ties are broken by the smaller index.
    """
    dev = resolve_device(device)
    q = as_unit(queries, dev)
    self_search = base is None
    b = q if base is None else as_unit(base, dev)
    nq, nb = q.shape[0], b.shape[0]
    k_eff = min(k, nb - (1 if self_search else 0))
    sims = np.full((nq, k), -np.inf, np.float32)
    idx = np.full((nq, k), -1, np.int64)
    if k_eff <= 0 or nq == 0:
        return sims, idx
    cols = min(col_block, nb)
    rows = block_rows(cols + k_eff, memory_bytes)
    for r0 in range(0, nq, rows):
        r1 = min(r0 + rows, nq)
        best_s = torch.full((r1 - r0, 0), -math.inf, device=dev)
        best_i = torch.zeros((r1 - r0, 0), dtype=torch.long, device=dev)
        for c0 in range(0, nb, cols):
            c1 = min(c0 + cols, nb)
            s = q[r0:r1] @ b[c0:c1].T
            if self_search and c0 < r1 and r0 < c1:
                rr = torch.arange(max(r0, c0), min(r1, c1), device=dev)
                s[rr - r0, rr - c0] = -math.inf
            ci = torch.arange(c0, c1, device=dev).expand(r1 - r0, -1)
            cand_s, cand_i = torch.cat([best_s, s], 1), torch.cat([best_i, ci], 1)
            # ties -> smaller index: sort by index first (stable), then by similarity (stable)
            order = torch.argsort(cand_i, dim=1, stable=True)
            cand_s, cand_i = cand_s.gather(1, order), cand_i.gather(1, order)
            top = torch.argsort(-cand_s, dim=1, stable=True)[:, :k_eff]
            best_s, best_i = cand_s.gather(1, top), cand_i.gather(1, top)
        sims[r0:r1, :k_eff] = best_s.cpu().numpy()
        idx[r0:r1, :k_eff] = best_i.cpu().numpy()
    idx[~np.isfinite(sims)] = -1
    return sims, idx


def blocked_pairs_above(
    x: np.ndarray | torch.Tensor,
    threshold: float,
    base: np.ndarray | torch.Tensor | None = None,
    *,
    memory_bytes: int = 256 << 20,
    col_block: int = 65536,
    device: str = "auto",
) -> Pairs:
    """Exact: every pair with cosine >= ``threshold``. Without ``base``, pairs ``(i, j)`` of rows
    of ``x`` with ``i < j``; with ``base``, pairs ``(row of x, row of base)``."""
    dev = resolve_device(device)
    q = as_unit(x, dev)
    b = q if base is None else as_unit(base, dev)
    nq, nb = q.shape[0], b.shape[0]
    cols = max(1, min(col_block, nb))
    rows = block_rows(cols, memory_bytes)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for r0 in range(0, nq, rows):
        r1 = min(r0 + rows, nq)
        for c0 in range(r0 if base is None else 0, nb, cols):
            c1 = min(c0 + cols, nb)
            s = q[r0:r1] @ b[c0:c1].T
            hit = s >= threshold
            if base is None:  # upper triangle only
                ri = torch.arange(r0, r1, device=dev).unsqueeze(1)
                hit &= ri < torch.arange(c0, c1, device=dev).unsqueeze(0)
            if not bool(hit.any()):
                continue
            i, j = torch.nonzero(hit, as_tuple=True)
            found.append(((i + r0).cpu().numpy(), (j + c0).cpu().numpy(), s[i, j].cpu().numpy()))
    if not found:
        return Pairs.empty()
    a, bb, sim = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return Pairs.of(a, bb, sim)


def nearest_centres(
    x: torch.Tensor, centres: torch.Tensor, nprobe: int, memory_bytes: int
) -> torch.Tensor:
    """Indices ``[N, nprobe]`` of each row's nearest centres (cosine, ties: smaller index)."""
    p = min(nprobe, centres.shape[0])
    out = torch.empty((x.shape[0], p), dtype=torch.long, device=x.device)
    rows = block_rows(centres.shape[0], memory_bytes)
    for r0 in range(0, x.shape[0], rows):
        s = x[r0 : r0 + rows] @ centres.T
        out[r0 : r0 + rows] = torch.topk(s, p, dim=1, sorted=True).indices
    return out


@contextmanager
def one_thread(device: str) -> Iterator[None]:
    """Run many small CPU ops on one torch thread (thread start-up costs more than the work,
    much more on a loaded machine); the thread count is restored afterwards."""
    if not device.startswith("cpu"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def probed_pairs_above(
    x: np.ndarray | torch.Tensor,
    centres: np.ndarray | torch.Tensor,
    threshold: float,
    nprobe: int = 8,
    *,
    memory_bytes: int = 256 << 20,
    device: str = "auto",
) -> Pairs:
    """Pairs ``(i, j)``, ``i < j``, of rows of ``x`` with cosine >= ``threshold``, searched in the
    lists of each row's ``nprobe`` nearest ``centres`` (see module doc). A subset of
    :func:`blocked_pairs_above`'s pairs (all of them when ``nprobe`` = number of centres)."""
    dev = resolve_device(device)
    q = as_unit(x, dev)
    c = as_unit(centres, dev)
    probes = nearest_centres(q, c, nprobe, memory_bytes)  # [N, P]
    home = probes[:, 0]
    n_lists = c.shape[0]
    base_order = torch.argsort(home, stable=True)
    base_bounds = torch.searchsorted(home[base_order], torch.arange(n_lists + 1, device=dev))
    flat = probes.reshape(-1)
    qry = torch.arange(q.shape[0], device=dev).repeat_interleave(probes.shape[1])
    q_order = torch.argsort(flat, stable=True)
    q_bounds = torch.searchsorted(flat[q_order], torch.arange(n_lists + 1, device=dev))
    bb, qb = base_bounds.cpu().numpy(), q_bounds.cpu().numpy()
    found: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    with one_thread(dev):
        for lst in np.flatnonzero((np.diff(bb) > 0) & (np.diff(qb) > 0)):
            members = base_order[bb[lst] : bb[lst + 1]]
            queries = qry[q_order[qb[lst] : qb[lst + 1]]]
            s = q[queries] @ q[members].T
            hit = (s >= threshold) & (queries.unsqueeze(1) != members.unsqueeze(0))
            if bool(hit.any()):
                i, j = torch.nonzero(hit, as_tuple=True)
                found.append((queries[i], members[j], s[i, j]))
    if not found:
        return Pairs.empty()
    qi = torch.cat([f[0] for f in found]).cpu().numpy()
    mj = torch.cat([f[1] for f in found]).cpu().numpy()
    sim = torch.cat([f[2] for f in found]).cpu().numpy()
    return Pairs.of(np.minimum(qi, mj), np.maximum(qi, mj), sim)
