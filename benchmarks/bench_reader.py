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

    python benchmarks/bench_reader.py --mixing [--identities 12] [--images 25] [--batch 32]

measures only identities per batch of ShardIterableDataset(shuffle=True) through a DataLoader with
1, 2 and 8 workers, on one variant per image in shards of 50 rows (issue 21's held-out shape).
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


def build(out: Path, identities: int, images: int, per_shard: int = 20,
          variants: tuple[str, ...] = VARIANTS, shard_rows: int | None = None) -> float:
    """Write the synthetic run (identity-complete shards of ``per_shard`` identities, or with
    ``shard_rows`` shards of that many rows in identity order); returns the mean JPEG size in KB."""
    pool = [encode_image(f, "jpeg", 95) for f in faces(64)]
    files = []
    every = [
        {"sample_id": f"{i:05d}{k:03d}", "identity": f"id{i:05d}", "label": i, "source_path": f"{i}/{k}.jpg",
         "variant": v, "image": pool[(i * 7 + k * 3 + j) % len(pool)], "image_format": "jpeg", "split": "train"}
        for i in range(identities) for k in range(images) for j, v in enumerate(variants)
    ]
    step = shard_rows or per_shard * images * len(variants)
    for s, start in enumerate(range(0, len(every), step)):
        rows = every[start:start + step]
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


def mixing(identities: int, images: int, batch: int) -> None:
    """Identities per batch with 1, 2 and 8 DataLoader workers (shards of 50 rows)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build(out, identities, images, variants=("original",), shard_rows=50)
        uni = uniform_distinct(identities, images, batch)
        print(f"{identities * images} rows, {identities} identities, shards of 50 rows, batch {batch}: "
              f"uniform shuffle {uni:.2f} identities per batch")
        for workers in (1, 2, 8):
            ds = ShardIterableDataset(out, shuffle=True, seed=0)
            per_epoch = []
            for epoch in range(5):
                ds.set_epoch(epoch)
                loader = DataLoader(ds, batch_size=batch, num_workers=workers)
                per_epoch += [len(set(labels.tolist())) for _, labels in loader if len(labels) == batch]
            print(f"{workers} worker(s): {np.mean(per_epoch):.2f} identities per batch "
                  f"({np.mean(per_epoch) / uni:.3f} x uniform, {len(per_epoch)} full batches over 5 epochs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=600)
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--mixing", action="store_true", help="identities per batch with 1, 2, 8 workers")
    args = ap.parse_args()
    if args.mixing:
        mixing(args.identities, args.images, args.batch)
        return
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
