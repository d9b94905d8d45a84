"""Reading a run for training: images/s and identities per batch, with and without shuffling.

    python benchmarks/bench_reader.py [--identities 600] [--images 10] [--batch 64] [--epochs 1]

Builds a synthetic output in a temporary folder laid out as `maskforge run` writes it
(identity-complete shards in a seeded row order, 112x112 JPEG crops made from LFW faces when
../shared/faces/lfw-dev exists, 3 variants per image), then reads it in one process
(num_workers=0) with, in the same run:

- baseline: ShardIterableDataset(shuffle=False) — sequential row groups;
- ShardIterableDataset(shuffle=True) with the default shuffle buffer;
- ShardDataset + DataLoader(shuffle=True) — random access through the row-group cache.

For each it prints images/s of wall time and per CPU-second of the process (decode to a float
tensor and default_collate included; the CPU figure is the one to compare on a busy machine),
the CPU-second ratio to the baseline, and the mean number of distinct identities per batch next
to a uniform shuffle's expectation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import DataLoader

from maskforge.io.decode import encode_image
from maskforge.io.manifest import build_manifest, write_manifest
from maskforge.io.schema import SAMPLE_SCHEMA, to_table
from maskforge.io.writer import write_shard
from maskforge.pipeline.variant_stage import write_order
from maskforge.torch import SHUFFLE_BUFFER, ShardDataset, ShardIterableDataset

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("original", "mask+aug", "mask+aug#2")


def faces(n: int) -> list[np.ndarray]:
    lfw = Path(os.environ.get("MASKFORGE_LFW_DIR", ROOT.parent / "shared" / "faces" / "lfw-dev"))
    out = []
    for p in sorted(lfw.glob("*/*.jpg"))[:n]:
        bgr = cv2.imread(str(p))
        out.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[69:181, 69:181], (112, 112)))
    g = np.random.default_rng(0)
    while len(out) < n:
        out.append(cv2.resize(g.integers(0, 256, (8, 8, 3), dtype=np.uint8), (112, 112)))
    return out


def build(out: Path, identities: int, images: int, per_shard: int = 20) -> float:
    """Write the synthetic run; returns the mean encoded image size in KB."""
    pool = [encode_image(f, "jpeg", 95) for f in faces(64)]
    files = []
    for s, start in enumerate(range(0, identities, per_shard)):
        rows = [
            {"sample_id": f"{i:05d}{k:03d}", "identity": f"id{i:05d}", "label": i, "source_path": f"{i}/{k}.jpg",
             "variant": v, "image": pool[(i * 7 + k * 3 + j) % len(pool)], "image_format": "jpeg", "split": "train"}
            for i in range(start, min(identities, start + per_shard)) for k in range(images)
            for j, v in enumerate(VARIANTS)
        ]
        path = out / "dataset" / f"shard-{s:05d}.parquet"
        write_shard(to_table(write_order(rows, 0, s), SAMPLE_SCHEMA), path, {})
        files.append(f"dataset/{path.name}")
    write_manifest(build_manifest(recipe={}, input_path="-", output_path=str(out), labels={}, counts={},
                                  timings={}, models={}, shards={}, dataset_files=files), out)
    return float(np.mean([len(p) for p in pool])) / 1024


def uniform_distinct(identities: int, rows_each: int, batch: int) -> float:
    n = identities * rows_each
    p_absent = np.prod([(n - rows_each - i) / (n - i) for i in range(batch)])
    return identities * (1 - p_absent)


def measure(loader: DataLoader, epochs: int) -> tuple[float, float, float]:
    """(images per wall second, images per CPU second of this process, identities per batch)."""
    t0, c0, n, distinct = time.perf_counter(), time.process_time(), 0, []
    for _ in range(epochs):
        for images, labels in loader:
            n += len(images)
            distinct.append(len(set(labels.tolist())))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, n / cpu, float(np.mean(distinct[:-1] or distinct))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=600)
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        kb = build(out, args.identities, args.images)
        rows = args.identities * args.images * len(VARIANTS)
        print(f"{rows} rows, {args.identities} identities, batch {args.batch}, JPEG {kb:.1f} KB/image, "
              f"shuffle buffer {SHUFFLE_BUFFER} rows, 1 process")
        uni = uniform_distinct(args.identities, args.images * len(VARIANTS), args.batch)
        cases = {
            "iterable, shuffle=False (baseline)": DataLoader(ShardIterableDataset(out), batch_size=args.batch),
            "iterable, shuffle=True": DataLoader(ShardIterableDataset(out, shuffle=True), batch_size=args.batch),
            "map-style, DataLoader(shuffle=True)": DataLoader(ShardDataset(out), batch_size=args.batch, shuffle=True),
        }
        base = None
        print(f"{'reader':40s} {'images/s':>9s} {'per CPU-s':>9s} {'x base':>7s} {'ids/batch':>9s} "
              f"(uniform {uni:.1f})")
        for name, loader in cases.items():
            rate, per_cpu, distinct = measure(loader, args.epochs)
            base = base or per_cpu
            print(f"{name:40s} {rate:9.0f} {per_cpu:9.0f} {per_cpu / base:7.2f} {distinct:9.1f}")


if __name__ == "__main__":
    main()
