"""``maskforge clean`` as a run: a recipe with ``[detect] size = 112``, ``[embed]`` and ``[clean]``
from the command's options, run on the pipeline like ``maskforge run``; then ``OUT/removed.csv``,
the all-or-nothing ``--move-to`` / ``--copy-to`` of the flagged files
(:mod:`maskforge.clean.transfer`), ``OUT/report.html`` and ``OUT/clean_manifest.json``."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..clean.keep import read_keep
from ..clean.table import read_clean_scores
from ..clean.transfer import JOURNAL, check_transfer, plan_transfer, resume_transfer, run_transfer
from ..device import check_device
from ..io.lock import FolderLock, write_lock
from ..io.paths import check_destination, check_write_targets, path_under
from ..io.writer import write_bytes_atomic, write_json_atomic
from ..pipeline import RunOptions, RunPlan, RunResult, plan_run, run_plan
from ..pipeline.outdir import check_output, claim_output
from ..pipeline.plan import check_recipe_licence
from ..report import write_redirect
from .direct import direct_recipe

#: Files ``maskforge clean`` writes in OUT besides a run's.
CLEAN_FILES = ("removed.csv", "report.html", "clean_manifest.json", JOURNAL)

REMOVED_COLUMNS = ("path", "identity", "score", "threshold", "method", "reason", "nearest_identity")


def removed_rows(scores: Any) -> list[dict[str, str]]:
    """The removed.csv rows of the flagged samples of a clean_scores table."""
    def num(v: Any) -> str:
        return "" if v is None else f"{v:.4f}"

    cols = ["source_path", "identity", "clean_score", "threshold", "method", "reason", "nearest_identity", "flagged"]
    return [
        {"path": r["source_path"], "identity": r["identity"], "score": num(r["clean_score"]),
         "threshold": num(r["threshold"]), "method": r["method"], "reason": r["reason"] or "",
         "nearest_identity": r["nearest_identity"] or ""}
        for r in scores.select(cols).to_pylist() if r["flagged"]
    ]  # fmt: skip


def write_removed(path: Path, rows: list[dict[str, str]], listed: set[str]) -> int:
    """Write removed.csv: ``rows`` plus the rows of an existing removed.csv whose file is no longer
    in the input (``listed``: the source paths listed now), so the record of an earlier
    ``--move-to`` survives a rerun. Returns the number of rows."""
    merged = {r["path"]: r for r in rows}
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as fh:
            for old in csv.DictReader(fh):
                if old.get("path") and old["path"] not in listed and old["path"] not in merged:
                    merged[old["path"]] = {c: old.get(c) or "" for c in REMOVED_COLUMNS}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=REMOVED_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows(merged[k] for k in sorted(merged))
    write_bytes_atomic(buf.getvalue().encode("utf-8"), path)
    return len(merged)


@dataclass
class CleanJob:
    """A planned ``maskforge clean``: the plan, where flagged files go (``dest``, ``move``: move
    rather than copy; ``flag``: the option that named it), when it started, and the transfer an
    earlier interrupted run left and this one finished (``(kind, files)``), if any."""

    plan: RunPlan
    output: Path
    dest: Path | None
    flag: str
    move: bool
    started: float
    finished: tuple[str, int] | None
    #: OUT's writer lock, taken by :func:`plan_clean` and released when :func:`run_clean` ends.
    lock: FolderLock | None = None


@dataclass
class CleanDone:
    """What a ``maskforge clean`` did: the run, its clean_scores table, how many samples were
    flagged and how many files were moved or copied."""

    result: RunResult
    scores: Any
    flagged: int
    transferred: int


def plan_clean(
    src_dir: Path, output: Path, *, embedder: str, method: str, threshold: float | None,
    min_images: int, keep: Path | None, move_to: Path | None, copy_to: Path | None,
    weights: Path | None, device: str, batch_size: int, overrides: tuple[str, ...] = (),
    licence: str = "any",
) -> CleanJob:
    """Check every destination and the keep list, finish an interrupted transfer, and plan the
    run (nothing of the run is written yet)."""
    started = time.perf_counter()
    check_device(device)
    dest, flag = (move_to, "--move-to") if move_to else (copy_to, "--copy-to")
    if dest is not None:
        check_destination(dest, src_dir, what=flag, source_what="SRC_DIR")
    check_destination(output, src_dir, what="--output", source_what="SRC_DIR")
    check_output(Path(output))
    tables: dict[str, dict[str, Any]] = {
        "detect": {"size": 112},
        "embed": {"embedder": embedder, "device": device, "batch_size": batch_size,
                  "weights": str(weights.resolve()) if weights else None},
        "clean": {"method": method, "threshold": threshold, "min_images": min_images,
                  "keep": str(keep.resolve()) if keep else None},
    }  # fmt: skip
    recipe = direct_recipe("clean", tables, overrides, licence=licence)
    check_recipe_licence(recipe)  # refused before the lock creates anything in OUT
    lock = write_lock(output).acquire()  # held until run_clean ends (or this process does)
    try:
        if Path(output).is_dir():
            claim_output(Path(output), CLEAN_FILES)  # a user's removed.csv or report.html: refused
        finished = resume_transfer(output / JOURNAL)
        # an unreadable keep list, or a path of it that names no input file, stops here
        read_keep(keep).resolved(src_dir)
        plan = plan_run(recipe, input=src_dir, output=output)
        if dest is not None:  # before any work: a folder of dest linked into SRC or OUT is refused
            check_write_targets([path_under(dest, s.source_path) for s in plan.listing.samples],
                                [src_dir, output], what=flag)  # fmt: skip
    except BaseException:
        lock.release()
        raise
    return CleanJob(plan, Path(output), dest, flag, bool(move_to), started, finished, lock)


def run_clean(job: CleanJob, options: RunOptions) -> CleanDone:
    """Run a planned ``maskforge clean`` and write its files (see the module doc)."""
    try:
        return _run_clean(job, options)
    finally:
        if job.lock is not None:
            job.lock.release()


def _run_clean(job: CleanJob, options: RunOptions) -> CleanDone:
    claim_output(job.output, CLEAN_FILES)
    result = run_plan(job.plan, options)
    output, listing = job.output, job.plan.listing
    scores = read_clean_scores(output, with_images=False)
    flagged = removed_rows(scores)
    write_removed(output / "removed.csv", flagged, {s.source_path for s in listing.samples})
    moved = job.finished[1] if job.finished and job.finished[0] == ("move" if job.move else "copy") else 0
    if job.dest is not None:
        pairs = plan_transfer(listing.root, [r["path"] for r in flagged], Path(job.dest))
        pairs = [(a, b) for a, b in pairs if not (b.exists() and not a.exists())]  # done by the resumed transfer
        check_transfer(pairs, job.flag, inputs=[listing.root, output])
        moved += run_transfer(pairs, move=job.move, journal=output / JOURNAL)
    write_redirect(output / "report.html")
    write_clean_manifest(output, result, scores, listing, moved if job.move else 0,
                         0 if job.move else moved, time.perf_counter() - job.started)  # fmt: skip
    return CleanDone(result, scores, len(flagged), moved)


def write_clean_manifest(output: Path, result: Any, scores: Any, listing: Any, moved: int,
                         copied: int, seconds: float) -> None:  # fmt: skip
    """OUT/clean_manifest.json: source, embedder, configuration, counts and times of the run."""
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    write_json_atomic({
        "source_root": str(listing.root),
        "embedder": manifest.get("models", {}).get("embed", {}),
        "config": manifest.get("recipe", {}).get("clean"),
        "summary": {"images": scores.num_rows, "flagged": int(sum(scores.column("flagged").to_pylist()))},
        "skipped_files": listing.skipped,
        "rejected": result.counts["rejects"],
        "moved": moved,
        "copied": copied,
        "seconds": {"total": round(seconds, 2)},
    }, output / "clean_manifest.json")  # fmt: skip
