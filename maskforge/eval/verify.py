"""Masked-face verification on pairs: :func:`verify`.

``mask``: ``none`` (both images unmasked), ``one`` (the second image of every pair masked),
``both`` (both masked). Each image is detected once and embedded once per mask mode it needs;
the distance of a pair is the Euclidean distance of the two unit vectors, ``+inf`` when either
image failed (see :mod:`maskforge.eval.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..detect import DetectConfig, DetectStage
from ..errors import SourceError
from .faces import Embeddings, Failure, Images, Masker, embed_images, make_masker, run_info
from .pairs import Pair, read_pairs
from .protocol import roc, verification_metrics

MASK_MODES = ("none", "one", "both")


@dataclass
class VerifyResult:
    """The outcome of :func:`verify`.

    Attributes:
        metrics: what ``OUT/metrics.json`` holds (see docs/evaluation.md).
        pairs: the pairs, in file order.
        distances: ``(P,)`` float64 pair distances (``inf``: a failed image).
        failures: the images without an embedding, sorted by path.
        embeddings: vectors and crop thumbnails per ``(path, masked)``.
        mask: the mask mode.
    """

    metrics: dict[str, Any]
    pairs: list[Pair]
    distances: np.ndarray
    failures: list[Failure]
    embeddings: Embeddings
    mask: str

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(far, tar, thresholds)`` over all pairs."""
        return roc(self.distances, [p.same for p in self.pairs])


def pair_masks(mask: str) -> tuple[bool, bool]:
    """Whether the first and the second image of a pair are masked in mode ``mask``."""
    if mask not in MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(MASK_MODES)}, got {mask!r}")
    return mask == "both", mask in ("one", "both")


def check_pairs(pairs: Sequence[Pair]) -> None:
    """Raise SourceError unless the pairs allow the protocol: both kinds, two or more folds."""
    kinds = {p.same for p in pairs}
    folds = {p.fold for p in pairs}
    if kinds != {True, False}:
        raise SourceError(
            f"the {len(pairs)} pairs are all {'matched' if True in kinds else 'mismatched'}: "
            "verification needs matched and mismatched pairs (maskforge eval make-pairs makes both)"
        )
    if len(folds) < 2:
        raise SourceError(
            "the pairs lie in a single fold; LFW's protocol chooses each fold's threshold on the "
            "others, so it needs 2 or more (a CSV without a fold column is dealt into 10)"
        )


def pair_distances(pairs: Sequence[Pair], emb: Embeddings, mask: str) -> np.ndarray:
    """Distance per pair from the embeddings (``inf`` where an embedding is missing)."""
    ma, mb = pair_masks(mask)
    out = np.full(len(pairs), np.inf)
    for k, p in enumerate(pairs):
        a, b = emb.get(p.path_a, ma), emb.get(p.path_b, mb)
        if a is not None and b is not None:
            out[k] = float(np.linalg.norm(a.astype(np.float64) - b))
    return out


def verify(
    pairs: Sequence[Pair] | str | Path,
    images: Images,
    embed_fn: Any,
    mask: str = "one",
    occluder: str | None = None,
    mix: str | None = None,
    wear: str = "correct",
    seed: int = 0,
    size: int = 112,
    detect: DetectStage | DetectConfig | Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Score ``embed_fn`` on verification pairs under LFW's protocol.

    Args:
        pairs: Pair objects or the path of a pairs file (LFW ``pairs.txt`` or CSV).
        images: the folder the pairs' paths are relative to, or the encoded images by key (the
            pairs' paths are then keys: see :func:`maskforge.eval.bin_sets.bin_pairs`).
        embed_fn: crops ``(N, H, W, 3)`` uint8 RGB -> ``(N, D)`` array, or a
            :class:`maskforge.embed.Embedder` (from ``make_embedder``).
        mask: ``none``, ``one`` (second image masked) or ``both``.
        occluder, mix, wear, seed: what is drawn on masked crops (see :func:`make_masker`);
            seeded per image path.
        size: side of the aligned crops in pixels (112: ArcFace template, 160: FaceNet-style).
        detect: a DetectStage to reuse, or detect settings (``DetectConfig`` or dict; ``size``
            applies unless they set one).

    Returns:
        A :class:`VerifyResult`; ``metrics`` has the keys of ``OUT/metrics.json``.
    """
    pair_list = read_pairs(pairs) if isinstance(pairs, (str, Path)) else list(pairs)
    check_pairs(pair_list)
    ma, mb = pair_masks(mask)
    masker: Masker | None = make_masker(occluder, mix, wear, seed) if mask != "none" else None
    wanted = {(p.path_a, ma) for p in pair_list} | {(p.path_b, mb) for p in pair_list}
    stage = detect_stage(detect, size)
    emb = embed_images(wanted, images, embed_fn, masker, stage, progress)
    dist = pair_distances(pair_list, emb, mask)
    metrics = verification_metrics(dist, [p.same for p in pair_list], [p.fold for p in pair_list])
    failed_pairs = int(np.isinf(dist).sum())
    failures = sorted(emb.failures.values(), key=lambda f: f.path)
    metrics.update(
        failures={
            "images": len(failures),
            "pairs": failed_pairs,
            "matched_pairs": int(
                sum(np.isinf(d) and p.same for d, p in zip(dist, pair_list, strict=True))
            ),
            "list": [f.__dict__ for f in failures],
        },
        **run_info(embed_fn, mask, masker, seed, stage.config.size),
        images=len({p for p, _ in wanted}),
        embedded=len(emb.vectors),
    )
    return VerifyResult(metrics, pair_list, dist, failures, emb, mask)


def detect_stage(
    detect: DetectStage | DetectConfig | Mapping[str, Any] | None, size: int
) -> DetectStage:
    """The detect stage of an evaluation: ``detect`` itself when it is a DetectStage (its models
    already loaded: reuse one across calls), else a stage of ``detect``'s settings with ``size``
    unless they set their own."""
    if isinstance(detect, DetectStage):
        return detect
    if isinstance(detect, DetectConfig):
        return DetectStage(detect)
    return DetectStage(DetectConfig.from_dict({"size": int(size), **dict(detect or {})}))
