"""Render cost of two checkouts, interleaved: ms of CPU per face of ``render_occluder``.

Two worker processes, one per checkout (``--before DIR``, ``--after DIR``; default: this one),
each with one OpenCV thread as the pipeline's workers run, render the same faces (the first
``--limit`` lfw-dev images dlib finds, detected once here) with the default look. For every spec
and round the parent asks one worker for a pass over all faces, then the other, so both see the
same load; a spec's figure is its best pass of ``--rounds``. On a shared machine this is the
fairest comparison of two versions (back-to-back runs of bench_overlay.py drift with the load).

Usage: python benchmarks/bench_render_ab.py --before /tmp/mf-before [--after DIR] [--lfw DIR]
           [--limit 120] [--rounds 3] [--spec surgical-blue ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPECS = [
    "surgical-blue", "surgical-green", "surgical-white", "n95", "kn95", "kn95-black",
    "cloth-black", "cloth-grey", "surgical+nose_exposed", "surgical+chin",
]  # fmt: skip


def worker(faces: str) -> None:
    """Read spec names on stdin; answer each with the CPU ms per face of one pass."""
    import cv2

    from maskforge.occlude import render_occluder
    from maskforge.seeding import rng_for

    cv2.setNumThreads(1)
    data = np.load(faces)
    imgs, lms = list(data["imgs"]), list(data["lms"])
    for line in sys.stdin:
        spec = line.strip()
        render_occluder(imgs[0], lms[0], spec, rng_for(0))  # warm: assets, caches
        t0 = time.process_time()
        for i, (img, lm) in enumerate(zip(imgs, lms, strict=True)):
            render_occluder(img, lm, spec, rng_for(0, i))
        print(f"{(time.process_time() - t0) / len(imgs) * 1000:.4f}", flush=True)


def detect(src: Path, limit: int, out: str) -> int:
    sys.path.insert(0, str(ROOT))
    from maskforge.detect import make_detector, select_face
    from maskforge.io.decode import decode_image

    det = make_detector("dlib-hog")
    imgs, lms = [], []
    for p in sorted(src.glob("*/*.jpg"))[:limit]:
        img = decode_image(p)
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        if face is not None and img.shape == (250, 250, 3):
            imgs.append(img)
            lms.append(np.asarray(face.landmarks68, np.float32))
    np.savez(out, imgs=np.stack(imgs), lms=np.stack(lms))
    return len(imgs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=str(ROOT))
    ap.add_argument("--lfw", default=str(ROOT.parent / "shared/faces/lfw-dev"))
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spec", action="append", default=[])
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    with tempfile.TemporaryDirectory() as tmp:
        faces = str(Path(tmp) / "faces.npz")
        n = detect(Path(args.lfw), args.limit, faces)
        procs = {}
        for name, tree in (("before", args.before), ("after", args.after)):
            env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
            procs[name] = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--before", "-", "--worker", faces],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tree,
            )  # fmt: skip
        load = os.getloadavg()[0]
        print(f"{n} faces, load average {load:.2f}; CPU ms per face, best of {args.rounds}")
        totals = {"before": 0.0, "after": 0.0}
        for spec in args.spec or SPECS:
            best = {"before": float("inf"), "after": float("inf")}
            for _ in range(args.rounds):
                for name, proc in procs.items():
                    assert proc.stdin is not None and proc.stdout is not None
                    proc.stdin.write(spec + "\n")
                    proc.stdin.flush()
                    best[name] = min(best[name], float(proc.stdout.readline()))
            totals = {k: totals[k] + best[k] for k in totals}
            print(f"  {spec:24s} before {best['before']:.2f}  after {best['after']:.2f}  "
                  f"after/before {best['after'] / best['before']:.3f}")  # fmt: skip
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait()
        k = len(args.spec or SPECS)
        print(f"mean: before {totals['before'] / k:.2f}  after {totals['after'] / k:.2f}  "
              f"after/before {totals['after'] / totals['before']:.3f}, load average "
              f"{os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
