"""Embeddings of one shard's aligned faces, materialised in the stage cache.

Runs on the GPU when the embedder's device resolves to ``cuda`` (the Ray executor places this
task in a GPU actor pool when GPUs exist), else on the CPU: same code path.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from ..io.decode import decode_image
from ..recipe import Key, check_table
from .cache import StageCache
from .detect_task import DetectTask
from .plan import RunPlan

EMBED_SPEC = {
    "embedder": Key((str,), "auto", None, "auto | facenet-vggface2 | dlib-resnet"),
    "weights": Key((str,), None, None, "facenet state dict or dlib .dat file"),
    "device": Key((str,), "auto", None, "auto | cpu | cuda"),
    "batch_size": Key((int,), 64, lambda v: None if v > 0 else "must be > 0"),
}


def embed_config(recipe: dict[str, Any]) -> dict[str, Any]:
    """The ``[embed]`` table with defaults (also when only ``[clean]`` asks for embeddings)."""
    return check_table("<recipe>", "embed", recipe.get("embed") or {}, EMBED_SPEC)


EMBED_SCHEMA = pa.schema([("sample_id", pa.string()), ("embedding", pa.list_(pa.float32()))])


class EmbedTask:
    """``task(index) -> stats``: one embedding per aligned face of shard ``index``."""

    stage_name = "embed"

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.detect = DetectTask(plan)
        self.cache = StageCache(plan.layout.cache("embed", plan.stage_keys["embed"]))
        self.config = embed_config(plan.recipe)
        self._embedder = None

    @property
    def embedder(self):  # noqa: ANN201 - maskforge.embed.Embedder, imported lazily
        if self._embedder is None:
            from ..embed import make_embedder

            c = self.config
            self._embedder = make_embedder(
                c["embedder"], device=c["device"], weights=c["weights"], batch_size=c["batch_size"]
            )
        return self._embedder

    def __call__(self, index: int, resume: bool = True) -> dict[str, Any]:
        key = self.plan.shard_key(index)
        if resume and (stats := self.cache.stats(index, key)) is not None:
            return {**stats, "skipped": True}
        t0 = time.perf_counter()
        faces = self.detect.cache.read(index, columns=["sample_id", "image", "landmarks5"])
        ids = faces.column("sample_id").to_pylist()
        vectors = np.zeros((0, 0), np.float32)
        if ids:
            crops = [decode_image(b) for b in faces.column("image").to_pylist()]
            lm5 = [np.asarray(p, np.float32) for p in faces.column("landmarks5").to_pylist()]
            vectors = np.asarray(self.embedder.embed(crops, lm5), np.float32)
        table = pa.table(
            {"sample_id": ids, "embedding": [v.tolist() for v in vectors]}, schema=EMBED_SCHEMA
        )
        info = self.embedder.info if ids else {}
        stats = {
            "shard": index,
            "key": key,
            "faces": len(ids),
            "seconds": {"embed": time.perf_counter() - t0},
            "model": info,
            "skipped": False,
        }
        self.cache.write(index, table, [], stats)
        return stats
