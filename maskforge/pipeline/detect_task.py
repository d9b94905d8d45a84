"""Detect/align/landmarks for one shard, materialised in the stage cache.

Output rows (``OUT/cache/detect-<key>/shard-N.parquet``) carry the sample's provenance, the aligned
crop as lossless PNG, and its geometry (``bbox``, ``det_score``, ``landmarks5``, ``landmarks68``,
``pose``, ``transform``) in the crop's pixel frame. Decode and detection failures are reject rows.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from ..io.decode import encode_image
from ..io.schema import SAMPLE_SCHEMA, to_table
from .cache import StageCache
from .decode_stage import decode_samples, reject_row
from .plan import RunPlan, shard_key

#: Images per call of the detect stage at least (MTCNN batches them; a larger
#: ``detect.batch_size`` makes the calls larger too).
BATCH = 32


def base_row(sample: Any) -> dict[str, Any]:
    """The provenance columns of a sample."""
    return {
        "sample_id": sample.sample_id,
        "identity": sample.identity,
        "label": sample.label,
        "source_path": sample.source_path,
    }


class DetectTask:
    """``task(index) -> stats``: aligned faces of shard ``index`` (reused when cached)."""

    stage_name = "detect"

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.cache = StageCache(plan.layout.cache("detect", plan.stage_keys["detect"]))
        self._stage = None

    @property
    def stage(self):  # noqa: ANN201 - maskforge.detect.DetectStage, imported lazily
        if self._stage is None:
            from ..detect import DetectConfig, DetectStage

            self._stage = DetectStage(DetectConfig.from_dict(self.plan.recipe["detect"]))
        return self._stage

    def key(self, index: int) -> str:
        return shard_key(self.plan.shards[index])

    def __call__(self, index: int, resume: bool = True) -> dict[str, Any]:
        key = self.key(index)
        if resume and (stats := self.cache.stats(index, key)) is not None:
            return {**stats, "skipped": True}
        shard = self.plan.shards[index]
        source = self.plan.recipe["source"]
        t0 = time.perf_counter()
        decoded, rejects = decode_samples(
            shard.samples, max_pixels=source["max_pixels"], min_side=source["min_side"]
        )
        t_decode = time.perf_counter() - t0
        rows: list[dict[str, Any]] = []
        batch = max(BATCH, int(self.plan.recipe["detect"].get("batch_size") or BATCH))
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
        stats = {
            "shard": index,
            "key": key,
            "inputs": len(shard.samples),
            "faces": len(rows),
            "rejects_by_reason": dict(Counter(f"{r['stage']}:{r['reason']}" for r in rejects)),
            "seconds": {"decode": t_decode, "detect": time.perf_counter() - t0 - t_decode},
            "model": self.stage.config.to_dict(),
            "skipped": False,
        }
        self.cache.write(index, to_table(rows, SAMPLE_SCHEMA), rejects, stats)
        return stats

    def _detect(self, chunk: list[Any]) -> list[Any]:
        """Detect a batch; a failing batch is retried image by image so one bad image costs only
        itself (a reject with reason ``error``), never the block. Models are built first, outside
        the per-image handling, and a device failure (CUDA missing, out of memory, a sticky CUDA
        error) raises DeviceError: the run fails with one message instead of rejecting images."""
        from ..detect import DetectReject
        from ..embed.base import device_failure

        def convert(r: Any) -> Any:
            return (r.reason, r.detail) if isinstance(r, DetectReject) else r

        _ = self.stage.detector  # build the models: their failures are the run's, not an image's
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
