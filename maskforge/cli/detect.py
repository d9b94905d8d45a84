"""``maskforge detect``: aligned faces with landmarks and pose, as shards (and optionally files)."""

from __future__ import annotations

import click

from ._common import Progress, licence_option, user_errors


@click.command("detect")
@click.argument("src_dir", type=click.Path(exists=True))
@click.option("--output", required=True, metavar="DIR", help="Output folder (shards, rejects, manifest).")
@click.option("--detector", default=None, metavar="NAME", help="dlib-hog (default), mtcnn, dlib-cnn, blazeface, blazeface-full, or onnx:PATH (your SCRFD / RetinaFace-style ONNX file).")
@click.option("--models", metavar="DIR", default=None, help="An insightface model-pack folder: its ONNX detector (det_*.onnx), unless --detector names one.")
@click.option("--landmarks", type=click.Choice(["dlib68", "mesh"]), default="dlib68", show_default=True,
              help="dlib68: dlib's 68 points (non-commercial); mesh: MediaPipe Face Mesh (Apache-2.0).")
@licence_option()
@click.option("--size", type=int, default=112, show_default=True, help="Output size: 112 (ArcFace template), 160 (FaceNet crop) or another size.")
@click.option("--no-align", is_flag=True, help="Keep the unaligned box+margin crop instead of aligning.")
@click.option("--export-images", metavar="DIR", default=None, help="Also write the crops as image files mirroring the source folders.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other detect key, e.g. --set detect.upsample=1.")
@click.option("--executor", type=click.Choice(["ray", "local", "processes"]), default="local", show_default=True,
              help="local: this process; processes: --num-cpus worker processes of this machine (no Ray start-up); ray.")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
@click.option("--quiet", is_flag=True)
@user_errors
def command(src_dir: str, output: str, detector: str | None, models: str | None, landmarks: str, licence: str,
            size: int, no_align: bool, export_images: str | None, overrides: tuple[str, ...], executor: str,
            num_cpus: int | None, quiet: bool) -> None:  # fmt: skip
    """Detect, align and landmark the faces of SRC_DIR; write shards with variant "aligned"."""
    from ..app.detect import plan_detect, run_detect
    from ..app.models import choose
    from ..pipeline import RunOptions
    from .run import summary

    detector = choose("detector", detector, models, "dlib-hog")
    job = plan_detect(src_dir, output, detector=detector, size=size, align=not no_align,
                      export_images=export_images, overrides=overrides, landmarks=landmarks,
                      licence=licence)  # fmt: skip
    with Progress(len(job.plan.listing.samples), quiet=quiet, desc="detect") as bar:
        options = RunOptions(executor=executor, num_cpus=num_cpus, progress=bar.shard, monitor=bar.watch)
        result, written = run_detect(job, options)
    click.echo(summary(result))
    if export_images:
        click.echo(f"exported {len(written)} aligned crops under {export_images}")
