"""``maskforge eval``: score a face model on masked faces.

- ``eval pairs PAIRS --images DIR --output OUT``: verification under LFW's protocol; writes
  OUT/metrics.json, OUT/roc.png, OUT/report.html, OUT/scores.csv, OUT/failures.csv.
- ``eval make-pairs DIR --output pairs.txt``: a balanced pairs file from identity folders.
- ``eval identify --images DIR --output OUT``: masked probes 1:N against an unmasked gallery;
  writes OUT/metrics.json, OUT/report.html, OUT/probes.csv and OUT/failures.csv.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..errors import OutputError
from ..vocab import WEARS
from ._common import Progress, user_errors


def _model_options(fn: Callable) -> Callable:
    opts = [
        click.option(
            "--embedder",
            default=None,
            metavar="NAME",
            help="Built-in embedder: auto (default), facenet-vggface2, dlib-resnet; or onnx:PATH, "
            "your own ArcFace-style ONNX file.",
        ),
        click.option(
            "--models",
            default=None,
            metavar="DIR",
            help="An insightface model-pack folder: its ONNX embedder (w600k_*.onnx).",
        ),
        click.option(
            "--model",
            default=None,
            metavar="MODULE:CALLABLE",
            help="Your own embedding function: crops (N, H, W, 3) uint8 RGB -> (N, D) array.",
        ),
        click.option(
            "--occluder",
            default=None,
            metavar="SPEC",
            help="Occluder drawn on masked crops (default surgical-blue); see maskforge overlay.",
        ),
        click.option("--mix", default=None, metavar="SPEC:W,...", help="Weighted occluder mix."),
        click.option(
            "--wear",
            type=click.Choice(WEARS),
            default="correct",
            show_default=True,
        ),
        click.option("--size", type=click.Choice(["112", "160"]), default="112", show_default=True),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the masks."),
        click.option("--quiet", is_flag=True),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _embed_fn(embedder: str | None, model: str | None, models: str | None = None) -> Any:
    if sum(bool(x) for x in (embedder, model, models)) > 1:
        raise click.UsageError("give one of --embedder, --model and --models")
    if model:
        from ..eval import load_model

        return load_model(model)
    from ..app.models import choose
    from ..embed import make_embedder

    return make_embedder(choose("embedder", embedder, models, "auto"))


def _check_occluder(occluder: str | None, mix: str | None, wear: str) -> None:
    """Refuse both options, and unknown occluders before anything is written."""
    if occluder and mix:
        raise click.UsageError("give --occluder or --mix, not both")
    from ..eval import make_masker

    make_masker(occluder, mix, wear)


def _tar_text(entry: dict) -> str:
    return "unresolvable" if entry["tar"] is None else f"{entry['tar']:.4f}"


@click.group("eval")
def command() -> None:
    """Evaluate a face model on masked faces (verification pairs, 1:N identification)."""


@command.command("pairs")
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False))
@click.option("--images", default=None, type=click.Path(exists=True, file_okay=False),
              help="The folder the pairs' paths are relative to (not for a .bin, which holds its images).")
@click.option("--output", "output_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--mask",
    type=click.Choice(["none", "one", "both"]),
    default="one",
    show_default=True,
    help="Mask nothing, the second image of every pair, or both images.",
)
@_model_options
@user_errors
def pairs_command(
    pairs: str,
    images: str | None,
    output_dir: str,
    mask: str,
    embedder: str | None,
    models: str | None,
    model: str | None,
    occluder: str | None,
    mix: str | None,
    wear: str,
    size: str,
    seed: int,
    quiet: bool,
) -> None:
    """Verification on PAIRS (LFW pairs.txt, or CSV path_a,path_b,same[,fold]) with images
    under --images, or on an insightface .bin (lfw.bin, ...: aligned faces inside), by LFW's
    10-fold protocol."""
    from ..eval import output as out_mod
    from ..eval import verify
    from ..eval.bin_sets import load_pair_set
    from ..eval.report import write_verify_outputs
    from ..eval.verify import check_pairs

    _check_occluder(occluder, mix, wear)
    out = out_mod.check_output_dir(output_dir, [images] if images else [])
    pair_list, source, detect = load_pair_set(pairs, images)
    check_pairs(pair_list)
    fn = _embed_fn(embedder, model, models)
    out_mod.start(out, "pairs")
    with Progress(0, quiet=quiet, desc="verify") as bar:
        res = verify(
            pair_list, source, fn, mask=mask, occluder=occluder, mix=mix, wear=wear, seed=seed,
            size=int(size), detect=detect, progress=bar.count,
        )  # fmt: skip
    files = write_verify_outputs(res, out)
    if not quiet:
        m = res.metrics
        tars = ", ".join(f"{k}: {_tar_text(v)}" for k, v in m["tar_at_far"].items())
        click.echo(
            f"{m['pairs']} pairs, mask {mask}: accuracy {m['accuracy']:.4f} ± "
            f"{m['accuracy_std']:.4f}, AUC {m['auc']:.4f}, EER {m['eer']:.4f}, "
            f"threshold {m['threshold']:.3f}; TAR@FAR {tars}; "
            f"{m['failures']['images']} images failed; report: {files['report']}"
        )


@command.command("make-pairs")
@click.argument("images_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output",
    "output_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="pairs.txt (LFW format) or a .csv path.",
)
@click.option("--folds", type=click.IntRange(min=2), default=10, show_default=True)
@click.option(
    "--per-fold",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Matched pairs per fold, and as many mismatched.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@user_errors
def make_pairs_command(
    images_dir: str, output_file: str, folds: int, per_fold: int, seed: int
) -> None:
    """Write a balanced pairs file from IMAGES_DIR's identity folders (each identity in one
    fold only)."""
    from pathlib import Path

    from ..eval import make_pairs, write_pairs

    dest = Path(output_file).resolve()
    if dest.is_relative_to(Path(images_dir).resolve()):
        raise OutputError(f"{dest} lies inside the input folder {images_dir}: write it elsewhere")
    if dest.exists():
        raise OutputError(f"{dest} exists already: remove it or choose another --output")
    made = make_pairs(images_dir, folds=folds, per_fold=per_fold, seed=seed)
    write_pairs(made.pairs, dest)
    note = ""
    if made.per_fold < per_fold:
        note = f" (asked for {per_fold}: the smallest fold allows only {made.per_fold})"
    click.echo(
        f"wrote {dest}: {folds} folds x {made.per_fold} matched + {made.per_fold} mismatched "
        f"pairs{note}"
    )


@command.command("identify")
@click.option("--images", required=True, type=click.Path(exists=True))
@click.option("--output", "output_dir", required=True, type=click.Path(file_okay=False))
@click.option("--gallery-per-identity", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--mask",
    type=click.Choice(["probes", "none"]),
    default="probes",
    show_default=True,
    help="Mask the probes (the gallery is never masked), or nothing.",
)
@click.option(
    "--far",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.01,
    show_default=True,
    help="Target false-positive identification rate of the open-set threshold.",
)
@_model_options
@user_errors
def identify_command(
    images: str,
    output_dir: str,
    gallery_per_identity: int,
    mask: str,
    far: float,
    embedder: str | None,
    models: str | None,
    model: str | None,
    occluder: str | None,
    mix: str | None,
    wear: str,
    size: str,
    seed: int,
    quiet: bool,
) -> None:
    """1:N identification: per identity, --gallery-per-identity unmasked gallery images, the
    others masked probes. Reports rank-1, rank-5 and open-set accuracy at --far."""
    from ..eval import identify
    from ..eval import output as out_mod
    from ..eval.identify_report import write_identify_outputs

    _check_occluder(occluder, mix, wear)
    out = out_mod.check_output_dir(output_dir, [images])
    fn = _embed_fn(embedder, model, models)
    out_mod.start(out, "identify")
    with Progress(0, quiet=quiet, desc="identify") as bar:
        res = identify(
            images, fn, gallery_per_identity=gallery_per_identity, mask=mask, occluder=occluder,
            mix=mix, wear=wear, seed=seed, size=int(size), far=far, progress=bar.count,
        )  # fmt: skip
    files = write_identify_outputs(res, out)
    if not quiet:
        m, o = res.metrics, res.metrics["open_set"]
        click.echo(
            f"{m['probes']} probes vs {m['gallery_identities']} gallery identities: rank-1 "
            f"{m['rank1']:.4f}, rank-5 {m['rank5']:.4f}; open set at FAR {far:g}: DIR "
            f"{o['dir']:.4f}, accuracy {o['accuracy']:.4f} ({o['non_mated']} non-mated searches"
            f"{'' if o['resolvable'] else ', FAR unresolvable'}); "
            f"{m['failures']['images']} images failed; report: {files['report']}"
        )
