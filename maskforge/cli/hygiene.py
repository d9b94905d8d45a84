"""``maskforge hygiene``: duplicate images, one person under two identities and overlap with
evaluation sets, in a folder of identity folders.

A thin front-end of :mod:`maskforge.app.hygiene`: it runs a recipe with ``[detect] size = 112``,
``[embed]`` and ``[hygiene]`` built from its options, like ``maskforge run``. OUT holds
hygiene.parquet (one record per sample and issue: reason, action, partner, score), hygiene.json
(the findings) and the audit pages OUT/report/hygiene/index.html. Source files are never touched:
``--action remove|merge`` decides what the run's dataset keeps.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import Progress, user_errors


@click.command("hygiene")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="output folder (hygiene.parquet, hygiene.json, report/hygiene/)")  # fmt: skip
@click.option("--action", default="report", show_default=True,
              type=click.Choice(["report", "remove", "merge"]))  # fmt: skip
@click.option("--exclude", "exclude_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="an evaluation set: a folder of identity folders or an insightface .bin "
              "(repeatable)")  # fmt: skip
@click.option("--exclude-pairs", "exclude_pairs", multiple=True, nargs=2,
              type=click.Path(exists=True, path_type=Path), metavar="PAIRS IMAGES",
              help="an evaluation set as an LFW pairs.txt and its image folder (repeatable)")  # fmt: skip
@click.option("--keep", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="keep.csv: paths (or identity names) never removed or merged")  # fmt: skip
@click.option("--embedder", default="dlib-resnet", show_default=True,
              type=click.Choice(["auto", "facenet-vggface2", "dlib-resnet", "dlib-resnet-native"]))  # fmt: skip
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="embedder weights file (facenet state dict or dlib .dat)")  # fmt: skip
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N")
@click.option("--batch-size", "batch_size", type=int, default=64, show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Any other recipe key, e.g. --set hygiene.same_person_cosine=0.99.")  # fmt: skip
@click.option("--executor", type=click.Choice(["ray", "local"]), default="local", show_default=True)
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def command(src_dir: Path, output: Path, action: str, exclude_dirs: tuple[Path, ...],
            exclude_pairs: tuple[tuple[Path, Path], ...], keep: Path | None, embedder: str,
            weights: Path | None, device: str, batch_size: int, overrides: tuple[str, ...],
            executor: str, num_cpus: int | None, quiet: bool) -> None:  # fmt: skip
    """Find duplicates, split identities and evaluation-set overlap in SRC_DIR."""
    from ..app.hygiene import plan_hygiene, run_hygiene_command
    from ..pipeline import RunOptions

    exclude = [{"path": str(d.resolve())} for d in exclude_dirs] + [
        {"path": str(p.resolve()), "images": str(i.resolve())} for p, i in exclude_pairs
    ]
    plan = plan_hygiene(src_dir, output, action=action, exclude=exclude, keep=keep,
                        embedder=embedder, weights=weights, device=device,
                        batch_size=batch_size, overrides=overrides)  # fmt: skip
    listing = plan.listing
    click.echo(f"{len(listing.samples)} images, {len(listing.labels)} identities")
    with Progress(len(listing.samples), quiet=quiet, desc="hygiene") as bar:
        options = RunOptions(executor=executor, num_cpus=num_cpus, progress=bar.shard, monitor=bar.watch)
        done = run_hygiene_command(plan, options)
    s = done.summary
    click.echo(
        f"{s['duplicate_sets']} duplicate sets ({s['duplicate_sets_across_identities']} across "
        f"identities), {s['same_person_pairs']} identity pairs that look like one person, "
        f"{s['eval_overlaps']} identities in an evaluation set; action {s['action']}: "
        f"{s['removed']} removed, {s['relabelled']} relabelled; "
        f"report: {output / 'report' / 'hygiene' / 'index.html'}"
    )
