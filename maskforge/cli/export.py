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
    from ..io.reader import dataset_files
    from ..io.selection import RowFilter, read_scan

    try:
        row_filter = RowFilter.resolve(
            [read_scan(f) for f in dataset_files(out, allow_partial=allow_partial)], split=split,
            variants=variants or None, occluded=None,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if format_ == "webdataset":
        from ..export.webdataset import export_webdataset

        n = export_webdataset(out, dst, row_filter=row_filter, maxcount=maxcount, allow_partial=allow_partial)
        click.echo(f"wrote {n} samples in WebDataset shards under {dst}")
        return
    from ..export import export_folders

    chosen = sorted(row_filter.variants) if row_filter.variants is not None else None
    n = export_folders(out, dst, layout="identity", variants=chosen, split=split, allow_partial=allow_partial)
    click.echo(f"wrote {n} images under {dst}")
