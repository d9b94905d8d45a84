"""``maskforge run``: run a recipe over a dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from ._common import table, user_errors


@click.command("run")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--input", "input_", metavar="PATH", help="Dataset folder, list file or insightface train.rec (overrides the recipe's input).")
@click.option("--output", metavar="DIR", help="Output folder (overrides the recipe's output).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe key, e.g. --set select.per_identity=2 (repeatable).")
@click.option("--models", metavar="DIR", default=None, help="An insightface model-pack folder (det_*.onnx, w600k_*.onnx): its ONNX detector and embedder replace the recipe's (--set still wins).")
@click.option("--address", default=None, help="Join an existing Ray cluster (auto or ray://host:port); paths must be on shared storage.")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs of the embedded Ray.")
@click.option("--num-gpus", type=click.IntRange(min=0), default=None, help="GPUs of the embedded Ray.")
@click.option("--resume/--restart", default=True, show_default=True, help="Reuse finished shards, or start from an empty dataset and recompute everything.")
@click.option("--executor", type=click.Choice(["ray", "local"]), default="ray", show_default=True, help="Ray, or a plain loop in this process (debugging).")
@click.option("--quiet", is_flag=True, help="No progress bar; log lines only.")
@click.option("--dry-run", is_flag=True, help="Print the plan (images, identities, shards, embedder, expected rows, what resume would reuse); write nothing.")
@user_errors
def command(
    recipe: str,
    input_: str | None,
    output: str | None,
    overrides: tuple[str, ...],
    models: str | None,
    address: str | None,
    num_cpus: int | None,
    num_gpus: int | None,
    resume: bool,
    executor: str,
    quiet: bool,
    dry_run: bool,
) -> None:
    """Run RECIPE (a TOML file) and write shards, rejects, manifest and report."""
    from dataclasses import replace

    from ..app.models import run_overrides
    from ..pipeline import RunOptions, load_recipe, plan_run, resolve_paths, run_plan
    from ..pipeline.quiet import terminal
    from ..pipeline.ray_early import start_early
    from ._common import Progress

    overrides = run_overrides(recipe, overrides, models)
    loaded = load_recipe(recipe, overrides)
    in_path, out_path = resolve_paths(loaded, input_, output)
    if dry_run:
        from ..pipeline.dry_run import describe_plan, format_plan

        plan = plan_run(loaded, input=in_path, output=out_path)
        click.echo(format_plan(describe_plan(plan, resume)))
        return
    options = RunOptions(input=input_, output=output, overrides=overrides, executor=executor,
                         resume=resume, num_cpus=num_cpus, num_gpus=num_gpus, address=address)  # fmt: skip
    # on Ray, Ray and its actors start while the input is listed; meanwhile fds 1 and 2 go to
    # OUT/logs/ray.log, so this block writes to the terminal() stream
    with start_early(loaded, options, in_path, out_path) as early:
        plan = plan_run(loaded, input=in_path, output=out_path)
        total = sum(len(s.samples) for s in plan.shards)
        identities = len({s.identity for sh in plan.shards for s in sh.samples})
        listed = "" if total == len(plan.listing.samples) else f" (of {len(plan.listing.samples)} listed)"
        click.echo(f"maskforge: {total} images{listed} of {identities} identities in "
                   f"{len(plan.shards)} shards -> {plan.out}", file=terminal())  # fmt: skip

        def progress(stats: Mapping[str, Any]) -> None:
            bar.shard(stats)
            if quiet and not stats.get("skipped"):
                print(f"shard {stats['shard']:05d}: {stats.get('samples', 0)} samples, "
                      f"{stats.get('rejects', 0)} rejects", file=terminal(), flush=True)

        with Progress(total, quiet=quiet) as bar:
            result = run_plan(plan, replace(options, progress=progress, monitor=bar.watch), early)
    click.echo(summary(result))


def summary(result: Any) -> str:
    c = result.counts
    rows: list[tuple[Any, ...]] = [
        ("images listed", c["listed"]),
        ("identities", c["identities"]),
        ("shards (processed / reused)", f"{len(result.shard_stats) - result.skipped_shards} / {result.skipped_shards}"),
        ("samples written", c["samples"]),
        ("rejects", c["rejects"]),
    ]
    for reason, n in c["rejects_by_reason"].items():
        rows.append((f"  {reason}", n))
    if c.get("cleaned"):
        rows += [("flagged by cleaning", c["flagged"]), ("removed by cleaning", c["removed"])]
    for variant, n in c["variants"].items():
        rows.append((f"variant {variant}", n))
    if c.get("skipped_files"):
        rows.append(("files skipped", ", ".join(f"{k}={v}" for k, v in c["skipped_files"].items())))
    rate = c["inputs"] / result.seconds if result.seconds > 0 else 0.0
    rows.append(("time", f"{result.seconds:.1f} s ({rate:.1f} images/s)"))
    out = result.out
    lines = [table(rows), "", f"output:   {out / 'dataset'}", f"rejects:  {out / 'rejects.parquet'}",
             f"manifest: {out / 'manifest.json'}"]
    if (out / "report" / "index.html").is_file():
        lines.append(f"report:   {out / 'report' / 'index.html'}")
    return "\n".join(lines)
