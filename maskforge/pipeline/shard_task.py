"""Processing of one shard, from listed files to written Parquet shards.

:class:`ShardTask` is a plain callable (``task(index) -> stats``) that the local executor calls in
a loop and the Ray executor runs inside actors. Models are loaded once per task object.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from ..io.schema import REJECT_SCHEMA, SAMPLE_SCHEMA, to_table
from ..io.writer import read_stats, write_shard, write_table_atomic
from .decode_stage import decode_samples
from .plan import RunPlan, shard_key


class ShardTask:
    """Turns shard ``index`` of ``plan`` into ``dataset``/``rejects`` shards and a stats file."""

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan

    def key(self, index: int) -> str:
        return f"{self.plan.stage_keys['dataset']}-{shard_key(self.plan.shards[index])}"

    def is_done(self, index: int) -> bool:
        layout = self.plan.layout
        stats = read_stats(layout.shard_file(layout.dataset, index))
        return stats is not None and stats.get("key") == self.key(index)

    def __call__(self, index: int) -> dict[str, Any]:
        plan, layout = self.plan, self.plan.layout
        dataset_file = layout.shard_file(layout.dataset, index)
        if self.is_done(index):
            stats = dict(read_stats(dataset_file) or {})
            stats["skipped"] = True
            return stats
        shard = plan.shards[index]
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        source = plan.recipe["source"]
        decoded, rejects = decode_samples(
            shard.samples, max_pixels=source["max_pixels"], min_side=source["min_side"]
        )
        timings["decode"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        fallback = "png"
        rows = []
        for d in decoded:
            data, fmt = d.original_bytes(fallback)
            h, w = d.pixels.shape[:2]
            rows.append(
                {
                    "sample_id": d.sample.sample_id,
                    "identity": d.sample.identity,
                    "label": d.sample.label,
                    "source_path": d.sample.source_path,
                    "variant": "original",
                    "image": data,
                    "image_format": fmt,
                    "width": w,
                    "height": h,
                    "seed": plan.seed,
                }
            )
        timings["write"] = time.perf_counter() - t1

        stats = {
            "shard": index,
            "key": self.key(index),
            "inputs": len(shard.samples),
            "identities": len(shard.identities),
            "samples": len(rows),
            "rejects": len(rejects),
            "rejects_by_reason": dict(Counter(f"{r['stage']}:{r['reason']}" for r in rejects)),
            "variants": dict(Counter(r["variant"] for r in rows)),
            "seconds": timings,
            "skipped": False,
        }
        write_table_atomic(to_table(rejects, REJECT_SCHEMA), layout.shard_file(layout.rejects, index))
        t2 = time.perf_counter()
        write_shard(to_table(rows, SAMPLE_SCHEMA), dataset_file, stats)
        stats["seconds"]["write"] += time.perf_counter() - t2
        return stats
