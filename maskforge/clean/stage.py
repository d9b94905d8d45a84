"""Score every sample of a dataset for being mislabelled: :func:`score_identities`.

Identities are grouped into padded batches within a memory budget (:mod:`.batching`) and scored on
the chosen torch device (``cuda`` when available, else CPU; the same code either way) by the
chosen method (:mod:`.methods`). Nothing is removed here: the result says, per sample, its score,
threshold, whether it is flagged and why not when it is not; the caller applies ``action``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..device import resolve_device
from .batching import pad_indices, plan_batches
from .calibrate import robust_default
from .config import CleanConfig
from .keep import KeepList, read_keep
from .methods import masked_median, mean_distance_scores, robust_scores

log = logging.getLogger(__name__)

STATUSES = ("kept", "flagged", "too_few_images", "whitelisted")


@dataclass
class CleanResult:
    """Per-sample outcome of cleaning (arrays of length N, in input order) and per-identity stats.

    Attributes:
        score: float32 clean score (L2 distance scale, 0..2); NaN when not scored.
        threshold: float32 threshold the score was compared with (per identity for ``robust``);
            NaN when not scored.
        flagged: bool, score > threshold and not whitelisted.
        status: ``kept`` | ``flagged`` | ``too_few_images`` | ``whitelisted`` (would have been
            flagged but is in the keep list).
        reason: for flagged samples ``distance`` (score > threshold) or ``closer_to_other``
            (robust's confusion rule); ``""`` otherwise.
        nearest_identity: for flagged samples (when enabled) the other identity whose images are
            nearest (RMS distance), else None.
        nearest_distance: float32 RMS L2 distance to that identity's images; NaN otherwise.
        identity_stats: columns ``identity``, ``images``, ``flagged``, ``threshold``,
            ``median_score``, ``cleaned`` (bool), one row per identity, sorted by name.
        method, embedder, config, device, seconds: what produced it.
    """

    score: np.ndarray
    threshold: np.ndarray
    flagged: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    nearest_identity: np.ndarray
    nearest_distance: np.ndarray
    identity_stats: dict[str, np.ndarray]
    method: str
    embedder: str
    config: CleanConfig
    device: str = "cpu"
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.score)

    @property
    def removed(self) -> np.ndarray:
        """Samples that leave the dataset: flagged ones under ``action = remove``, else none."""
        return (
            self.flagged.copy() if self.config.action == "remove" else np.zeros_like(self.flagged)
        )

    def summary(self) -> dict[str, Any]:
        """Counts for logs and the manifest."""
        counts = {s: int((self.status == s).sum()) for s in STATUSES}
        stats = self.identity_stats
        return {
            "images": len(self),
            "identities": len(stats["identity"]),
            "identities_cleaned": int(stats["cleaned"].sum()),
            "identities_too_few_images": int((~stats["cleaned"]).sum()),
            "flagged": counts["flagged"],
            "statuses": counts,
            "method": self.method,
            "embedder": self.embedder,
            "threshold": float(np.nanmedian(self.threshold))
            if np.isfinite(self.threshold).any()
            else None,
            "action": self.config.action,
            "device": self.device,
            "seconds": round(self.seconds, 3),
        }


def _groups(codes: np.ndarray, k: int) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(k)]


@dataclass(frozen=True)
class _Limits:
    """The thresholds of a run: ``floor`` (the threshold, or robust's lowest per-identity one),
    robust's ``cap``, ``confusion`` threshold and ``margin``; ``memory`` in bytes."""

    floor: float
    cap: float
    confusion: float
    margin: float
    memory: int

    @classmethod
    def of(cls, config: CleanConfig) -> _Limits:
        thr0 = config.resolved_threshold()
        memory = config.memory_mb << 20
        if config.method != "robust":
            return cls(thr0, thr0, 2.0, 0.0, memory)
        cap = max(config.threshold_cap or robust_default(config.embedder, "cap"), thr0)
        confusion = config.confusion_threshold or robust_default(config.embedder, "confusion")
        margin = (
            config.confusion_margin
            if config.confusion_margin is not None
            else robust_default(config.embedder, "margin")
        )
        return cls(thr0, cap, confusion, margin, memory)


@dataclass
class _Scores:
    """Per-sample scores and thresholds (torch, on the device), per-identity threshold and
    median score (numpy; NaN for identities not cleaned), and the number of batches."""

    score: Any
    thresh: Any
    id_thr: np.ndarray
    id_med: np.ndarray
    batches: int = 0


def _score_groups(
    x: Any, means: Any, codes: np.ndarray, groups: list[np.ndarray], n_names: int,
    config: CleanConfig, limits: _Limits, dev: str,
) -> _Scores:  # fmt: skip
    """Score the samples of ``groups`` (identities to clean) batch by batch; robust also
    replaces those identities' rows of ``means`` by its inlier means."""
    import torch

    n_samples, dim = x.shape
    out = _Scores(
        torch.full((n_samples,), math.nan, dtype=torch.float32, device=dev),
        torch.full((n_samples,), math.nan, dtype=torch.float32, device=dev),
        np.full(n_names, np.nan, dtype=np.float32),
        np.full(n_names, np.nan, dtype=np.float32),
    )
    for batch in plan_batches(groups, dim, limits.memory, reference_size=1024):
        out.batches += 1
        index_np, mask_np = pad_indices(batch)
        index = torch.from_numpy(index_np).to(dev)
        mask = torch.from_numpy(mask_np).to(dev)
        xp = x[index]  # [B, n, D]
        flat_idx = index[mask]
        if config.method == "mean-distance":
            s = mean_distance_scores(xp, mask, limits.memory)
            t = torch.full_like(s, limits.floor)
        else:
            res = robust_scores(
                xp, mask, floor=limits.floor, cap=limits.cap, k_mad=config.k_mad,
                memory_bytes=limits.memory,
            )  # fmt: skip
            s = res.score
            t = res.threshold.unsqueeze(1).expand_as(s)
            ident = torch.from_numpy(codes[index_np[:, 0]]).to(dev)
            means[ident] = res.mean
        out.score[flat_idx] = s[mask]
        out.thresh[flat_idx] = t[mask]
        first = codes[index_np[:, 0]]
        out.id_thr[first] = t[:, 0].cpu().numpy()
        out.id_med[first] = masked_median(s, mask).cpu().numpy()
    return out


def _nearest_other(
    x: Any, means: Any, codes: np.ndarray, names: np.ndarray, want: np.ndarray,
    eligible: np.ndarray, memory: int, dev: str,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For the ``want`` samples, the nearest other ``eligible`` identity (by its mean: RMS
    distance to its images) and that distance; None / NaN elsewhere."""
    import torch

    n_samples = len(codes)
    nearest = np.full(n_samples, None, dtype=object)
    nearest_d = np.full(n_samples, np.nan, dtype=np.float32)
    if not want.any() or len(names) < 2:
        return nearest, nearest_d
    sel_all = np.flatnonzero(want)
    step = max(1, memory // (4 * 2 * len(names)))
    col_ok = torch.from_numpy(eligible).to(dev)
    for start in range(0, len(sel_all), step):
        sel = sel_all[start : start + step]
        sims = x[torch.from_numpy(sel).to(dev)] @ means.T  # x . mean = 1 - rms^2 / 2
        sims = sims.masked_fill(~col_ok, -math.inf)
        sims[torch.arange(len(sel), device=dev), torch.from_numpy(codes[sel]).to(dev)] = -math.inf
        best, arg = sims.max(dim=1)
        nearest[sel] = names[arg.cpu().numpy()]
        nearest_d[sel] = torch.sqrt((2 - 2 * best).clamp(min=0)).cpu().numpy()
    nearest[np.isnan(nearest_d)] = None  # no eligible other identity
    return nearest, nearest_d


def _whitelisted(
    keep: KeepList, n: int, source_paths: Sequence[str] | None, sample_ids: Sequence[str] | None
) -> np.ndarray:
    """Bool [n]: the samples ``keep`` names (by path or sample id)."""
    return np.array(
        [
            keep.contains(
                source_paths[i] if source_paths is not None else None,
                sample_ids[i] if sample_ids is not None else None,
            )
            for i in range(n)
        ],
        dtype=bool,
    )


def _decide(
    x: Any, means: Any, codes: np.ndarray, names: np.ndarray, counts: np.ndarray,
    score: np.ndarray, thresh: np.ndarray, white: np.ndarray | None, config: CleanConfig,
    limits: _Limits, dev: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per sample: flagged, status, reason, nearest identity and its distance, from the scores,
    robust's confusion rule and the whitelist ``white`` (None: nothing whitelisted)."""
    robust = config.method == "robust"
    cleaned = counts >= config.min_images
    finite = np.isfinite(score)
    flagged = finite & (score > thresh)
    reason = np.where(flagged, "distance", "").astype(object)

    # Nearest other identity (RMS distance to its images, inliers for cleaned identities) for
    # flagged samples and, under robust, for suspects (score above the confusion threshold).
    suspects = flagged | (finite & (score > limits.confusion))
    want = suspects if (config.nearest_identity or robust) else np.zeros_like(suspects)
    eligible = counts >= config.confusion_min_images
    nearest, nearest_d = _nearest_other(x, means, codes, names, want, eligible, limits.memory, dev)
    if robust:
        confused = want & ~flagged & np.isfinite(nearest_d) & (nearest_d < score - limits.margin)
        flagged |= confused
        reason[confused] = "closer_to_other"
    if not config.nearest_identity:
        nearest[:] = None
        nearest_d[:] = np.nan

    status = np.where(cleaned[codes], "kept", "too_few_images").astype(object)
    if white is not None:
        white = white & cleaned[codes]
        status[white & flagged] = "whitelisted"
        flagged &= ~white
    status[flagged] = "flagged"
    reason[~flagged] = ""
    unflagged = (status != "flagged") & (status != "whitelisted")
    nearest[unflagged] = None
    nearest_d[unflagged] = np.nan
    return flagged, status, reason, nearest, nearest_d


def score_identities(
    embeddings: np.ndarray,
    identities: Sequence[str],
    config: CleanConfig | None = None,
    device: str = "auto",
    *,
    source_paths: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    keep: KeepList | None = None,
) -> CleanResult:
    """Score ``embeddings [N, D]`` (rows L2-normalised; re-normalised defensively) labelled by
    ``identities`` (N names).

    ``threshold=None`` in ``config`` uses the calibrated default for ``(method, embedder)``.
    Samples whose ``source_paths`` / ``sample_ids`` are in ``keep`` (default: ``config.keep`` read
    with :func:`~maskforge.clean.keep.read_keep`) are never flagged (status ``whitelisted``).
    """
    import torch

    config = config or CleanConfig()
    started = time.perf_counter()
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be [N, D], got shape {emb.shape}")
    n_samples, dim = emb.shape
    if len(identities) != n_samples:
        raise ValueError(f"{n_samples} embeddings but {len(identities)} identities")
    dev = resolve_device(device)
    limits = _Limits.of(config)

    names, codes = np.unique(np.asarray(identities, dtype=object).astype(str), return_inverse=True)
    groups = _groups(codes, len(names))
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    cleaned = counts >= config.min_images

    x = torch.nn.functional.normalize(torch.from_numpy(emb).to(dev), dim=1)
    means = torch.zeros((len(names), dim), dtype=torch.float32, device=dev)
    means.index_add_(0, torch.from_numpy(codes).to(dev), x)
    means /= torch.from_numpy(counts).to(dev).clamp(min=1).unsqueeze(1).float()

    phases = {"prepare": time.perf_counter() - started}
    cleaned_groups = [groups[i] for i in np.flatnonzero(cleaned)]
    scored = _score_groups(x, means, codes, cleaned_groups, len(names), config, limits, dev)
    phases["score"] = time.perf_counter() - started - sum(phases.values())

    score_np = scored.score.cpu().numpy()
    thresh_np = scored.thresh.cpu().numpy()
    keep = keep if keep is not None else read_keep(config.keep)
    white = _whitelisted(keep, n_samples, source_paths, sample_ids) if len(keep) else None
    flagged, status, reason, nearest, nearest_d = _decide(
        x, means, codes, names, counts, score_np, thresh_np, white, config, limits, dev
    )
    phases["nearest"] = time.perf_counter() - started - sum(phases.values())

    stats = {
        "identity": names.astype(object),
        "images": counts,
        "flagged": np.bincount(codes, weights=flagged, minlength=len(names)).astype(np.int64),
        "threshold": scored.id_thr,
        "median_score": scored.id_med,
        "cleaned": cleaned,
    }
    seconds = time.perf_counter() - started
    phases["finish"] = seconds - sum(phases.values())
    log.info("cleaned %d samples in %d batches on %s in %.2fs", n_samples, scored.batches, dev, seconds)
    return CleanResult(
        score=score_np,
        threshold=thresh_np,
        flagged=flagged,
        status=status,
        reason=reason,
        nearest_identity=nearest,
        nearest_distance=nearest_d,
        identity_stats=stats,
        method=config.method,
        embedder=config.embedder,
        config=config,
        device=dev,
        seconds=seconds,
        extra={"batches": scored.batches, "phases": {k: round(v, 3) for k, v in phases.items()}},
    )
