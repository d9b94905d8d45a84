"""Identity hygiene in a run: per-shard signatures, then one cross-identity step on the driver.

1. :class:`SignatureTask` (per shard, after ``embed``): each input's file-bytes hash, decoded-pixel
   hash and pHash (:func:`maskforge.hygiene.stage.sample_signature`), cached in
   ``OUT/cache/signature-<key>/``.
2. :func:`run_hygiene_step` (on the driver, once every shard is embedded): reads every shard's
   embeddings and signatures, embeds the evaluation sets of ``exclude`` (cached), runs
   :func:`maskforge.hygiene.stage.run_hygiene` over all of them, writes ``OUT/hygiene.parquet``
   and ``OUT/hygiene.json``, and returns the decisions the finish tasks apply: sample id ->
   ``""`` (removed) or the identity it is relabelled to.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .cache import StageCache
from .context import RunContext, config_key
from .decode_stage import decode_samples
from .progress import Tick, ticker
from .records import ShardStats

if TYPE_CHECKING:  # torch loads only when hygiene runs
    from ..hygiene.config import HygieneConfig
    from ..hygiene.decide import HygieneResult
    from ..hygiene.search import EvalEmbeddings, HygieneInput

SIGNATURE_SCHEMA = pa.schema(
    [("sample_id", pa.string()), ("file_hash", pa.string()), ("pixel_hash", pa.string()),
     ("phash", pa.uint64())]
)  # fmt: skip


def signature_key(ctx: RunContext) -> str:
    """The signature stage's key: how sources are decoded (the pixels hashed)."""
    source = ctx.recipe.source
    return config_key("signature", 1, source.max_pixels, source.min_side)


class SignatureTask:
    """``task(index) -> stats``: the hashes of shard ``index``'s inputs (rejected ones: none)."""

    stage_name = "signature"

    def __init__(self, plan: RunContext) -> None:
        self.plan = plan
        self.cache = StageCache(plan.layout.cache("signature", signature_key(plan)))

    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> ShardStats:
        from ..hygiene.stage import sample_signature

        key = self.plan.shard_key(index)
        if resume and (cached := self.cache.stats(index, key)) is not None:
            return {**cached, "skipped": True}
        t0 = time.perf_counter()
        source = self.plan.recipe.source
        decoded, _ = decode_samples(self.plan.shard(index).shard.samples,
                                    max_pixels=source.max_pixels, min_side=source.min_side)  # fmt: skip
        rows = []
        step = ticker(tick)
        for k, d in enumerate(decoded):
            fh, ph, h = sample_signature(d.raw, d.pixels)
            rows.append({"sample_id": d.sample.sample_id, "file_hash": fh, "pixel_hash": ph, "phash": h})
            step(k + 1)
        table = pa.Table.from_pylist(rows, schema=SIGNATURE_SCHEMA)
        stats: ShardStats = {"shard": index, "key": key, "seconds": {"signature": time.perf_counter() - t0},
                             "skipped": False}  # fmt: skip
        self.cache.write(index, table, [], stats)
        return stats


def _embed_images(
    ctx: RunContext, paths: list[str], encoded: tuple[bytes, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(ok [M] bool, unit embeddings [M, D])`` of image files (or of ``encoded`` aligned
    112x112 faces of a ``.bin``), detected and embedded as the run does (the recipe's
    ``[detect]``, or for ``.bin`` faces the aligned input settings, and ``[embed]``)."""
    from ..detect import AlignedFace, DetectConfig, DetectStage
    from ..embed import make_embedder
    from ..embed.chips import landmarks_to_source
    from ..eval.bin_sets import BIN_DETECT
    from ..io.decode import decode_image

    c = ctx.recipe.embed_config
    name = str(ctx.embed_identity.get("name") or c.embedder)
    emb = make_embedder(name, device=c.device, weights=c.weights, batch_size=c.batch_size)
    images = [decode_image(p) for p in (encoded if encoded is not None else paths)]
    detect = DetectConfig.parse(BIN_DETECT) if encoded is not None else ctx.recipe.detect
    faces = DetectStage(detect)(images)
    ok = np.array([isinstance(f, AlignedFace) for f in faces], bool)
    out = np.zeros((len(paths), 0), np.float32)
    idx = np.flatnonzero(ok)
    if len(idx):
        found = [f for f in faces if isinstance(f, AlignedFace)]
        if emb.wants_source:
            pts = [landmarks_to_source(f.landmarks5, f.transform) for f in found]
            vecs = emb.embed([images[i] for i in idx], pts)
        else:
            vecs = emb.embed([f.image for f in found], [f.landmarks5 for f in found])
        out = np.zeros((len(paths), vecs.shape[1]), np.float32)
        out[idx] = np.asarray(vecs, np.float32)
    return ok, out


def embed_eval_sets(ctx: RunContext, config: HygieneConfig) -> list[EvalEmbeddings]:
    """Every ``exclude`` set read and embedded, cached in ``OUT/cache/hygiene-eval-<key>.npz``
    (key: the embed stage key and each file's path, size and mtime)."""
    import io
    import os

    from ..hygiene.evalsets import load_eval_set
    from ..hygiene.search import EvalEmbeddings
    from ..io.writer import write_bytes_atomic

    out = []
    for spec in config.exclude_specs():
        es = load_eval_set(spec)
        files = [spec.path] if es.images is not None else es.paths
        stamp = [(p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in files]
        key = config_key("hygiene-eval", ctx.stage_keys.get("embed"), stamp)
        path = ctx.out / "cache" / f"hygiene-eval-{key}.npz"
        if path.is_file():
            z = np.load(path)
            ok, vecs = z["ok"], z["emb"]
        else:
            ok, vecs = _embed_images(ctx, list(es.paths), es.images)
            buf = io.BytesIO()
            np.savez(buf, ok=ok, emb=vecs)
            write_bytes_atomic(buf.getvalue(), path)
        keep = np.flatnonzero(ok)
        root = spec.images or (spec.path if es.images is None else "")
        out.append(EvalEmbeddings(es.label, vecs[keep], [es.names[i] for i in keep],
                                  [es.paths[i] for i in keep], os.path.abspath(root) if root else ""))  # fmt: skip
    return out


def _gather(plan: Any, config: HygieneConfig) -> HygieneInput:
    """Every embedded sample of the run (with its signature), sorted by source path."""
    from ..hygiene.search import HygieneInput
    from .embed_task import EmbedTask

    embed = EmbedTask(plan)
    sig = SignatureTask(plan)
    samples = {s.sample_id: s for sh in plan.shards for s in sh.samples}
    vec: dict[str, Any] = {}
    hashes: dict[str, dict[str, Any]] = {}
    for sh in plan.shards:
        t = embed.cache.read(sh.index)
        vec.update(zip(t.column("sample_id").to_pylist(), t.column("embedding").to_pylist(), strict=True))
        if config.exact or config.near:
            for r in sig.cache.read(sh.index).to_pylist():
                hashes[r["sample_id"]] = r
    ids = sorted((i for i in vec if vec[i]), key=lambda i: samples[i].source_path)
    h = [hashes.get(i, {}) for i in ids]
    return HygieneInput(
        np.asarray([vec[i] for i in ids], np.float32).reshape(len(ids), -1),
        [samples[i].identity for i in ids], [samples[i].source_path for i in ids], sample_ids=ids,
        file_hashes=[r.get("file_hash") for r in h], pixel_hashes=[r.get("pixel_hash") for r in h],
        phashes=np.asarray([r.get("phash") or 0 for r in h], np.uint64),
    )  # fmt: skip


def run_hygiene_step(plan: Any) -> tuple[dict[str, str], HygieneResult]:
    """Hygiene over every shard of ``plan`` (a RunPlan whose shards are all embedded): writes
    ``OUT/hygiene.parquet`` and ``OUT/hygiene.json``; returns the decisions (sample id -> ``""``
    removed, or the new identity) and the result."""
    from ..hygiene.stage import run_hygiene
    from ..hygiene.table import write_outputs

    config = plan.recipe.hygiene.model_copy(update={"embedder": plan.embed_identity.get("name") or "dlib-resnet"})
    inp = _gather(plan, config)
    evals = embed_eval_sets(plan, config)
    result = run_hygiene(inp, config, evals)
    write_outputs(plan.out, result, inp, config, evals)
    decisions: dict[str, str] = {}
    for k, sid in enumerate(inp.sample_ids or []):
        if result.removed[k]:
            decisions[sid] = ""
        elif result.identity[k] != inp.identities[k]:
            decisions[sid] = str(result.identity[k])
    return decisions, result
