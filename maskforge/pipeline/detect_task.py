"""Detect/align/landmarks for one shard, materialised in the stage cache.

Output rows (``OUT/cache/detect-<key>/shard-N.parquet``) carry the sample's provenance, the aligned
crop as lossless PNG, and its geometry (``bbox``, ``det_score``, ``landmarks5``, ``landmarks68``,
``pose``, ``transform``) in the crop's pixel frame. Decode and detection failures are reject rows.
The cache has no ``label`` column: labels are given when the dataset shard is written.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from ..io.decode import encode_image
from ..io.schema import SAMPLE_SCHEMA, to_table
from .cache import StageCache
from .context import RunContext
from .decode_stage import decode_shard, reject_row
from .progress import Tick, ticker
from .records import ShardStats

#: Images per call of the detect stage at least (MTCNN batches them; a larger
#: ``detect.batch_size`` makes the calls larger too).
BATCH = 32


#: The detect cache's columns: the sample columns but ``label`` (never cached).
DETECT_CACHE_SCHEMA = pa.schema(
    [f for f in SAMPLE_SCHEMA if f.name != "label"], metadata=SAMPLE_SCHEMA.metadata
)


def base_row(sample: Any) -> dict[str, Any]:
    """The provenance columns of a sample (no ``label``: it comes from the run's label space)."""
    return {
        "sample_id": sample.sample_id,
        "identity": sample.identity,
        "source_path": sample.source_path,
    }


class DetectTask:
    """``task(index) -> stats``: aligned faces of shard ``index`` (reused when cached)."""

    stage_name = "detect"

    def __init__(self, plan: RunContext) -> None:
        if plan.recipe.detect is None:
            raise ValueError("a detect task needs a recipe with [detect]")
        self.plan = plan
        self.config = plan.recipe.detect
        self.cache = StageCache(plan.layout.cache("detect", plan.stage_keys["detect"]))
        self._stage: Any = None

    @property
    def stage(self) -> Any:  # maskforge.detect.DetectStage, imported lazily
        if self._stage is None:
            from ..detect import DetectStage

            self._stage = DetectStage(self.config)
        return self._stage

    def key(self, index: int) -> str:
        return self.plan.shard_key(index)

    def warm(self) -> None:
        """Load the models now: the detector and landmark model (the landmark model alone for
        already-aligned input)."""
        self.stage.load_models()

    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> ShardStats:
        """``tick(n)``: input images of the shard handled so far (see :mod:`.progress`)."""
        key = self.key(index)
        if resume and (cached := self.cache.stats(index, key)) is not None:
            return {**cached, "skipped": True}
        t0 = time.perf_counter()
        shard, decoded, rejects = decode_shard(self.plan, index)
        t_decode = time.perf_counter() - t0
        rows: list[dict[str, Any]] = []
        batch = max(BATCH, self.config.batch_size or BATCH)
        tick, unreadable = ticker(tick), len(shard.samples) - len(decoded)
        for start in range(0, len(decoded), batch):
            chunk = decoded[start : start + batch]
            for d, result in zip(chunk, self._detect(chunk), strict=True):
                if isinstance(result, tuple):  # (reason, detail)
                    rejects.append(reject_row(d.sample, "detect", *result))
                    continue
                h, w = result.image.shape[:2]
                rows.append(
                    {
                        **base_row(d.sample),
                        "variant": "aligned",
                        "image": encode_image(result.image, "png"),
                        "image_format": "png",
                        "width": w,
                        "height": h,
                        "bbox": result.bbox,
                        "det_score": float(result.det_score),
                        "landmarks5": result.landmarks5,
                        "landmarks68": result.landmarks68,
                        "pose": result.pose,
                        "transform": np.asarray(result.transform, np.float64).reshape(6),
                    }
                )
            tick(unreadable + start + len(chunk))
        stats: ShardStats = {
            "shard": index,
            "key": key,
            "inputs": len(shard.samples),
            "faces": len(rows),
            "rejects_by_reason": dict(Counter(f"{r['stage']}:{r['reason']}" for r in rejects)),
            "seconds": {"decode": t_decode, "detect": time.perf_counter() - t0 - t_decode},
            "model": self.stage.model_record(),
            "skipped": False,
        }
        self.cache.write(index, to_table(rows, DETECT_CACHE_SCHEMA), rejects, stats)
        return stats

    def _detect(self, chunk: list[Any]) -> list[Any]:
        """Detect a batch; a failing batch is retried image by image so one bad image costs only
        itself (a reject with reason ``error``), never the block. Models are built first, outside
        the per-image handling, and a device failure (CUDA missing, out of memory, a sticky CUDA
        error) raises DeviceError: the run fails with one message instead of rejecting images."""
        from ..detect import DetectReject
        from ..device import device_failure

        def convert(r: Any) -> Any:
            return (r.reason, r.detail) if isinstance(r, DetectReject) else r

        self.stage.load_models()  # build the models: their failures are the run's, not an image's
        try:
            out = self.stage([d.pixels for d in chunk], hints=[d.sample.hints for d in chunk])
            return [convert(r) for r in out]
        except Exception as exc:  # noqa: BLE001
            if (err := device_failure(exc)) is not None:
                raise err from exc
            results = []
            for d in chunk:
                try:
                    results.append(convert(self.stage([d.pixels], hints=[d.sample.hints])[0]))
                except Exception as exc:  # noqa: BLE001
                    if (err := device_failure(exc)) is not None:
                        raise err from exc
                    results.append(("error", f"{type(exc).__name__}: {exc}"))
            return results
