"""``maskforge clean``: find mislabelled images in a folder of identity folders.

A thin front-end of :mod:`maskforge.app.clean`: it runs a recipe with ``[detect] size = 112``, ``[embed]`` and
``[clean]`` built from its options on the same plan, executors and writers as ``maskforge run``
(so OUT holds a run: dataset shards of the kept aligned faces, rejects, clean_scores.parquet,
manifest.json and the audit report OUT/report/index.html), then writes OUT/removed.csv (the
flagged samples, path relative to SRC_DIR; rows of files an earlier run moved away are kept) and
OUT/clean_manifest.json. Source files are only touched with --move-to / --copy-to, all or nothing
(see :mod:`maskforge.clean.transfer`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import Progress, licence_option, user_errors


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
    default=None,
    metavar="NAME",
    help="auto (default), facenet-vggface2, dlib-resnet, dlib-resnet-native, or onnx:PATH (your "
    "ArcFace-style ONNX file; give --threshold and the robust limits with --set)",
)
@click.option(
    "--models",
    metavar="DIR",
    default=None,
    help="An insightface model-pack folder: its ONNX embedder (w600k_*.onnx), unless --embedder "
    "names one.",
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
@licence_option()
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other recipe key, e.g. --set clean.action=flag.")
@click.option("--executor", type=click.Choice(["ray", "local", "processes"]), default="local", show_default=True,
              help="local: this process; processes: --num-cpus worker processes of this machine (no Ray start-up); ray.")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def command(src_dir: Path, output: Path, embedder: str | None, models: str | None, method: str, threshold: float | None,
            min_images: int, keep: Path | None, move_to: Path | None, copy_to: Path | None,
            weights: Path | None, device: str, batch_size: int, licence: str,
            overrides: tuple[str, ...], executor: str, num_cpus: int | None,
            quiet: bool) -> None:  # fmt: skip
    """Find mislabelled images in SRC_DIR (a folder of identity folders)."""
    from ..app.clean import plan_clean, run_clean
    from ..app.models import choose
    from ..pipeline import RunOptions

    if move_to and copy_to:
        raise click.UsageError("use --move-to or --copy-to, not both")
    embedder = choose("embedder", embedder, models, "auto")
    job = plan_clean(src_dir, output, embedder=embedder, method=method, threshold=threshold,
                     min_images=min_images, keep=keep, move_to=move_to, copy_to=copy_to,
                     weights=weights, device=device, batch_size=batch_size, overrides=overrides,
                     licence=licence)  # fmt: skip
    if job.finished:
        click.echo(f"finished an interrupted {job.finished[0]} of {job.finished[1]} files")
    listing = job.plan.listing
    click.echo(f"{len(listing.samples)} images, {len(listing.labels)} identities")
    with Progress(len(listing.samples), quiet=quiet, desc="clean") as bar:
        options = RunOptions(executor=executor, num_cpus=num_cpus, progress=bar.shard, monitor=bar.watch)
        done = run_clean(job, options)
    click.echo(_summary(done.scores, done.flagged, min_images, done.result.counts["rejects"], output))
    if done.transferred:
        click.echo(f"{'moved' if move_to else 'copied'} {done.transferred} files to {job.dest}")


def _summary(scores: Any, flagged: int, min_images: int, rejects: int, output: Path) -> str:
    too_few = len({r["identity"] for r in scores.select(["identity", "status"]).to_pylist()
                   if r["status"] == "too_few_images"})  # fmt: skip
    return (
        f"flagged {flagged} of {scores.num_rows} faces ({too_few} identities with < {min_images} "
        f"images not cleaned, {rejects} images without a usable face); "
        f"report: {output / 'report' / 'index.html'}"
    )
