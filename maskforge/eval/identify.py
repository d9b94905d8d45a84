"""1:N identification of masked probes against an unmasked gallery: :func:`identify`.

Split: per identity (a folder of identity folders, see :mod:`maskforge.io.sources`), a seeded
shuffle (``rng_for(seed, "eval-gallery", identity)``) puts ``gallery_per_identity`` images in the
gallery and the rest among the probes; identities with no image left over are gallery-only
distractors. Gallery crops are never masked; probes are masked unless ``mask="none"``.

Scores: the distance of a probe to an identity is its smallest distance to that identity's
gallery images. Rank-k: the probe's own identity is among the k nearest identities. Open set: every
probe is also searched with its own identity left out of the gallery (a non-mated search); the
threshold is the largest whose false-positive identification rate (non-mated searches whose
nearest distance is ``<=`` it) stays ``<= far``. At it, ``dir`` (detection and identification
rate) is the fraction of probes identified at rank 1 within the threshold, and ``accuracy`` the
fraction of the 2 x probes searches decided right (mated: identified; non-mated: rejected).

A probe that failed (no usable face) is a miss at every rank and a correct rejection in its
non-mated search (it returns nothing); a gallery image that failed is left out of the gallery, so
the probes of an identity without gallery images are misses. All of them are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..detect import DetectConfig, DetectStage
from ..io.sources import list_samples
from ..seeding import EVAL_GALLERY, rng_for
from .faces import Embeddings, Failure, embed_images, make_masker, run_info
from .verify import detect_stage

IDENTIFY_MASKS = ("probes", "none")


@dataclass
class IdentifyResult:
    """``metrics`` (what ``OUT/metrics.json`` holds), the gallery and probe paths with their
    identities, the failures, the embeddings, and per probe ``(path, identity, nearest identity,
    rank of its own identity (0: failed), distance to its own identity)``."""

    metrics: dict[str, Any]
    gallery: list[tuple[str, str]]
    probes: list[tuple[str, str]]
    failures: list[Failure]
    embeddings: Embeddings
    ranks: list[tuple[str, str, str, int, float]]


def split_gallery(
    by_identity: Mapping[str, list[str]], per_identity: int, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(gallery, probes)`` as ``(path, identity)`` lists (module doc)."""
    gallery, probes = [], []
    for ident in sorted(by_identity):
        paths = sorted(by_identity[ident])
        order = rng_for(seed, EVAL_GALLERY, ident).permutation(len(paths))
        chosen = [paths[i] for i in order]
        gallery += [(p, ident) for p in sorted(chosen[:per_identity])]
        probes += [(p, ident) for p in sorted(chosen[per_identity:])]
    return gallery, probes


def identity_distances(
    probes: np.ndarray, gallery: np.ndarray, gallery_ids: np.ndarray, n_ids: int, chunk: int = 1024
) -> np.ndarray:
    """``(Q, n_ids)`` smallest distance of each probe to each identity's gallery vectors
    (``inf`` for identities without any); unit vectors in, Euclidean distances out. Probes are
    scored ``chunk`` at a time, so memory stays ``chunk x gallery size``."""
    out = np.full((len(probes), n_ids), np.inf)
    if not len(probes) or not len(gallery):
        return out
    order = np.argsort(gallery_ids, kind="stable")
    g = gallery[order].astype(np.float64)
    ids = gallery_ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    for lo in range(0, len(probes), chunk):
        cos = probes[lo : lo + chunk].astype(np.float64) @ g.T
        d = np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0))
        out[lo : lo + chunk, ids[starts]] = np.minimum.reduceat(d, starts, axis=1)
    return out


def identification_metrics(dist: np.ndarray, truth: np.ndarray, far: float = 0.01) -> dict:
    """Rank-1/rank-5 and open-set figures from ``(Q, K)`` probe-to-identity distances (a row of
    ``inf`` is a failed probe) and each probe's identity index ``truth`` (module doc)."""
    q = len(truth)
    rows = np.arange(q)
    own = dist[rows, truth] if q else np.zeros(0)
    ok = np.isfinite(own)
    rank = (dist < own[:, None]).sum(axis=1) + 1 if q else np.zeros(0, int)
    other = dist.copy()
    other[rows, truth] = np.inf
    nonmated = other.min(axis=1) if dist.shape[1] > 1 else np.full(q, np.inf)
    searched = np.sort(nonmated[np.isfinite(nonmated)])
    n = len(searched)
    allowed = int(np.floor(far * n + 1e-9))
    threshold = np.inf if allowed >= n else float(np.nextafter(searched[allowed], -np.inf))
    hit = ok & (rank == 1) & (own <= threshold)
    rejected = ~(nonmated <= threshold)
    return {
        "probes": int(q),
        "rank1": float((ok & (rank <= 1)).mean()) if q else float("nan"),
        "rank5": float((ok & (rank <= 5)).mean()) if q else float("nan"),
        "open_set": {
            "far": float(far),
            "threshold": threshold,
            "fpir": float((~rejected).sum() / n) if n else float("nan"),
            "dir": float(hit.mean()) if q else float("nan"),
            "accuracy": float((hit.sum() + rejected.sum()) / (2 * q)) if q else float("nan"),
            "non_mated": n,
            "resolvable": bool(far * n >= 1.0 - 1e-9),
        },
    }


def identify(
    images: str | Path,
    embed_fn: Any,
    gallery_per_identity: int = 1,
    mask: str = "probes",
    occluder: str | None = None,
    mix: str | None = None,
    wear: str = "correct",
    seed: int = 0,
    size: int = 112,
    far: float = 0.01,
    detect: DetectStage | DetectConfig | Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IdentifyResult:
    """Masked probes matched 1:N against an unmasked gallery (module doc).

    ``images``: a folder of identity folders (or a path,identity list file). ``embed_fn``,
    ``occluder``/``mix``/``wear``/``seed``, ``size``, ``detect``: as for
    :func:`maskforge.eval.verify`. ``mask``: ``probes`` or ``none``. ``far``: target false-positive
    identification rate of the open-set threshold."""
    if mask not in IDENTIFY_MASKS:
        raise ValueError(f"mask must be one of {', '.join(IDENTIFY_MASKS)}, got {mask!r}")
    if gallery_per_identity < 1:
        raise ValueError("gallery_per_identity must be >= 1")
    listing = list_samples(images)
    by_identity: dict[str, list[str]] = {}
    for s in listing.samples:
        by_identity.setdefault(s.identity, []).append(s.source_path)
    gallery, probes = split_gallery(by_identity, gallery_per_identity, seed)
    masked = mask == "probes"
    masker = make_masker(occluder, mix, wear, seed) if masked else None
    wanted = [(p, False) for p, _ in gallery] + [(p, masked) for p, _ in probes]
    stage = detect_stage(detect, size)
    emb = embed_images(wanted, listing.root, embed_fn, masker, stage, progress)
    ids = {name: k for k, name in enumerate(sorted(by_identity))}
    g_keep = [(p, i) for p, i in gallery if emb.get(p, False) is not None]
    g_vec = np.array([emb.get(p, False) for p, _ in g_keep]).reshape(len(g_keep), -1)
    g_ids = np.array([ids[i] for _, i in g_keep], np.int64)
    p_vec = [emb.get(p, masked) for p, _ in probes]
    dim = next((len(v) for v in [*g_vec, *p_vec] if v is not None), 1)
    p_arr = np.array([v if v is not None else np.zeros(dim, np.float32) for v in p_vec])
    dist = identity_distances(p_arr.reshape(len(probes), -1), g_vec, g_ids, len(ids))
    failed = np.array([v is None for v in p_vec], bool)
    dist[failed] = np.inf
    truth = np.array([ids[i] for _, i in probes], np.int64)
    metrics = identification_metrics(dist, truth, far)
    failures = sorted(emb.failures.values(), key=lambda f: f.path)
    metrics.update(
        gallery_images=len(gallery),
        gallery_identities=len({i for _, i in g_keep}),
        gallery_per_identity=int(gallery_per_identity),
        failures={
            "images": len(failures),
            "probes": int(failed.sum()),
            "gallery": len(gallery) - len(g_keep),
            "list": [f.__dict__ for f in failures],
        },
        **run_info(embed_fn, mask, masker, seed, stage.config.size),
    )
    names = sorted(by_identity)
    rows = probe_rows(dist, truth)
    table = [
        (path, ident, names[k] if k >= 0 else "", rank, d)
        for (path, ident), (k, rank, d) in zip(probes, rows, strict=True)
    ]
    return IdentifyResult(metrics, gallery, probes, failures, emb, table)


def probe_rows(dist: np.ndarray, truth: np.ndarray) -> list[tuple[int, int, float]]:
    """Per probe: the index of the nearest identity (-1 for a failed probe), the rank of its own
    identity (0 for a miss without distance) and its distance to its own identity."""
    out = []
    for q, k in enumerate(truth):
        own = float(dist[q, k])
        if not np.isfinite(own):
            nearest = int(np.argmin(dist[q])) if np.isfinite(dist[q]).any() else -1
            out.append((nearest, 0, own))
            continue
        out.append((int(np.argmin(dist[q])), int((dist[q] < own).sum()) + 1, own))
    return out
