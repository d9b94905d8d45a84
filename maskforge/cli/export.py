"""``maskforge export``: a run's samples as identity folders of image files, or WebDataset shards."""

from __future__ import annotations

import click

from ._common import user_errors


@click.command("export")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.argument("dst", type=click.Path(file_okay=False))
@click.option("--format", "format_", type=click.Choice(["folders", "webdataset"]), default="folders",
              show_default=True,
              help="folders: DST/<identity>/<name>_<variant>.<ext>; webdataset: DST/shard-NNNNNN.tar "
                   "with .jpg/.cls/.json per sample.")
@click.option("--variant", "variants", multiple=True,
              help="Only these variants (repeatable); a prefix selects its +/# variants: 'mask' "
                   "is mask+aug and mask+aug#2.")
@click.option("--split", default=None, help="Only this split (e.g. train).")
@click.option("--maxcount", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="webdataset: samples per tar shard.")
@click.option("--allow-partial", is_flag=True,
              help="Export a run that has not finished (killed or still running): the shards done so far.")
@user_errors
def command(out: str, dst: str, format_: str, variants: tuple[str, ...], split: str | None, maxcount: int,
            allow_partial: bool) -> None:
    """Write the samples of run OUT under DST (identity folders, or WebDataset tar shards)."""
    from ..app.export import export_run, row_filter

    try:
        rows = row_filter(out, variants=variants, split=split, allow_partial=allow_partial)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    n = export_run(out, dst, rows, format=format_, split=split, maxcount=maxcount, allow_partial=allow_partial)
    if format_ == "webdataset":
        click.echo(f"wrote {n} samples in WebDataset shards under {dst}")
    else:
        click.echo(f"wrote {n} images under {dst}")
