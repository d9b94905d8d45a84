"""``maskforge detect``: aligned faces with landmarks and pose, as shards (and optionally files)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import Progress, direct_recipe, user_errors


@click.command("detect")
@click.argument("src_dir", type=click.Path(exists=True))
@click.option("--output", required=True, metavar="DIR", help="Output folder (shards, rejects, manifest).")
@click.option("--detector", type=click.Choice(["dlib-hog", "mtcnn", "dlib-cnn"]), default="dlib-hog", show_default=True)
@click.option("--size", type=int, default=112, show_default=True, help="Output size: 112 (ArcFace template), 160 (FaceNet crop) or another size.")
@click.option("--no-align", is_flag=True, help="Keep the unaligned box+margin crop instead of aligning.")
@click.option("--export-images", metavar="DIR", default=None, help="Also write the crops as image files mirroring the source folders.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other detect key, e.g. --set detect.upsample=1.")
@click.option("--executor", type=click.Choice(["ray", "local"]), default="local", show_default=True)
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
@click.option("--quiet", is_flag=True)
@user_errors
def command(src_dir: str, output: str, detector: str, size: int, no_align: bool, export_images: str | None,
            overrides: tuple[str, ...], executor: str, num_cpus: int | None, quiet: bool) -> None:
    """Detect, align and landmark the faces of SRC_DIR; write shards with variant "aligned"."""
    from ..io.paths import check_destination
    from ..pipeline import RunOptions, plan_run, run_plan
    from ..pipeline.export_task import ExportImages
    from .run import summary

    recipe = direct_recipe("detect", {"detect": {"detector": detector, "size": int(size), "align": not no_align}},
                           overrides)  # fmt: skip
    plan = plan_run(recipe, input=src_dir, output=output)
    record: dict[str, str] = {}
    if export_images:
        check_destination(export_images, src_dir, what="--export-images")
        check_destination(export_images, output, what="--export-images", source_what="--output", inside=False)
        targets, record = export_targets(Path(export_images), [s.source_path for s in plan.listing.samples])
        plan.writers["images"] = ExportImages(export_images, targets)
    with Progress(len(plan.listing.samples), quiet=quiet, desc="detect") as bar:
        options = RunOptions(executor=executor, num_cpus=num_cpus, progress=bar.shard, monitor=bar.watch)
        result = run_plan(plan, options)
    click.echo(summary(result))
    if export_images:
        written = [f for s in result.shard_stats for f in (s.get("images") or {}).get("written", [])]
        write_export_record(Path(export_images), record, written, targets)
        click.echo(f"exported {len(written)} aligned crops under {export_images}")


EXPORT_RECORD = "exported.csv"


def export_targets(folder: Path, source_paths: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The file (relative to ``folder``) of each source path's crop, unique and inside
    ``folder``, and the record of an earlier export into it (file -> source path). OutputError,
    before anything is written, when a target exists that no earlier export wrote."""
    import csv

    from ..errors import OutputError
    from ..io.paths import check_output_folder, path_under, unique_targets

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
    import csv
    import io

    from ..io.writer import write_bytes_atomic

    by_file = {t: sp for sp, t in targets.items()}
    merged = {f: sp for f, sp in record.items() if (folder / f).is_file()}
    merged.update({f: by_file[f] for f in written})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "source_path"])
    w.writerows(sorted(merged.items()))
    write_bytes_atomic(buf.getvalue().encode("utf-8"), folder / EXPORT_RECORD)
