"""Running a plan: the local executor, the Ray executor, and the end-of-run files.

Shards of whole identities are the unit of work. The Ray executor never groups or shuffles through
Ray: it streams shard indexes through an actor pool of :class:`ShardTask` workers (models loaded
once per actor), and every worker writes its own shard files.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..io.manifest import build_manifest, write_manifest
from ..io.schema import REJECT_SCHEMA
from ..io.writer import is_done, write_table_atomic
from .plan import RunPlan
from .shard_task import ShardTask

log = logging.getLogger("maskforge")


@dataclass
class RunResult:
    """What a run did."""

    out: Path
    shard_stats: list[dict[str, Any]]
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped_shards(self) -> int:
        return sum(1 for s in self.shard_stats if s.get("skipped"))


ProgressFn = Callable[[dict[str, Any]], None]


def iter_local(plan: RunPlan, todo: list[int]) -> Iterator[dict[str, Any]]:
    """Process shards one after another in this process."""
    task = ShardTask(plan)
    for index in todo:
        yield task(index)


class _RayShardWorker:
    """Ray Data actor: one :class:`ShardTask` per actor, a batch of shard indexes per call."""

    def __init__(self, plan: RunPlan) -> None:
        self.task = ShardTask(plan)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import json

        out = [json.dumps(self.task(int(i)), default=str) for i in batch["shard"]]
        return {"stats": out}


def iter_ray(
    plan: RunPlan,
    todo: list[int],
    *,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Process shards on Ray (an embedded local instance unless ``address`` is given)."""
    import json

    import ray

    started_here = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "configure_logging": True,
        }
        if address:
            kwargs["address"] = address
        else:
            kwargs.update(num_cpus=num_cpus, num_gpus=num_gpus)
        ray.init(**kwargs)
        started_here = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ctx.verbose_progress = False
        workers = max(1, min(len(todo), int(ray.available_resources().get("CPU", 1))))
        ds = ray.data.from_items([{"shard": i} for i in todo], override_num_blocks=len(todo))
        ds = ds.map_batches(
            _RayShardWorker,
            fn_constructor_kwargs={"plan": plan},
            batch_size=1,
            concurrency=workers,
            num_cpus=1,
        )
        for row in ds.iter_rows():
            yield json.loads(row["stats"])
    finally:
        if started_here:
            ray.shutdown()


def run_plan(
    plan: RunPlan,
    *,
    executor: str = "ray",
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Process every shard of ``plan`` not already done, then write the end-of-run files."""
    t0 = time.perf_counter()
    plan.out.mkdir(parents=True, exist_ok=True)
    task = ShardTask(plan)
    indexes = [s.index for s in plan.shards]
    done = [i for i in indexes if resume and task.is_done(i)]
    todo = [i for i in indexes if i not in set(done)]
    stats: list[dict[str, Any]] = []
    for i in done:
        s = task(i)  # returns the stored stats, marked skipped
        stats.append(s)
        if progress:
            progress(s)
    if todo:
        if executor == "local":
            it = iter_local(plan, todo)
        elif executor == "ray":
            it = iter_ray(plan, todo, num_cpus=num_cpus, num_gpus=num_gpus, address=address)
        else:
            raise ValueError(f"unknown executor {executor!r}; use 'ray' or 'local'")
        for s in it:
            stats.append(s)
            if progress:
                progress(s)
    stats.sort(key=lambda s: s["shard"])
    seconds = time.perf_counter() - t0
    result = RunResult(out=plan.out, shard_stats=stats, seconds=seconds)
    finish_run(plan, result)
    return result


def _consolidate(plan: RunPlan, folder: Path, target: Path, schema: pa.Schema) -> int:
    """Concatenate the per-shard files of ``folder`` whose dataset shard is done."""
    layout = plan.layout
    files = [
        layout.shard_file(folder, s.index)
        for s in plan.shards
        if layout.shard_file(folder, s.index).is_file()
        and is_done(layout.shard_file(layout.dataset, s.index))
    ]
    tables = [pq.read_table(f) for f in files]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    write_table_atomic(table, target)
    return table.num_rows


def aggregate_counts(plan: RunPlan, stats: list[dict[str, Any]]) -> dict[str, Any]:
    rejects: Counter = Counter()
    variants: Counter = Counter()
    for s in stats:
        rejects.update(s.get("rejects_by_reason", {}))
        variants.update(s.get("variants", {}))
    return {
        "listed": len(plan.listing.samples),
        "identities": len(plan.listing.labels),
        "skipped_files": plan.listing.skipped,
        "shards": len(plan.shards),
        "inputs": sum(s.get("inputs", 0) for s in stats),
        "samples": sum(s.get("samples", 0) for s in stats),
        "rejects": sum(s.get("rejects", 0) for s in stats),
        "rejects_by_reason": dict(sorted(rejects.items())),
        "variants": dict(sorted(variants.items())),
    }


def _stage_seconds(stats: list[dict[str, Any]]) -> dict[str, float]:
    total: Counter = Counter()
    for s in stats:
        if not s.get("skipped"):
            total.update(s.get("seconds", {}))
    return {k: round(v, 3) for k, v in sorted(total.items())}


def finish_run(plan: RunPlan, result: RunResult) -> None:
    """Write labels.csv, rejects.parquet and manifest.json for a finished run."""
    layout = plan.layout
    with open(layout.labels, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["identity", "label"])
        writer.writerows(plan.listing.labels.items())
    _consolidate(plan, layout.rejects, plan.out / "rejects.parquet", REJECT_SCHEMA)
    result.counts = aggregate_counts(plan, result.shard_stats)
    timings = {"total": round(result.seconds, 3), "stages_cpu_s": _stage_seconds(result.shard_stats)}
    manifest = build_manifest(
        recipe=plan.recipe,
        input_path=plan.input_path,
        output_path=str(plan.out),
        labels=plan.listing.labels,
        counts=result.counts,
        timings=timings,
        models={},
        shards={
            "total": len(plan.shards),
            "processed": len(result.shard_stats) - result.skipped_shards,
            "reused": result.skipped_shards,
            "keys": plan.stage_keys,
        },
    )
    write_manifest(manifest, plan.out)
