"""Running a dataset plan: its shards on an executor (:mod:`.executors`: in this process, or on
Ray through :mod:`.ray_executor`), then the end-of-run files (labels.csv, consolidated tables,
manifest, report)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq

from ..io.manifest import build_manifest, write_manifest
from ..io.schema import REJECT_SCHEMA, SAMPLE_SCHEMA, to_table
from ..io.writer import is_done, write_table_atomic
from .card import write_card
from .executors import execute
from .finish_task import CLEAN_SCORE_SCHEMA, FinishTask
from .options import RunOptions
from .outdir import remove_stale_shards, start_run
from .plan import RunPlan, model_licences
from .ray_executor import EarlyRay, restart_summary
from .records import ShardStats
from .report import write_run_report
from .resolved import write_resolved_recipe
from .tasks import task_names

log = logging.getLogger("maskforge")

__all__ = ["RunResult", "finish_run", "run_plan"]


@dataclass
class RunResult:
    """What a run did."""

    out: Path
    shard_stats: list[ShardStats]
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)
    #: The Ray executor's timeline (start-up, work, tail, per-pool utilisation); empty otherwise.
    executor: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped_shards(self) -> int:
        return sum(1 for s in self.shard_stats if s.get("skipped"))


def run_plan(plan: RunPlan, options: RunOptions, early: EarlyRay | None = None) -> RunResult:
    """Process every shard of ``plan`` not already done, then write the end-of-run files.

    ``options.num_cpus``, ``num_gpus`` and ``address`` default to the recipe's ``[ray]`` table.
    A plan with writer tasks runs them on every shard (a done shard's dataset tasks are then
    reused). ``options.progress`` gets each shard's stats; ``options.monitor`` live per-image
    progress (:class:`~.progress.Snapshot`, shards already done counted as done). ``early``: Ray
    and its actors started while the input was listed (:func:`~.ray_early.start_early`).
    """
    options = options.with_ray_defaults(plan.recipe.ray)
    resume, progress, monitor = options.resume, options.progress, options.monitor
    t0 = time.perf_counter()
    start_run(plan, resume)
    finish = FinishTask(plan)
    indexes = [s.index for s in plan.shards]
    if plan.has("hygiene"):
        _hygiene_pass(plan, indexes, options)
    done = [i for i in indexes if resume and not plan.writers and finish.is_done(i)]
    todo = [i for i in indexes if i not in set(done)]
    stats: list[ShardStats] = []
    for i in done:
        s = finish(i)  # returns the stored stats, marked skipped
        stats.append(s)
        if progress:
            progress(s)
    reused = sum(len(plan.shards[i].samples) for i in done)
    watch = (lambda snap: monitor(snap.plus(reused, len(done)))) if monitor else None
    info: dict[str, Any] = {}
    stats += execute(plan, todo, replace(options, monitor=watch), info=info, early=early)
    stats.sort(key=lambda s: s["shard"])
    seconds = time.perf_counter() - t0
    result = RunResult(out=plan.out, shard_stats=stats, seconds=seconds, executor=info)
    finish_run(plan, result)
    return result


def _hygiene_pass(plan: RunPlan, indexes: list[int], options: RunOptions) -> None:
    """A run with ``[hygiene]``: detect, embed and sign every shard (cached ones are reused),
    then the cross-identity step once over all of them (its decisions go to ``plan.hygiene``);
    the caller then runs the finish (and writer) tasks."""
    from .hygiene_task import run_hygiene_step

    plan.only_tasks = tuple(n for n in task_names(plan) if n in ("detect", "embed", "signature"))
    execute(plan, indexes, replace(options, progress=None))
    plan.hygiene, result = run_hygiene_step(plan)
    plan.only_tasks = ("finish", *plan.writers)
    log.info("hygiene: %s", result.summary())


def _hygiene_counts(plan: RunPlan, stats: list[ShardStats]) -> dict[str, Any] | None:
    """Hygiene's summary (OUT/hygiene.json, without its timing) and what the shards applied."""
    path = plan.out / "hygiene.json"
    if not plan.has("hygiene") or not path.is_file():
        return None
    import json

    summary = json.loads(path.read_text(encoding="utf-8"))["summary"]
    summary.pop("seconds", None)
    summary["applied_removed"] = sum(s.get("hygiene_removed", 0) for s in stats)
    summary["applied_relabelled"] = sum(s.get("relabelled", 0) for s in stats)
    return cast(dict[str, Any], summary)


def _consolidate(
    plan: RunPlan, folder: Path, target: Path, schema: pa.Schema, extra: list | None = None
) -> int:
    """Concatenate the per-shard files of ``folder`` whose dataset shard is done (then ``extra``
    rows)."""
    layout = plan.layout
    files = [
        layout.shard_file(folder, s.index)
        for s in plan.shards
        if layout.shard_file(folder, s.index).is_file()
        and is_done(layout.shard_file(layout.dataset, s.index))
    ]
    tables = [pq.read_table(f) for f in files] + ([to_table(extra, schema)] if extra else [])
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    write_table_atomic(table, target)
    return table.num_rows


def _spread(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    arr = sorted(values)
    return {"min": arr[0], "median": float(median(arr)), "max": arr[-1], "identities": len(arr)}


def aggregate_counts(plan: RunPlan, stats: list[ShardStats]) -> dict[str, Any]:
    """Counts of the whole run from the per-shard stats."""
    sums: dict[str, Counter] = {k: Counter() for k in ("rejects_by_reason", "variants", "occluders")}
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    dropped: dict[str, str] = dict(plan.dropped_identities)
    for s in stats:
        for k, c in sums.items():
            c.update(cast(dict[str, int], s.get(k) or {}))
        before.update(s.get("per_identity_input", {}))
        after.update(s.get("per_identity_output", {}))
        dropped.update((s.get("selection") or {}).get("dropped", {}))
    clean = [s.get("clean") or {} for s in stats]
    return {
        "listed": len(plan.listing.samples),
        "identities": len(plan.listing.labels),
        "skipped_files": plan.listing.skipped,
        "shards": len(plan.shards),
        "inputs": sum(s.get("inputs", 0) for s in stats),
        "samples": sum(s.get("samples", 0) for s in stats),
        "rejects": sum(s.get("rejects", 0) for s in stats),
        "rejects_by_reason": dict(sorted(sums["rejects_by_reason"].items())),
        "cleaned": plan.has("clean"),
        "hygiene": _hygiene_counts(plan, stats),
        "flagged": sum(s.get("flagged", 0) for s in stats),
        "removed": sum(s.get("removed", 0) for s in stats),
        "too_few_images_identities": sum(c.get("identities_too_few_images", 0) for c in clean),
        "variants": dict(sorted(sums["variants"].items())),
        "occluders": dict(sorted(sums["occluders"].items())),
        "dropped_identities": dict(Counter(dropped.values())),
        "per_identity_before": sorted(before.values()),
        "per_identity_after": sorted(after.values()),
        "balance": {"before": _spread(list(before.values())), "after": _spread(list(after.values()))},
    }


def _stage_seconds(stats: list[ShardStats]) -> dict[str, float]:
    """Seconds of work per stage summed over the shards computed in this run (not reused)."""
    total: dict[str, float] = {}
    for s in stats:
        for name, st in (s.get("stages") or {}).items():
            if not st.get("skipped"):
                for k, v in (st.get("seconds") or {}).items():
                    key = f"{name}.{k}" if k != name else name
                    total[key] = total.get(key, 0) + v
    return {k: round(v, 3) for k, v in sorted(total.items())}


def _models(stats: list[ShardStats]) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for s in stats:
        for name, st in (s.get("stages") or {}).items():
            if st.get("model") and name not in models:
                models[name] = st["model"]
    return models


def finish_run(plan: RunPlan, result: RunResult) -> None:
    """Remove stale shards; write the consolidated tables, the dataset card, recipe.toml,
    manifest.json (status complete) and the report."""
    layout = plan.layout
    remove_stale_shards(plan)
    _consolidate(plan, layout.rejects, plan.out / "rejects.parquet", REJECT_SCHEMA,
                 extra=plan.listing.reject_rows())  # files the listing skipped, stage "list"
    if plan.has("clean"):
        _consolidate(plan, layout.removed, plan.out / "removed.parquet", SAMPLE_SCHEMA)
        _consolidate(plan, layout.clean_scores, plan.out / "clean_scores.parquet", CLEAN_SCORE_SCHEMA)
    result.counts = aggregate_counts(plan, result.shard_stats)
    timings: dict[str, Any] = {
        "total": round(result.seconds, 3),
        "stages_cpu_s": _stage_seconds(result.shard_stats),
        "reused": {
            name: sum(1 for s in result.shard_stats if (s.get("stages") or {}).get(name, {}).get("skipped"))
            for name in ("detect", "embed", "finish")
        },
    }
    extra: dict[str, Any] = {"model_licences": model_licences(plan.recipe, plan.embed_identity)}
    if any("ray" in s for s in result.shard_stats) or result.executor:
        extra["ray"] = {**restart_summary(result.shard_stats), **result.executor}
    manifest = build_manifest(
        recipe=plan.recipe.to_dict(),
        input_path=plan.input_path,
        output_path=str(plan.out),
        labels=plan.labels,
        counts=result.counts,
        timings=timings,
        models=_models(result.shard_stats),
        shards={
            "total": len(plan.shards),
            "size": plan.shard_size,
            "processed": len(result.shard_stats) - result.skipped_shards,
            "reused": result.skipped_shards,
            "keys": plan.stage_keys,
        },
        extra=extra,
        dataset_files=[
            str(layout.shard_file(layout.dataset, s.index).relative_to(plan.out))
            for s in plan.shards
            if is_done(layout.shard_file(layout.dataset, s.index))
        ],
    )
    write_resolved_recipe(plan)
    write_card(plan, manifest)
    write_manifest(manifest, plan.out)
    write_run_report(plan, manifest)
