"""Find duplicate sets, same-person identity pairs and evaluation overlaps over a whole dataset.

:func:`find` takes a :class:`HygieneInput` (one row per usable sample: embedding, identity, path,
optional hashes) and the resolved config; the cross-identity searches run once over every row
(exact blocked search up to ``exact_max`` rows, else the probe search over identity centres, see
:mod:`.knn`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..clean.calibrate import default_threshold, robust_default
from ..device import resolve_device
from .centres import (
    Centres,
    centre_affinity,
    closest_images,
    group_indices,
    identity_centres,
    own_cosine,
    same_person_pairs,
)
from .config import HygieneConfig, Limits
from .exact import duplicate_groups
from .findings import DuplicateSet, Findings, IdentityPair
from .knn import Pairs, blocked_pairs_above, probed_pairs_above
from .near import components, confirm
from .overlap import find_overlap


@dataclass(frozen=True)
class HygieneInput:
    """One row per sample: ``embeddings [N, D]`` (unit rows), ``identities``, ``source_paths``
    (dataset-relative, the deterministic order), optional ``sample_ids``, ``file_hashes`` and
    ``pixel_hashes`` (hex, None where unknown) and ``phashes`` (uint64, 0 where unknown)."""

    embeddings: np.ndarray
    identities: Sequence[str]
    source_paths: Sequence[str]
    sample_ids: Sequence[str] | None = None
    file_hashes: Sequence[str | None] | None = None
    pixel_hashes: Sequence[str | None] | None = None
    phashes: np.ndarray | None = None


@dataclass(frozen=True)
class EvalEmbeddings:
    """An evaluation set's images embedded: unit rows ``[M, D]``, their identity names, their
    files (absolute paths) and the folder they lie in (for the report's thumbnails)."""

    label: str
    embeddings: np.ndarray
    names: Sequence[str]
    paths: Sequence[str] = ()
    root: str = ""


def _candidates(
    x: np.ndarray, centres: Centres, cfg: HygieneConfig, lim: Limits, dev: str
) -> Pairs:
    mem = cfg.memory_mb << 20
    t = min(lim.near_cosine, lim.crop_cosine)
    if cfg.search == "exact" or (cfg.search == "auto" and len(x) <= cfg.exact_max):
        return blocked_pairs_above(x, t, memory_bytes=mem, device=dev)
    return probed_pairs_above(x, centres.centre, t, cfg.nprobe, memory_bytes=mem, device=dev)


def _edges(inp: HygieneInput, x: np.ndarray, near: Pairs, cfg: HygieneConfig) -> dict:
    """(a, b) -> how, for every exact and near pair (a < b; exact kinds win)."""
    edges: dict[tuple[int, int], str] = {}
    if cfg.exact:
        for hashes, how in ((inp.file_hashes, "same_file"), (inp.pixel_hashes, "same_pixels")):
            if hashes is None:
                continue
            for g in duplicate_groups(list(hashes), list(inp.source_paths)):
                for m in g[1:]:
                    edges.setdefault((min(g[0], m), max(g[0], m)), how)
    for a, b in zip(near.a.tolist(), near.b.tolist(), strict=True):
        edges.setdefault((a, b), "near_duplicate")
    return edges


def _duplicate_sets(
    inp: HygieneInput, x: np.ndarray, edges: dict, own: np.ndarray, codes: np.ndarray
) -> list[DuplicateSet]:
    """Components of the duplicate graph; the keeper is the member closest to its own identity's
    centre (ties: path order), so a copy filed under the wrong identity is the one that goes."""
    if not edges:
        return []
    a = np.array([k[0] for k in edges], np.int64)
    b = np.array([k[1] for k in edges], np.int64)
    paths = list(inp.source_paths)
    hashes = inp.phashes
    out = []
    for comp in components(len(paths), a, b, paths):
        keeper = min(comp, key=lambda i: (-round(float(own[i]), 6), paths[i], i))
        members = [keeper] + [m for m in comp if m != keeper]
        how, cos, bits = [], [], []
        for m in members:
            e = edges.get((min(m, keeper), max(m, keeper)))
            how.append("keeper" if m == keeper else (e or "near_duplicate"))
            cos.append(float(x[m] @ x[keeper]))
            if hashes is None or not hashes[m] or not hashes[keeper]:
                bits.append(-1)
            else:
                bits.append(int(bin(int(hashes[m]) ^ int(hashes[keeper])).count("1")))
        across = len({int(codes[m]) for m in comp}) > 1
        out.append(
            DuplicateSet(keeper, tuple(members), tuple(how), tuple(cos), tuple(bits), across)
        )
    return out


def _identity_pairs(x: np.ndarray, centres: Centres, lim: Limits, cfg: HygieneConfig,
                    dev: str) -> list[IdentityPair]:  # fmt: skip
    pairs = same_person_pairs(centres, lim.same_person_cosine, memory_bytes=cfg.memory_mb << 20,
                              device=dev)  # fmt: skip
    groups = group_indices(centres.codes, len(centres.names))
    out = []
    for a, b, s in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.sim.tolist(), strict=True):
        ev = closest_images(x, groups[a], groups[b], cfg.evidence)
        out.append(IdentityPair(str(centres.names[a]), str(centres.names[b]), float(s), tuple(ev)))
    return out


def _centres(x: np.ndarray, ids: np.ndarray, cfg: HygieneConfig, dev: str) -> Centres:
    floor = default_threshold("robust", cfg.embedder)
    cap = robust_default(cfg.embedder, "cap")
    return identity_centres(x, ids, floor, cap, min_images=cfg.min_images,
                            memory_bytes=cfg.memory_mb << 20, device=dev)  # fmt: skip


def find(
    inp: HygieneInput, config: HygieneConfig, evals: Sequence[EvalEmbeddings] = ()
) -> tuple[Findings, Centres]:
    """Everything hygiene finds in ``inp`` (and against ``evals``), and the identity centres.

    Order: centres of every sample -> near-duplicate search (probe lists = those centres) ->
    duplicate sets; a set's keeper is the member closest to its own identity's centre computed
    without any member of a cross-identity set (so copies filed under a small identity cannot
    make it look like theirs) -> centres again without the non-keepers -> same-person pairs, each
    sample's affinity to the centres, and evaluation overlaps."""
    t0 = time.perf_counter()
    lim = config.limits()
    dev = resolve_device(config.device)
    mem = config.memory_mb << 20
    x = np.asarray(inp.embeddings, np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    ids = np.asarray(inp.identities).astype(str)
    centres = _centres(x, ids, config, dev)
    own = own_cosine(x, centres)
    stats: dict[str, float] = {"centres_s": time.perf_counter() - t0}
    f = Findings()
    near = Pairs.empty()
    if config.near:
        cand = _candidates(x, centres, config, lim, dev)
        near = confirm(cand, inp.phashes, lim.near_cosine, lim.phash_bits, lim.crop_cosine,
                       lim.crop_phash_bits).pairs  # fmt: skip
        stats["candidates"] = len(cand)
    stats["near_s"] = time.perf_counter() - t0 - stats["centres_s"]
    edges = _edges(inp, x, near, config)
    sets = _duplicate_sets(inp, x, edges, own, centres.codes)
    across = np.zeros(len(x), bool)
    for d in sets:
        across[list(d.members)] |= d.across
    if across.any():  # keepers by centres that no member of a cross-identity set pulls
        clean = centres.without(x, across)
        own = own_cosine(x, clean)
        sets = _duplicate_sets(inp, x, edges, own, centres.codes)
    f.duplicate_sets = sets
    copies = np.zeros(len(x), bool)
    for d in sets:
        copies[list(d.members[1:])] = True
    if copies.any():  # same identities (a keeper stays in each), centres without the copies
        centres = centres.without(x, copies)
    f.own_cosine, f.other_identity, f.other_cosine = centre_affinity(x, centres, memory_bytes=mem,
                                                                     device=dev)  # fmt: skip
    if config.same_person:
        f.identity_pairs = _identity_pairs(x, centres, lim, config, dev)
    for ev in evals:
        f.overlaps += find_overlap(
            x, centres, np.asarray(ev.embeddings, np.float32), list(ev.names), ev.label,
            overlap_cosine=lim.overlap_cosine, image_cosine=lim.crop_cosine,
            name_cosine=lim.name_cosine, evidence=config.evidence, memory_bytes=mem, device=dev,
        )  # fmt: skip
    stats["total_s"] = time.perf_counter() - t0
    f.stats = {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()}
    return f, centres
