"""``maskforge detect`` as a run: a recipe with ``[detect]`` from the command's options, the
dataset tasks, and (``--export-images``) the ``images`` writer task with its targets decided and
checked before the run and its record ``exported.csv`` written after it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from ..io.paths import check_destination, check_output_folder, path_under, unique_targets
from ..io.writer import write_bytes_atomic
from ..pipeline import RunOptions, RunPlan, RunResult, plan_run, run_plan
from ..pipeline.export_task import ExportImages
from .direct import direct_recipe


@dataclass
class DetectJob:
    """A planned ``maskforge detect``: the plan, and with ``--export-images`` the folder, each
    source path's target file and the record of earlier exports there."""

    plan: RunPlan
    export_dir: Path | None = None
    targets: dict[str, str] = field(default_factory=dict)
    record: dict[str, str] = field(default_factory=dict)


def plan_detect(
    src_dir: str, output: str, *, detector: str, size: int, align: bool, export_images: str | None,
    overrides: tuple[str, ...] = (), landmarks: str = "dlib68", licence: str = "any",
) -> DetectJob:
    """Plan ``maskforge detect`` (every destination checked, and with ``licence="commercial"``
    every model's licence, before anything is written)."""
    table = {"detector": detector, "landmarks": landmarks, "size": int(size), "align": align}
    recipe = direct_recipe("detect", {"detect": table}, overrides, licence=licence)
    plan = plan_run(recipe, input=src_dir, output=output)
    if not export_images:
        return DetectJob(plan)
    check_destination(export_images, src_dir, what="--export-images")
    check_destination(export_images, output, what="--export-images", source_what="--output", inside=False)
    folder = Path(export_images)
    targets, record = export_targets(folder, [s.source_path for s in plan.listing.samples])
    plan.writers["images"] = ExportImages(export_images, targets)
    return DetectJob(plan, folder, targets, record)


def run_detect(job: DetectJob, options: RunOptions) -> tuple[RunResult, list[str]]:
    """Run a planned ``maskforge detect``: its result and the files exported (relative to the
    export folder; empty without ``--export-images``)."""
    result = run_plan(job.plan, options)
    if job.export_dir is None:
        return result, []
    written = [f for s in result.shard_stats for f in (s.get("images") or {}).get("written", [])]
    write_export_record(job.export_dir, job.record, written, job.targets)
    return result, written


EXPORT_RECORD = "exported.csv"


def export_targets(folder: Path, source_paths: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The file (relative to ``folder``) of each source path's crop, unique and inside
    ``folder``, and the record of an earlier export into it (file -> source path). OutputError,
    before anything is written, when a target exists that no earlier export wrote."""
    check_output_folder(folder, "--export-images")
    record: dict[str, str] = {}
    rec = folder / EXPORT_RECORD
    if rec.is_file():
        with open(rec, newline="", encoding="utf-8") as fh:
            record = {r["file"]: r["source_path"] for r in csv.DictReader(fh) if r.get("file")}
    chosen = unique_targets(folder, source_paths, lambda sp: path_under(folder, sp, ".png"))
    targets = {sp: p.relative_to(folder).as_posix() for sp, p in chosen.items()}
    foreign = [t for t in targets.values() if (folder / t).exists() and t not in record]
    if rec.exists() and not rec.is_file():
        foreign.append(EXPORT_RECORD)
    if foreign:
        raise OutputError(
            f"{len(foreign)} file(s) under --export-images {str(folder)!r} were not written by "
            f"maskforge (e.g. {foreign[0]!r}) and would be overwritten: choose an empty folder"
        )
    return targets, record


def write_export_record(folder: Path, record: dict[str, str], written: list[str],
                        targets: dict[str, str]) -> None:  # fmt: skip
    """``folder/exported.csv``: every file maskforge exported there (this run and earlier ones)."""
    by_file = {t: sp for sp, t in targets.items()}
    merged = {f: sp for f, sp in record.items() if (folder / f).is_file()}
    merged.update({f: by_file[f] for f in written})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "source_path"])
    w.writerows(sorted(merged.items()))
    write_bytes_atomic(buf.getvalue().encode("utf-8"), folder / EXPORT_RECORD)
