"""``maskforge clean``: find mislabelled images in a folder of identity folders.

Lists SRC_DIR, decodes, detects/aligns (the detection stage), embeds, scores every identity and
writes OUT/clean_scores.parquet (every sample), OUT/removed.csv (the flagged samples, path relative
to SRC_DIR), OUT/clean_manifest.json and the audit report OUT/report/index.html. Source files are
only touched with --move-to / --copy-to.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path, PurePosixPath

import click
import numpy as np

from ..clean import CleanConfig
from ..clean.table import result_table, write_clean_scores
from ..errors import DecodeError, OutputError
from ._common import user_errors

CHUNK = 64  # images decoded/detected/embedded at a time (bounded memory)


def embed_folder(listing, embedder, detect_config=None, progress: bool = False):
    """Decode, detect/align and embed every sample. Returns (vectors [M, D], indices of the
    embedded samples, rejects as (index, reason), seconds per step)."""
    from ..detect import AlignedFace, DetectConfig, DetectStage
    from ..io.decode import decode_image

    stage = DetectStage(detect_config or DetectConfig(size=112))
    vecs, kept, rejects = [], [], []
    times = {"decode": 0.0, "detect": 0.0, "embed": 0.0}
    samples = listing.samples
    bar = click.progressbar(length=len(samples), label="embedding", file=None) if progress else None
    for start in range(0, len(samples), CHUNK):
        part = list(range(start, min(start + CHUNK, len(samples))))
        t0 = time.perf_counter()
        images, ok = [], []
        for i in part:
            try:
                images.append(decode_image(samples[i].path))
                ok.append(i)
            except DecodeError as exc:
                rejects.append((i, f"decode_{exc.reason}"))
        t1 = time.perf_counter()
        faces = stage(images, [samples[i].hints for i in ok]) if images else []
        t2 = time.perf_counter()
        good = [(i, f) for i, f in zip(ok, faces, strict=True) if isinstance(f, AlignedFace)]
        rejects += [
            (i, f.reason) for i, f in zip(ok, faces, strict=True) if not isinstance(f, AlignedFace)
        ]
        if good and embedder.wants_source:  # dlib: chips cut from the source image
            from ..embed.chips import landmarks_to_source

            pos = {i: k for k, i in enumerate(ok)}
            vecs.append(embedder.embed(
                [images[pos[i]] for i, _ in good],
                [landmarks_to_source(f.landmarks5, f.transform) for _, f in good],
            ))
            kept += [i for i, _ in good]
        elif good:
            vecs.append(embedder.embed([f.image for _, f in good], [f.landmarks5 for _, f in good]))
            kept += [i for i, _ in good]
        t3 = time.perf_counter()
        times["decode"] += t1 - t0
        times["detect"] += t2 - t1
        times["embed"] += t3 - t2
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.render_finish()
    dim = embedder.dim
    out = np.concatenate(vecs) if vecs else np.zeros((0, dim), np.float32)
    return out, kept, rejects, times


def _transfer(src_root: Path, rel_paths: list[str], dest: Path, move: bool) -> int:
    n = 0
    for rel in rel_paths:
        src = src_root / PurePosixPath(rel)
        dst = dest / PurePosixPath(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            raise OutputError(f"{str(dst)!r} already exists; choose an empty --move-to/--copy-to")
        if move:
            shutil.move(str(src), str(dst))
        else:
            shutil.copy2(src, dst)
        n += 1
    return n


@click.command("clean")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="output folder (clean_scores.parquet, removed.csv, report/)",
)
@click.option(
    "--embedder",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "facenet-vggface2", "dlib-resnet", "dlib-resnet-native"]),
)
@click.option(
    "--method", default="robust", show_default=True, type=click.Choice(["robust", "mean-distance"])
)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="score threshold (default: calibrated for method and embedder)",
)
@click.option(
    "--min-images",
    "min_images",
    type=int,
    default=3,
    show_default=True,
    help="identities with fewer faces are not cleaned",
)
@click.option(
    "--keep",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="keep.csv: paths never flagged",
)
@click.option(
    "--move-to",
    "move_to",
    type=click.Path(file_okay=False, path_type=Path),
    help="move flagged files here (same relative paths)",
)
@click.option(
    "--copy-to",
    "copy_to",
    type=click.Path(file_okay=False, path_type=Path),
    help="copy flagged files here (same relative paths)",
)
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="embedder weights file (facenet state dict or dlib .dat)",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N")
@click.option("--batch-size", "batch_size", type=int, default=64, show_default=True)
@user_errors
def command(src_dir: Path, output: Path, embedder: str, method: str, threshold: float | None,
            min_images: int, keep: Path | None, move_to: Path | None, copy_to: Path | None,
            weights: Path | None, device: str, batch_size: int) -> None:  # fmt: skip
    """Find mislabelled images in SRC_DIR (a folder of identity folders)."""
    from ..embed import make_embedder
    from ..io.sources import list_samples
    from ..report import build_report, write_redirect

    if move_to and copy_to:
        raise click.UsageError("use --move-to or --copy-to, not both")
    started = time.perf_counter()
    listing = list_samples(src_dir)
    emb = make_embedder(embedder, device=device, weights=weights, batch_size=batch_size)
    info = emb.info
    config = CleanConfig(
        method=method,
        threshold=threshold,
        min_images=min_images,
        embedder=info["name"],
        keep=str(keep) if keep else None,
    )
    click.echo(
        f"{len(listing.samples)} images, {len(listing.labels)} identities; embedder {info['name']}"
    )
    vecs, kept, rejects, times = embed_folder(listing, emb, progress=True)
    samples = listing.samples
    from ..clean import score_identities

    res = score_identities(
        vecs,
        [samples[i].identity for i in kept],
        config,
        device=device,
        source_paths=[samples[i].source_path for i in kept],
        sample_ids=[samples[i].sample_id for i in kept],
    )
    output.mkdir(parents=True, exist_ok=True)
    meta = {
        "source_root": str(listing.root),
        "embedder": info,
        "config": config.to_dict(),
        "summary": res.summary(),
        "skipped_files": listing.skipped,
    }
    table = result_table(
        res,
        [samples[i].sample_id for i in kept],
        [samples[i].identity for i in kept],
        [samples[i].source_path for i in kept],
        rejected=[
            (samples[i].sample_id, samples[i].identity, samples[i].source_path, r)
            for i, r in rejects
        ],
        metadata=meta,
    )
    write_clean_scores(table, output / "clean_scores.parquet")
    flagged = np.flatnonzero(res.flagged)
    flagged_paths = [samples[kept[j]].source_path for j in flagged]
    with open(output / "removed.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["path", "identity", "score", "threshold", "method", "reason", "nearest_identity"]
        )
        for j in flagged:
            s = samples[kept[j]]
            w.writerow([s.source_path, s.identity, f"{res.score[j]:.4f}", f"{res.threshold[j]:.4f}",
                        res.method, res.reason[j], res.nearest_identity[j] or ""])  # fmt: skip
    moved = 0
    if move_to or copy_to:
        moved = _transfer(listing.root, flagged_paths, Path(move_to or copy_to), move=bool(move_to))
    index = build_report(table, output / "report", source_root=listing.root, title=src_dir.name)
    write_redirect(output / "report.html")
    summary = res.summary()
    meta.update(
        seconds={k: round(v, 2) for k, v in times.items()}
        | {"clean": round(res.seconds, 3), "total": round(time.perf_counter() - started, 2)},
        rejected=len(rejects),
        moved=moved if move_to else 0,
        copied=moved if copy_to else 0,
    )
    (output / "clean_manifest.json").write_text(json.dumps(meta, indent=2, default=str))
    click.echo(
        f"flagged {summary['flagged']} of {summary['images']} faces "
        f"({summary['identities_too_few_images']} identities with < {min_images} images not cleaned, "
        f"{len(rejects)} images without a usable face); report: {index}"
    )
    if moved:
        click.echo(f"{'moved' if move_to else 'copied'} {moved} files to {move_to or copy_to}")
