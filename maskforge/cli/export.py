"""``maskforge export``: a run's samples as identity folders of image files, WebDataset shards or an
insightface RecordIO dataset; a verification pair set as arcface_torch's ``.bin``."""

from __future__ import annotations

import click

from ._common import user_errors


@click.command("export")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.argument("dst", type=click.Path())
@click.option("--format", "format_", default="folders", show_default=True,
              type=click.Choice(["folders", "webdataset", "insightface", "verification-bin"]),
              help="folders: DST/<identity>/<name>_<variant>.<ext>; webdataset: DST/shard-NNNNNN.tar "
                   "with .jpg/.cls/.json per sample; insightface: DST/train.rec, train.idx, property, "
                   "labels.csv (labels contiguous over the exported rows); verification-bin: the file "
                   "DST (e.g. val.bin), arcface_torch's pair set.")
@click.option("--variant", "variants", multiple=True,
              help="Only these variants (repeatable); a prefix selects its +/# variants: 'mask' "
                   "is mask+aug and mask+aug#2.")
@click.option("--split", default=None,
              help="Only this split (e.g. train); verification-bin: the split pairs are drawn from (default val).")
@click.option("--maxcount", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="webdataset: samples per tar shard.")
@click.option("--mask", type=click.Choice(["none", "one"]), default="none", show_default=True,
              help="verification-bin: 'one' shows the second image of every pair masked.")
@click.option("--pairs", "pairs_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="verification-bin: these pairs (maskforge eval make-pairs on the run's input) "
                   "instead of pairs drawn from --split.")
@click.option("--folds", type=click.IntRange(min=2), default=10, show_default=True,
              help="verification-bin: folds of the drawn pairs.")
@click.option("--per-fold", type=click.IntRange(min=1), default=300, show_default=True,
              help="verification-bin: matched (and mismatched) pairs per fold.")
@click.option("--seed", type=int, default=0, show_default=True, help="verification-bin: seed of the draw.")
@click.option("--allow-partial", is_flag=True,
              help="Export a run that has not finished (killed or still running): the shards done so far.")
@user_errors
def command(out: str, dst: str, format_: str, variants: tuple[str, ...], split: str | None, maxcount: int,
            mask: str, pairs_file: str | None, folds: int, per_fold: int, seed: int,
            allow_partial: bool) -> None:
    """Write the samples of run OUT under DST (identity folders, WebDataset tar shards, an
    insightface RecordIO dataset), or a verification pair set of OUT to the file DST."""
    from ..app.export import export_bin, export_run, row_filter

    if format_ == "verification-bin":
        res = export_bin(out, dst, split=split, mask=mask, pairs_file=pairs_file, folds=folds,
                         per_fold=per_fold, seed=seed, allow_partial=allow_partial)  # fmt: skip
        click.echo(f"wrote {res['pairs']} pairs ({res['images']} images, {res['folds']} folds) to {dst}")
        if res["missing"]:
            click.echo(f"left out the pairs of {len(res['missing'])} images the run lacks: "
                       f"{', '.join(res['missing'][:5])}{' ...' if len(res['missing']) > 5 else ''}")
        return
    if mask != "none" or pairs_file is not None:
        raise click.UsageError("--mask and --pairs are options of --format verification-bin")
    try:
        rows = row_filter(out, variants=variants, split=split, allow_partial=allow_partial)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    n = export_run(out, dst, rows, format=format_, split=split, maxcount=maxcount, allow_partial=allow_partial)
    if format_ == "webdataset":
        click.echo(f"wrote {n} samples in WebDataset shards under {dst}")
    elif format_ == "insightface":
        click.echo(f"wrote {n} records (train.rec, train.idx, property, labels.csv) under {dst}")
    else:
        click.echo(f"wrote {n} images under {dst}")
