"""``maskforge clean``: find mislabelled images in a folder of identity folders.

A thin front-end of the pipeline: it runs a recipe with ``[detect] size = 112``, ``[embed]`` and
``[clean]`` built from its options on the same plan, executors and writers as ``maskforge run``
(so OUT holds a run: dataset shards of the kept aligned faces, rejects, clean_scores.parquet,
manifest.json and the audit report OUT/report/index.html), then writes OUT/removed.csv (the
flagged samples, path relative to SRC_DIR; rows of files an earlier run moved away are kept) and
OUT/clean_manifest.json. Source files are only touched with --move-to / --copy-to, all or nothing
(see :mod:`maskforge.clean.transfer`).
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import click

from ._common import Progress, direct_recipe, user_errors

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
    from ..io.writer import write_bytes_atomic

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


@click.command("clean")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="output folder (clean_scores.parquet, removed.csv, report/)",
)
@click.option(
    "--embedder",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "facenet-vggface2", "dlib-resnet", "dlib-resnet-native"]),
)
@click.option(
    "--method", default="robust", show_default=True, type=click.Choice(["robust", "mean-distance"])
)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="score threshold (default: calibrated for method and embedder)",
)
@click.option(
    "--min-images",
    "min_images",
    type=int,
    default=3,
    show_default=True,
    help="identities with fewer faces are not cleaned",
)
@click.option(
    "--keep",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="keep.csv: paths never flagged",
)
@click.option(
    "--move-to",
    "move_to",
    type=click.Path(file_okay=False, path_type=Path),
    help="move flagged files here (same relative paths)",
)
@click.option(
    "--copy-to",
    "copy_to",
    type=click.Path(file_okay=False, path_type=Path),
    help="copy flagged files here (same relative paths)",
)
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="embedder weights file (facenet state dict or dlib .dat)",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N")
@click.option("--batch-size", "batch_size", type=int, default=64, show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other recipe key, e.g. --set clean.action=flag.")
@click.option("--executor", type=click.Choice(["ray", "local"]), default="local", show_default=True)
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def command(src_dir: Path, output: Path, embedder: str, method: str, threshold: float | None,
            min_images: int, keep: Path | None, move_to: Path | None, copy_to: Path | None,
            weights: Path | None, device: str, batch_size: int, overrides: tuple[str, ...],
            executor: str, num_cpus: int | None, quiet: bool) -> None:  # fmt: skip
    """Find mislabelled images in SRC_DIR (a folder of identity folders)."""
    from ..clean.keep import read_keep
    from ..clean.table import read_clean_scores
    from ..clean.transfer import (
        JOURNAL,
        check_transfer,
        plan_transfer,
        resume_transfer,
        run_transfer,
    )
    from ..device import check_device
    from ..io.paths import check_destination
    from ..pipeline import RunOptions, plan_run, run_plan
    from ..report import write_redirect

    if move_to and copy_to:
        raise click.UsageError("use --move-to or --copy-to, not both")
    started = time.perf_counter()
    check_device(device)
    dest, flag = (move_to, "--move-to") if move_to else (copy_to, "--copy-to")
    if dest is not None:
        check_destination(dest, src_dir, what=flag, source_what="SRC_DIR")
    check_destination(output, src_dir, what="--output", source_what="SRC_DIR")
    finished = resume_transfer(output / JOURNAL)
    if finished:
        click.echo(f"finished an interrupted {finished[0]} of {finished[1]} files")
    read_keep(keep)  # an unreadable keep list stops here, before any work
    tables = {
        "detect": {"size": 112},
        "embed": {"embedder": embedder, "device": device, "batch_size": batch_size,
                  "weights": str(weights.resolve()) if weights else None},
        "clean": {"method": method, "threshold": threshold, "min_images": min_images,
                  "keep": str(keep.resolve()) if keep else None},
    }  # fmt: skip
    plan = plan_run(direct_recipe("clean", tables, overrides), input=src_dir, output=output)
    listing = plan.listing
    click.echo(f"{len(listing.samples)} images, {len(listing.labels)} identities")
    with Progress(len(listing.samples), quiet=quiet, desc="clean") as bar:
        options = RunOptions(executor=executor, num_cpus=num_cpus, progress=bar.shard, monitor=bar.watch)
        result = run_plan(plan, options)
    scores = read_clean_scores(output, with_images=False)
    flagged = removed_rows(scores)
    write_removed(output / "removed.csv", flagged, {s.source_path for s in listing.samples})
    moved = 0
    if dest is not None:
        pairs = plan_transfer(listing.root, [r["path"] for r in flagged], Path(dest))
        check_transfer(pairs, flag)
        moved = run_transfer(pairs, move=bool(move_to), journal=output / JOURNAL)
    write_redirect(output / "report.html")
    _write_clean_manifest(output, result, scores, listing, moved if move_to else 0,
                          moved if copy_to else 0, time.perf_counter() - started)  # fmt: skip
    click.echo(_summary(scores, len(flagged), min_images, result.counts["rejects"], output))
    if moved:
        click.echo(f"{'moved' if move_to else 'copied'} {moved} files to {dest}")


def _summary(scores: Any, flagged: int, min_images: int, rejects: int, output: Path) -> str:
    too_few = len({r["identity"] for r in scores.select(["identity", "status"]).to_pylist()
                   if r["status"] == "too_few_images"})  # fmt: skip
    return (
        f"flagged {flagged} of {scores.num_rows} faces ({too_few} identities with < {min_images} "
        f"images not cleaned, {rejects} images without a usable face); "
        f"report: {output / 'report' / 'index.html'}"
    )


def _write_clean_manifest(output: Path, result: Any, scores: Any, listing: Any, moved: int,
                          copied: int, seconds: float) -> None:  # fmt: skip
    """OUT/clean_manifest.json: source, embedder, configuration, counts and times of the run."""
    from ..io.writer import write_json_atomic

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
