"""Embeddings of one shard's aligned faces, materialised in the stage cache.

The embedder is resolved when the run is planned (:func:`maskforge.embed.resolve_identity`):
``auto`` becomes the embedder it stands for, and its name and weights' SHA-256 go into the embed
stage key (:func:`maskforge.embed.cache_key`), the stats (hence the manifest) and the cleaning
config, so cached vectors are never judged by another embedder's thresholds.

dlib embedders (``wants_source``) get each face's source image and source-frame landmarks5 (the
crop's mapped back through the stored transform) and cut dlib's own chips from the source pixels;
others get the aligned crops. Runs on CUDA in a GPU worker (``gpu=True``: CUDA required).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from ..io.decode import decode_image
from ..onnxrt import is_onnx
from .cache import StageCache
from .context import RunContext
from .decode_stage import decode_samples
from .detect_task import DetectTask
from .progress import Tick, ticker
from .records import ShardStats

EMBED_SCHEMA = pa.schema([("sample_id", pa.string()), ("embedding", pa.list_(pa.float32()))])


class EmbedTask:
    """``task(index) -> stats``: one embedding per aligned face of shard ``index``.

    ``gpu``: this task runs in a GPU worker, so the embedder must get CUDA (DeviceError
    otherwise, never a silent CPU fallback); ``threads``: torch threads (the worker's CPUs)."""

    stage_name = "embed"

    def __init__(self, plan: RunContext, gpu: bool = False, threads: int | None = None) -> None:
        self.plan = plan
        self.detect = DetectTask(plan)
        self.cache = StageCache(plan.layout.cache("embed", plan.stage_keys["embed"]))
        self.config = plan.recipe.embed_config
        self.gpu = gpu
        self.threads = threads
        self._embedder: Any = None

    @property
    def embedder_name(self) -> str:
        """The resolved embedder name (from the plan; never loads a model)."""
        return str(self.plan.embed_identity.get("name") or self.config.embedder)

    @property
    def embedder(self) -> Any:  # maskforge.embed.Embedder, imported lazily
        if self._embedder is None:
            from ..embed import make_embedder

            c = self.config
            options: dict[str, Any] = {"require_cuda": True} if self.gpu else {}
            if (self.embedder_name == "dlib-resnet" or is_onnx(self.embedder_name)) and self.threads:
                options["threads"] = self.threads
            self._embedder = make_embedder(
                self.embedder_name, device=c.device, weights=c.weights, batch_size=c.batch_size, **options
            )
        return self._embedder

    def warm(self) -> None:
        """Load the embedder now."""
        _ = self.embedder

    def cache_key(self, index: int) -> str:
        """The content key of shard ``index`` in the embed cache."""
        return self.plan.shard_key(index)

    def stored_model(self, index: int) -> dict[str, Any] | None:
        """The ``model`` record of shard ``index``'s cached embeddings (None if not cached)."""
        stats = self.cache.stats(index, self.cache_key(index))
        return stats.get("model") if stats else None

    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> ShardStats:
        """``tick(n)``: faces of the shard embedded so far (see :mod:`.progress`)."""
        key = self.cache_key(index)
        if resume and (cached := self.cache.stats(index, key)) is not None:
            return {**cached, "skipped": True}
        faces = self.detect.cache.read(
            index, columns=["sample_id", "image", "landmarks5", "transform"]
        )
        ids = faces.column("sample_id").to_pylist()
        vectors = np.zeros((0, 0), np.float32)
        from_crop = 0
        info: dict[str, Any] = dict(self.plan.embed_identity)
        embedder = self.embedder if ids else None  # model loading is not the shard's time
        t0 = time.perf_counter()
        if embedder is not None:
            images, points, from_crop = self._inputs(index, faces, embedder.wants_source)
            t_inputs = time.perf_counter() - t0
            vectors = self._embed(embedder, images, points, ticker(tick))
            info = {**info, **embedder.info}
        else:
            t_inputs = 0.0
        table = pa.table(
            {"sample_id": ids, "embedding": [v.tolist() for v in vectors]}, schema=EMBED_SCHEMA
        )
        stats: ShardStats = {
            "shard": index,
            "key": key,
            "faces": len(ids),
            "chips_from_crop": from_crop,
            "seconds": {"inputs": t_inputs, "embed": time.perf_counter() - t0 - t_inputs},
            "model": info,
            "skipped": False,
        }
        self.cache.write(index, table, [], stats)
        return stats

    def _embed(self, embedder: Any, images: list, points: list, tick: Tick) -> np.ndarray:
        """Vectors of ``images`` in calls of the embedder's own batch size (so the batches, hence
        the bytes, are those of one call), reporting progress after each."""
        step = max(1, self.config.batch_size)
        parts = []
        for start in range(0, len(images), step):
            stop = start + step
            parts.append(np.asarray(embedder.embed(images[start:stop], points[start:stop]), np.float32))
            tick(min(stop, len(images)))
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def _inputs(
        self, index: int, faces: pa.Table, wants_source: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray], int]:
        """Images and landmarks5 for the embedder: source images with source-frame points when
        it ``wants_source`` (a face whose source no longer decodes uses its crop), else crops."""
        from ..embed.chips import landmarks_to_source

        encoded = faces.column("image").to_pylist()
        lm5 = [np.asarray(p, np.float32) for p in faces.column("landmarks5").to_pylist()]
        if not wants_source:
            return [decode_image(b) for b in encoded], lm5, 0
        ids = faces.column("sample_id").to_pylist()
        transforms = faces.column("transform").to_pylist()
        samples = {s.sample_id: s for s in self.plan.shard(index).shard.samples}
        source = self.plan.recipe.source
        decoded, _ = decode_samples(
            [samples[i] for i in ids if i in samples], max_pixels=source.max_pixels, min_side=source.min_side
        )
        pixels = {d.sample.sample_id: d.pixels for d in decoded}
        images, points, from_crop = [], [], 0
        for i, sid in enumerate(ids):
            if sid in pixels and transforms[i] is not None:
                images.append(pixels[sid])
                points.append(landmarks_to_source(lm5[i], np.asarray(transforms[i])))
            else:  # the crop is decoded only when the source cannot be
                images.append(decode_image(encoded[i]))
                points.append(lm5[i])
                from_crop += 1
        return images, points, from_crop
