"""``maskforge run --dry-run``: what a run of a plan would do, computed without writing anything.

:func:`describe_plan` returns the listed images and identities, the shards, the embedder and
cleaning thresholds, the expected rows per variant (an upper bound: rejects and cleaning can only
lower it) and how many shards each stage would reuse; :func:`format_plan` prints it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import OutputError
from .detect_task import DetectTask
from .embed_task import EmbedTask
from .finish_task import FinishTask
from .outdir import check_output
from .plan import RunPlan


def expected_rows(plan: RunPlan) -> dict[str, int]:
    """Rows per variant if no image were rejected or removed: select-N per identity (identities
    under ``select.min_images`` dropped) times the variant plan."""
    from .variant_stage import variants_of

    per_identity = Counter(s.identity for sh in plan.shards for s in sh.samples)
    select = plan.recipe.select
    if select is not None:
        n, low = select.per_identity, select.min_images
        per_identity = Counter(
            {k: min(v, n) if n else v for k, v in per_identity.items() if v >= low}
        )
    images = sum(per_identity.values())
    variants = variants_of(plan.recipe)
    if variants is None:
        return {"aligned" if plan.has("detect") else "original": images}
    return {v.key: images for v in variants}


def _reusable(plan: RunPlan, resume: bool) -> dict[str, int]:
    if not resume:
        return {}
    out: dict[str, int] = {}
    indexes = [s.index for s in plan.shards]
    if plan.has("detect"):
        det = DetectTask(plan)
        out["detect"] = sum(det.cache.stats(i, det.key(i)) is not None for i in indexes)
        if plan.needs_embeddings:
            emb = EmbedTask(plan)
            out["embed"] = sum(emb.cache.stats(i, plan.shard_key(i)) is not None for i in indexes)
    finish = FinishTask(plan)
    out["finish"] = sum(finish.is_done(i) for i in indexes)
    return out


def _thresholds(plan: RunPlan, embedder: str | None) -> dict[str, Any]:
    clean = plan.recipe.clean
    if clean is None:
        return {}
    threshold: float | str = "calibrated default of the embedder resolved at run time"
    if clean.threshold is not None:
        threshold = clean.threshold
    elif embedder and embedder != "auto":
        threshold = clean.with_embedder(embedder).resolved_threshold()
    return {"method": clean.method, "threshold": threshold}


def describe_plan(plan: RunPlan, resume: bool = True) -> dict[str, Any]:
    """What a run of ``plan`` would do (JSON-serialisable; nothing is written)."""
    sizes = [len(s.samples) for s in plan.shards]
    embed = dict(plan.embed_identity) or None  # resolved when the run was planned
    try:
        check_output(plan.out)
        refused = None
    except OutputError as exc:
        refused = str(exc)
    return {
        "input": plan.input_path,
        "output": str(plan.out),
        "output_refused": refused,
        "listed_images": len(plan.listing.samples),
        "listed_identities": len(plan.listing.labels),
        "identities": len(plan.labels),
        "dropped_identities": dict(Counter(plan.dropped_identities.values())),
        "skipped_files": plan.listing.skipped,
        "shards": len(plan.shards),
        "shard_size": plan.shard_size,
        "images_per_shard": [min(sizes), max(sizes)] if sizes else [0, 0],
        "stage_keys": plan.stage_keys,
        "embedder": embed,
        "cleaning": _thresholds(plan, embed.get("name") if embed else None),
        "expected_rows": expected_rows(plan),
        "resume_reuses": _reusable(plan, resume),
    }


def format_plan(d: dict[str, Any]) -> str:
    """A few readable lines of :func:`describe_plan`'s result."""
    lines = [
        f"input:        {d['input']}",
        f"output:       {d['output']} (dry run: nothing written)",
        f"listed:       {d['listed_images']} images of {d['listed_identities']} identities",
        f"identities:   {d['identities']} kept (labels 0..{d['identities'] - 1})",
    ]
    if d["output_refused"]:
        lines.insert(2, f"  a run would be refused: {d['output_refused']}")
    for reason, n in d["dropped_identities"].items():
        lines.append(f"  dropped:    {n} ({reason})")
    if d["skipped_files"]:
        lines.append("skipped:      " + ", ".join(f"{k}={v}" for k, v in d["skipped_files"].items()))
    lo, hi = d["images_per_shard"]
    lines.append(f"shards:       {d['shards']} ({lo}..{hi} images each; shard_size {d['shard_size']})")
    lines.append("stage keys:   " + ", ".join(f"{k}={v}" for k, v in d["stage_keys"].items()))
    if d["embedder"]:
        lines.append("embedder:     " + ", ".join(f"{k}={v}" for k, v in d["embedder"].items()))
    if d["cleaning"]:
        lines.append("cleaning:     " + ", ".join(f"{k}={v}" for k, v in d["cleaning"].items()))
    lines.append("expected rows (at most):")
    lines += [f"  {k}: {v}" for k, v in d["expected_rows"].items()]
    reuse = d["resume_reuses"]
    if reuse:
        lines.append("resume would reuse: " + ", ".join(
            f"{k} {v}/{d['shards']} shards" for k, v in reuse.items()))
    else:
        lines.append("resume would reuse: nothing (--restart)")
    return "\n".join(lines)
