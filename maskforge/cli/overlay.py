"""``maskforge overlay``: MaskTheFace-style direct mode, folder in -> folder out."""

from __future__ import annotations

import click

from ..vocab import IN_FRONT, RUNTIMES, WEARS
from ._common import licence_option, user_errors


@click.command("overlay")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("dst_dir", type=click.Path(file_okay=False))
@click.option(
    "--occluder",
    "occluder",
    multiple=True,
    metavar="SPEC",
    help="Occluder spec, repeatable (picked uniformly): a preset (surgical-blue, "
    "surgical-green, n95, kn95, cloth-black, glasses, sunglasses, random), an asset "
    "name, with +#rrggbb / +random / +TEXTURE / +WEAR tokens.",
)
@click.option(
    "--mix",
    default=None,
    metavar="SPEC:W,...",
    help='Weighted choices, e.g. "surgical-blue:0.4,surgical-green:0.2,n95:0.2,cloth-black:0.2".',
)
@click.option(
    "--wear",
    type=click.Choice(WEARS),
    default="correct",
    show_default=True,
    help="How masks are worn (a spec's own wear token wins).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--detector",
    type=click.Choice(["dlib-hog", "mtcnn", "blazeface", "blazeface-full"]),
    default="dlib-hog",
    show_default=True,
)
@click.option(
    "--landmarks",
    type=click.Choice(["dlib68", "mesh"]),
    default="dlib68",
    show_default=True,
    help="Where the 68 placement points come from: dlib's model (non-commercial licence) or "
    "derived from MediaPipe Face Mesh (Apache-2.0; use with --detector blazeface).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="CPUs: 1 runs in this process, more run on that many worker processes (no Ray start-up; same output bytes).",
)
@click.option(
    "--all-faces", is_flag=True, help="Occlude every detected face, not only the selected one."
)
@click.option(
    "--masks-dir",
    default=None,
    metavar="DIR",
    help="Also write each occlusion mask as a PNG under DIR (same relative path, .png).",
)
@click.option("--assets-dir", multiple=True, metavar="DIR", help="Extra asset folder (PNG + JSON).")
@click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=95,
    show_default=True,
    help="JPEG/WebP quality of the outputs.",
)
@licence_option("(dlib-68 is refused: use --detector blazeface --landmarks mesh)")
@click.option(
    "--in-front",
    type=click.Choice(IN_FRONT),
    default="keep",
    show_default=True,
    help="A hand or another object in front of the lower face: keep = draw the mask behind it "
    "(skips the face when it hides most of the lower face, or is dark and its outline unsure), "
    "skip = skip the face, off = do not look (faster).",
)
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="auto",
    show_default=True,
    help="What runs the hand models (and blazeface): auto = LiteRT on the CPU when "
    "ai-edge-litert is installed, else torch.",
)
@click.option("--quiet", is_flag=True)
@user_errors
def command(
    src_dir: str,
    dst_dir: str,
    occluder: tuple[str, ...],
    mix: str | None,
    wear: str,
    seed: int,
    detector: str,
    landmarks: str,
    workers: int,
    all_faces: bool,
    masks_dir: str | None,
    assets_dir: tuple[str, ...],
    quality: int,
    licence: str,
    in_front: str,
    runtime: str,
    quiet: bool,
) -> None:
    """Put occluders on the faces of SRC_DIR's images, writing DST_DIR (same relative paths)
    and DST_DIR/overlay_log.csv (one row per input)."""
    from ..app.overlay import overlay_folder
    from ._common import Progress

    with Progress(0, quiet=quiet, desc="overlay") as bar:
        s = overlay_folder(
            src_dir,
            dst_dir,
            occluder=occluder,
            mix=mix,
            wear=wear,
            seed=seed,
            detector=detector,
            workers=workers,
            all_faces=all_faces,
            masks_dir=masks_dir,
            assets_dir=assets_dir,
            quality=quality,
            monitor=bar.watch,
            licence=licence,
            in_front=in_front,
            runtime=runtime,
            landmarks=landmarks,
        )
    if not quiet:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.reasons.items()))
        click.echo(
            f"{s.total} inputs: {s.ok} occluded, {s.skipped} skipped, {s.errors} errors"
            + (f" ({reasons})" if reasons else "")
            + f"; log: {s.log}"
        )
