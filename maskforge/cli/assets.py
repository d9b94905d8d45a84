"""``maskforge assets``: build, list and preview occluder assets."""

from __future__ import annotations

from pathlib import Path

import click

from ..occlude.assets import KINDS, SIDES
from ..vocab import WEARS
from ._common import table, user_errors


@click.group("assets")
def command() -> None:
    """Occluder assets (PNG + JSON sidecars): build, list, preview, import."""


@command.command("build")
@click.option(
    "--out",
    "out",
    default=None,
    metavar="DIR",
    help="Output folder (default: the bundled mask_assets/).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Build into a temporary folder and fail if it differs from the bundled files.",
)
@user_errors
def build(out: str | None, check: bool) -> None:
    """Regenerate the project's assets from their code definitions (deterministic bytes)."""
    import tempfile

    from ..occlude.assets import build_assets, bundled_dir

    if not check:
        files = build_assets(Path(out) if out else None)
        click.echo(f"wrote {len(files)} files to {files[0].parent}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        files = build_assets(Path(tmp))
        ref = Path(out) if out else bundled_dir()
        stale = [
            f.name
            for f in files
            if not (ref / f.name).is_file() or (ref / f.name).read_bytes() != f.read_bytes()
        ]
    if stale:
        raise click.ClickException(
            f"{len(stale)} asset files differ from a fresh build: "
            f"{', '.join(stale[:6])}; run `maskforge assets build`"
        )
    click.echo(f"{len(files)} asset files up to date in {ref}")


@command.command("import")
@click.argument("pngs", nargs=-1, required=True, metavar="PNG...")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the PNG shows.")
@click.option("--output", "output", required=True, metavar="DIR", help="Asset folder to write to.")
@click.option("--name", default=None, metavar="NAME", help="Asset name (default: the PNG's stem).")
@click.option(
    "--wear", type=click.Choice(WEARS), default="correct", show_default=True,
    help="How the mask in the PNG is worn (masks only).",
)
@click.option("--colorable", is_flag=True, help="Also write a colour map (recolouring, textures).")
@click.option(
    "--side", type=click.Choice(SIDES), default="front", show_default=True,
    help="Template for heads turned towards the image's left/right (picked by yaw).",
)
@user_errors
def import_(
    pngs: tuple[str, ...],
    kind: str,
    output: str,
    name: str | None,
    wear: str,
    colorable: bool,
    side: str,
) -> None:
    """Make assets from your own PNG occluders (transparent background): the anchors are fitted
    from the image's alpha; writes NAME.png + NAME.json (and NAME.color.png with --colorable)
    into DIR, for --assets-dir, occlude.asset_dirs or `assets preview`."""
    from ..occlude.importer import import_assets

    for imp, files in import_assets(pngs, kind, output, name, wear, colorable, side):
        click.echo(f"{imp.name}: {imp.summary}")
        click.echo(f"  wrote {', '.join(str(f) for f in files)}")


@command.command("extract")
@click.argument("photos", nargs=-1, required=True, metavar="PHOTO...")
@click.option("--output", "output", required=True, metavar="DIR", help="Asset folder to write to.")
@click.option(
    "--name", default=None, metavar="NAME", help="Asset name (one photo; default photo-STEM)."
)
@user_errors
def extract(photos: tuple[str, ...], output: str, name: str | None) -> None:
    """Cut mask assets out of photos of people wearing masks: finds the face (masked faces too),
    segments the mask, unwarps it into the canonical mask frame and fits its anchors as
    `assets import` does; writes NAME.png + NAME.json into DIR (docs/occluders.md). Photos
    without a usable mask are left out with a message (exit 2 when none is usable)."""
    from ..occlude.extract import extract_assets

    written, refused = extract_assets(photos, output, name)
    for imp, files in written:
        click.echo(f"{imp.name}: {imp.summary}")
        click.echo(f"  wrote {', '.join(str(f) for f in files)}")
    for message in refused:
        click.echo(f"left out: {message}", err=True)


@command.command("list")
@click.option("--assets-dir", multiple=True, metavar="DIR", help="Extra asset folder.")
@user_errors
def list_(assets_dir: tuple[str, ...]) -> None:
    """Show the available assets (bundled and user folders) and the colour presets."""
    from ..occlude import AssetLibrary
    from ..occlude.palette import PRESETS

    lib = AssetLibrary.load(extra_dirs=list(assets_dir) or None)
    rows = []
    for name in lib.variants():
        a = lib.get(name) if "." in name else lib.get(name, "correct")
        rows.append(
            (
                a.name,
                a.kind,
                a.wear,
                a.side,
                a.default_color or "-",
                "yes" if a.colorable else "no",
                a.meta.get("license", "?"),
                str(a.path.parent if a.path else ""),
            )
        )
    click.echo(
        table(
            rows,
            ("asset", "kind", "wear", "side", "default colour", "colourable", "licence", "folder"),
        )
    )
    click.echo(
        "\npresets: "
        + ", ".join(f"{k} ({v[0]}{' ' + v[1] if v[1] else ''})" for k, v in PRESETS.items())
    )


@command.command("preview")
@click.argument("name", required=False)
@click.option(
    "--output",
    "output",
    default="occluder_preview.png",
    show_default=True,
    metavar="FILE",
    help="PNG to write.",
)
@click.option(
    "--faces",
    "faces",
    default=None,
    metavar="DIR",
    help="Folder of face images to render on (default: a drawn schematic face).",
)
@click.option(
    "--count",
    type=click.IntRange(1, 24),
    default=6,
    show_default=True,
    help="Faces to use (the most turned, the most open mouths, then frontal ones).",
)
@click.option("--all", "all_", is_flag=True, help="Every asset and wear variant as columns.")
@click.option("--wear", type=click.Choice(WEARS), default=None)
@click.option("--extra", multiple=True, metavar="SPEC", help="Extra columns (specs), repeatable.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--assets-dir", multiple=True, metavar="DIR", help="Extra asset folder.")
@click.option(
    "--tile", type=click.IntRange(64, 512), default=144, show_default=True, help="Tile side (px)."
)
@click.option(
    "--aligned", is_flag=True,
    help="Render on the face aligned to a TILE px ArcFace crop (what training sees).",
)
@click.option("--palette", is_flag=True, help="Write a 256-colour PNG (smaller; for docs).")
@user_errors
def preview(
    name: str | None,
    output: str,
    faces: str | None,
    count: int,
    all_: bool,
    wear: str | None,
    extra: tuple[str, ...],
    seed: int,
    assets_dir: tuple[str, ...],
    tile: int,
    aligned: bool,
    palette: bool,
) -> None:
    """Render NAME (a spec such as surgical-blue, or an asset name) on a few faces into one PNG.
    Without NAME (or with --all), every asset and wear variant."""
    from ..occlude import AssetLibrary, OccluderSpec
    from ..occlude.sheet import (
        contact_sheet,
        detect_faces,
        every_variant_specs,
        pick_diverse,
        save_rgb_png,
        schematic_face,
    )

    lib = AssetLibrary.load(extra_dirs=list(assets_dir) or None)
    if name and not all_:
        specs = [OccluderSpec.parse(name, wear=wear)]
        if wear is None and lib.get(specs[0].name).kind == "mask":
            specs = [OccluderSpec.parse(name, wear=w) for w in lib.wears(specs[0].name)]
    else:
        specs = every_variant_specs(lib)
    specs += [OccluderSpec.parse(e) for e in extra]
    if faces:
        exts = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
        paths = sorted(p for p in Path(faces).rglob("*") if p.suffix.lower() in exts)[:1000]
        found = pick_diverse(detect_faces(paths), count)
        if not found:
            raise click.ClickException(f"no faces found in {faces}")
    else:
        found = [schematic_face()]
    sheet = contact_sheet(found, specs, lib, seed=seed, tile=tile, aligned=aligned)
    save_rgb_png(output, sheet, palette=palette)
    click.echo(f"wrote {output} ({len(found)} faces x {len(specs)} occluders)")
