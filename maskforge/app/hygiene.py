"""``maskforge hygiene`` as a run: a recipe with ``[detect] size = 112``, ``[embed]`` and
``[hygiene]`` from the command's options, run on the pipeline like ``maskforge run`` (so OUT holds
a run: dataset shards of the kept faces, hygiene.parquet, hygiene.json, manifest.json and the
audit pages OUT/report/hygiene/index.html); then ``OUT/report.html`` pointing at those pages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..clean.keep import read_keep
from ..device import check_device
from ..io.paths import check_destination
from ..pipeline import RunOptions, RunPlan, RunResult, plan_run, run_plan
from ..report import write_redirect
from .direct import direct_recipe


@dataclass
class HygieneDone:
    """What a ``maskforge hygiene`` did: the run and hygiene's summary (hygiene.json)."""

    result: RunResult
    summary: dict[str, Any]


def plan_hygiene(
    src_dir: Path, output: Path, *, action: str, exclude: list[dict[str, str]], keep: Path | None,
    embedder: str, weights: Path | None, device: str, batch_size: int,
    overrides: tuple[str, ...] = (),
) -> RunPlan:  # fmt: skip
    """Check the destination and the keep list, and plan the run (nothing is written yet).
    ``exclude``: evaluation sets as ``[hygiene].exclude`` tables."""
    check_device(device)
    check_destination(output, src_dir, what="--output", source_what="SRC_DIR")
    read_keep(keep)  # an unreadable keep list stops here, before any work
    tables: dict[str, dict[str, Any]] = {
        "detect": {"size": 112},
        "embed": {"embedder": embedder, "device": device, "batch_size": batch_size,
                  "weights": str(weights.resolve()) if weights else None},
        "hygiene": {"action": action, "exclude": exclude or None, "device": device,
                    "keep": str(keep.resolve()) if keep else None},
    }  # fmt: skip
    return plan_run(direct_recipe("hygiene", tables, overrides), input=src_dir, output=output)


def run_hygiene_command(plan: RunPlan, options: RunOptions) -> HygieneDone:
    """Run a planned ``maskforge hygiene`` and point OUT/report.html at its pages."""
    result = run_plan(plan, options)
    findings = json.loads((plan.out / "hygiene.json").read_text(encoding="utf-8"))
    write_redirect(plan.out / "report.html", "report/hygiene/index.html")
    return HygieneDone(result, findings["summary"])
