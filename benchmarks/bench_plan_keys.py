"""What the input part of the shard keys costs when a run is planned, in files per second.

    python benchmarks/bench_plan_keys.py [--input DIR] [--repeat 3]

Lists the input (LFW dev faces by default), then in the same run times: the listing alone
(baseline), the shard keys maskforge computes (path + size + mtime_ns per file), and the content
hash it chose not to use (BLAKE2b of every file's bytes). Files are in the page cache after the
first pass, so the hash figure is a lower bound of its cost on a cold disk or over NFS.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

from maskforge.io.sharding import make_shards
from maskforge.io.sources import list_samples
from maskforge.pipeline.plan import shard_key

ROOT = Path(__file__).resolve().parent.parent


def best(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    lfw = Path(os.environ.get("MASKFORGE_LFW_DIR", ROOT.parent / "shared" / "faces" / "lfw-dev"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default=str(lfw))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    listing = list_samples(args.input)
    shards = make_shards(listing.samples, 1000)
    n = len(listing.samples)

    def content_hash() -> None:
        for s in listing.samples:
            hashlib.blake2b(s.path.read_bytes(), digest_size=16).hexdigest()

    rows = [
        ("listing (baseline)", best(lambda: list_samples(args.input), args.repeat)),
        ("shard keys: size + mtime_ns", best(lambda: [shard_key(s) for s in shards], args.repeat)),
        ("content hash (not used)", best(content_hash, args.repeat)),
    ]
    print(f"{n} files in {args.input}")
    for name, secs in rows:
        print(f"{name:30s} {secs * 1000:8.1f} ms  {n / secs:10.0f} files/s")


if __name__ == "__main__":
    main()
