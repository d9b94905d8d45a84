"""``maskforge export``: a run's samples as identity folders of image files."""

from __future__ import annotations

import click

from ._common import user_errors


@click.command("export")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.argument("dst", type=click.Path(file_okay=False))
@click.option("--format", "format_", type=click.Choice(["folders"]), default="folders", show_default=True,
              help="Output format: identity folders of image files.")
@click.option("--variant", "variants", multiple=True, help="Only these variants (repeatable).")
@click.option("--split", type=click.Choice(["train", "val"]), default=None, help="Only this split.")
@user_errors
def command(out: str, dst: str, format_: str, variants: tuple[str, ...], split: str | None) -> None:
    """Write the samples of run OUT under DST as DST/<identity>/<name>_<variant>.<ext>."""
    from ..export import export_folders

    n = export_folders(out, dst, layout="identity", variants=variants or None, split=split)
    click.echo(f"wrote {n} images under {dst}")
