"""Listing throughput: files per second of ``list_samples`` on a folder of identity folders.

    python benchmarks/bench_listing.py [--identities 500] [--per-identity 40] [--repeat 3]

Builds a synthetic tree of empty ``.jpg`` files (identity folders, as CASIA-WebFace) in a
temporary folder, then times, in the same run, ``maskforge.io.sources.list_samples`` (sorted
order, link-loop guard, one stat per file for the each-real-file-once rule) against a baseline: a
bare ``os.walk`` that only collects the image paths. Best of ``--repeat`` runs each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from maskforge.io.sources import is_image_name, list_samples


def build_tree(root: Path, identities: int, per_identity: int) -> int:
    for i in range(identities):
        folder = root / f"{i:07d}"
        folder.mkdir()
        for j in range(per_identity):
            (folder / f"{j:03d}.jpg").touch()
    return identities * per_identity


def baseline(root: Path) -> int:
    n = 0
    for _, _, files in os.walk(root):
        n += sum(1 for f in files if is_image_name(f))
    return n


def best(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=500)
    ap.add_argument("--per-identity", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n = build_tree(root, args.identities, args.per_identity)
        assert len(list_samples(root).samples) == n == baseline(root)
        t_base = best(lambda: baseline(root), args.repeat)
        t_list = best(lambda: list_samples(root), args.repeat)
    print(f"{n} files in {args.identities} identity folders (best of {args.repeat})")
    print(f"baseline os.walk      {n / t_base:12.0f} files/s")
    print(f"list_samples          {n / t_list:12.0f} files/s  ({t_list / t_base:.1f}x the baseline's time)")


if __name__ == "__main__":
    main()
