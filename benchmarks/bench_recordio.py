"""RecordIO throughput: writing records, and listing a .rec as a source (through .idx, and by
streaming the file without it).

    python benchmarks/bench_recordio.py [--records 200000] [--image-bytes 3000] [--per-identity 50]

Writes a synthetic ``train.rec``/``train.idx`` in a temporary folder (payloads of
``--image-bytes`` filler bytes, labels ``k // --per-identity``) with
:class:`maskforge.io.recordio.RecordWriter`, then lists it with
:func:`maskforge.io.sources.list_samples`: records/s for each step, one thread.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--image-bytes", type=int, default=3000)
    ap.add_argument("--per-identity", type=int, default=50)
    args = ap.parse_args()

    from maskforge.io.recordio import RecordWriter, pack_image_record
    from maskforge.io.sources import list_samples

    n = args.records
    image = bytes(range(256)) * (args.image_bytes // 256) + b"\xff" * (args.image_bytes % 256)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        with RecordWriter(folder / "train.rec", folder / "train.idx") as writer:
            for k in range(n):
                writer.write(pack_image_record(k // args.per_identity, image, id=k))
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        listing = list_samples(folder)
        t_idx = time.perf_counter() - t0
        (folder / "train.idx").unlink()
        t0 = time.perf_counter()
        scanned = list_samples(folder / "train.rec")
        t_scan = time.perf_counter() - t0
    assert len(listing.samples) == len(scanned.samples) == n
    mb = n * (args.image_bytes + 32) / 1e6
    print(f"{n} records of {args.image_bytes} image bytes ({mb:.0f} MB), {len(listing.labels)} identities")
    print(f"write (RecordWriter):   {n / t_write:9.0f} records/s ({t_write:.1f} s)")
    print(f"list through .idx:      {n / t_idx:9.0f} records/s ({t_idx:.1f} s)")
    print(f"list by streaming .rec: {n / t_scan:9.0f} records/s ({t_scan:.1f} s)")


if __name__ == "__main__":
    main()
