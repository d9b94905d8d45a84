"""Hands in front of the lower face on lfw-dev: what the check finds, and what it costs per face.

For every lfw-dev image where dlib's HOG detector and 68 landmarks find the selected face, in one
process:

- cost: ``render_occluder`` per face (the default mask, no check), and the in-front check
  (:class:`maskforge.occlude.front.FrontGuard`, batches of 32 faces: a palm-detector crop per
  face and search square, then the hand landmark model on each distinct palm), both in ms per face, measured in this run;
- what it finds: faces with a confirmed hand, faces whose mask it alters (a kept pixel the mask
  would have covered: pixels restored), faces ``keep`` rejects, faces ``skip`` would reject; with
  the names of the altered and rejected faces (look at them: each is a hand or a false hand).

With ``--sheet OUT.png`` it also writes a contact sheet of the altered faces (up to 16): each
face without the check, then with it (not committed: LFW's licence is research-only).

``--overlay N`` times ``maskforge overlay`` (in process, one worker) on the first N images
with ``--in-front off`` and ``keep`` (once per runtime of ``--runtimes``), in turn twice, and
prints images/s of each.

``--palm lite`` runs MediaPipe's lighter palm detector instead of the full one (a comparison; the
library uses the full one).

``--runtimes torch,litert`` (the default) times the check with each runtime of the hand models
(``detect.runtime``), chunk by chunk in turn so both see the same load, and prints the ratio; what
it finds is reported for the last one (and the faces where the runtimes disagree on the hands).
Both run on ``--threads`` compute threads (default 1, as in the worker pools: torch's
``OMP_NUM_THREADS``, LiteRT's ``num_threads``).

Usage: python benchmarks/bench_in_front.py [--lfw DIR] [--limit N] [--device cpu] [--sheet PNG]
           [--palm full|lite] [--runtimes torch,litert] [--threads 1] [--overlay N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maskforge.detect import Landmarker68, make_detector, select_face  # noqa: E402
from maskforge.io.decode import decode_image  # noqa: E402
from maskforge.occlude import default_library, render_occluder  # noqa: E402
from maskforge.occlude.front import REFINE_SCALES, REGION_SCALES, FrontGuard, decide  # noqa: E402
from maskforge.seeding import rng_for  # noqa: E402

BATCH = 32


def faces(lfw: Path, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(name, image, landmarks68)]`` of the selected face of each image."""
    det, lmk = make_detector("dlib-hog"), Landmarker68()
    out = []
    for p in sorted(lfw.glob("*/*.jpg"))[:limit]:
        img = decode_image(p)
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        if face is not None:
            out.append((p.stem, img, np.asarray(lmk(img, face.box), np.float64)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    default = os.environ.get("MASKFORGE_LFW_DIR", str(ROOT.parent / "shared/faces/lfw-dev"))
    ap.add_argument("--lfw", default=default)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sheet", default=None)
    ap.add_argument("--palm", default="full", choices=["full", "lite"])
    ap.add_argument("--runtimes", default="torch,litert", help="comma-separated: torch, litert, auto")
    ap.add_argument("--threads", type=int, default=1, help="compute threads of the hand models")
    ap.add_argument("--overlay", type=int, default=0)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported (the hand models)
    if args.overlay:
        overlay_throughput(Path(args.lfw), args.overlay, [r for r in args.runtimes.split(",") if r])
        return
    items = faces(Path(args.lfw), args.limit)
    lib = default_library()
    runtimes = [r for r in args.runtimes.split(",") if r]
    guards = [FrontGuard("keep", device=args.device, palm=args.palm, runtime=r) for r in runtimes]
    for guard in guards:
        _ = guard.hands  # load (and convert once) outside the timings
        guard.find([items[0][1]], [items[0][2]])  # the frozen graphs' first runs optimise them

    # batch by batch, render then check with each runtime, so that all see the same load
    base: list[np.ndarray] = []
    finds: list[list] = [[] for _ in guards]
    t_render, t_finds = 0.0, [0.0] * len(guards)
    for i in range(0, len(items), BATCH):
        chunk = items[i : i + BATCH]
        t0 = time.perf_counter()
        base += [render_occluder(im, lm, "surgical-blue", rng_for(0, "bench", n), library=lib).mask
                 for n, im, lm in chunk]  # fmt: skip
        t_render += time.perf_counter() - t0
        order = range(len(guards)) if (i // BATCH) % 2 == 0 else reversed(range(len(guards)))
        for k in order:
            t1 = time.perf_counter()
            finds[k] += guards[k].find([im for _, im, _ in chunk], [lm for _, _, lm in chunk])
            t_finds[k] += time.perf_counter() - t1
    found, t_find = finds[-1], t_finds[-1]

    confirmed, altered, rejected, skipped = [], [], [], []
    for (name, im, lm), hands, mask in zip(items, found, base, strict=True):
        keep = decide(hands, lm, im.shape, "keep")
        if any(h.points is not None for h in hands):
            confirmed.append(name)
        if keep.reject is not None:
            rejected.append(name)
        elif keep.keep is not None and (keep.keep & mask).any():
            altered.append(name)
        if decide(hands, lm, im.shape, "skip").reject is not None:
            skipped.append(name)
    n = len(items)
    palms = sum(len(h) for h in found)
    print(f"faces: {n} (dlib-hog + 68 landmarks; measured under the machine's load)")
    print(f"render_occluder (surgical-blue, no check): {1000 * t_render / n:.2f} ms/face")
    for guard, t in zip(guards, t_finds, strict=True):
        print(f"in-front check, {guard.hands.runtime} ({len(REGION_SCALES)} palm crop(s)/face, +{len(REFINE_SCALES)} around faces with a hand): "
              f"{1000 * t / n:.2f} ms/face on {args.device} ({t / t_render:.1f}x the render)")  # fmt: skip
    if len(guards) > 1:
        print(f"{guards[-1].hands.runtime} vs {guards[0].hands.runtime}, same run: x{t_finds[0] / t_find:.2f} "
              "faster")  # fmt: skip
        hands_of = [[sum(h.points is not None for h in hs) for hs in f] for f in finds]
        differ = [items[j][0] for j in range(n) if len({c[j] for c in hands_of}) > 1]
        print(f"faces whose confirmed hands differ between runtimes: {len(differ)}", " ".join(differ))
    print(f"what it finds ({guards[-1].hands.runtime}): {palms} palms -> hand landmarks")
    print(f"faces with a confirmed hand: {len(confirmed)}")
    print(f"keep: masks altered (hand pixels restored) {len(altered)}, faces rejected {len(rejected)}")
    print(f"skip: faces rejected {len(skipped)}")
    print("altered:", " ".join(altered))
    print("rejected (keep):", " ".join(rejected))
    print("rejected (skip):", " ".join(skipped))
    if args.sheet:
        write_sheet(Path(args.sheet), [(n, im, lm, h) for (n, im, lm), h in zip(items, found, strict=True)
                                       if n in set(altered)][:16])  # fmt: skip


def overlay_throughput(lfw: Path, n: int, runtimes: list[str]) -> None:
    """Images/s of ``overlay_folder`` on the first ``n`` lfw-dev images, ``in_front`` off vs keep
    with each of ``runtimes``."""
    import tempfile

    from maskforge.app.overlay import overlay_folder

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for p in sorted(lfw.glob("*/*.jpg"))[:n]:
            (src / p.parent.name).mkdir(parents=True, exist_ok=True)
            os.symlink(p, src / p.parent.name / p.name)
        runs = [("off", "auto")] + [("keep", r) for r in runtimes]
        for mode, runtime in runs:  # models loaded and converted
            overlay_folder(src, Path(tmp) / f"warm-{mode}-{runtime}", in_front=mode, runtime=runtime)
        seconds = dict.fromkeys(runs, 0.0)
        for rep in range(2):
            for mode, runtime in runs if rep % 2 == 0 else runs[::-1]:
                t0 = time.perf_counter()
                overlay_folder(src, Path(tmp) / f"{mode}-{runtime}-{rep}", in_front=mode, runtime=runtime)
                seconds[mode, runtime] += time.perf_counter() - t0
    for (mode, runtime), t in seconds.items():
        label = f"--in-front {mode}" + (f" --runtime {runtime}" if mode != "off" else "")
        print(f"overlay {label}: {2 * n / t:.1f} images/s ({1000 * t / (2 * n):.1f} ms/image)")


def write_sheet(path: Path, rows: list) -> None:
    """Before (no check) | after (``keep``) pairs of ``rows`` = ``[(name, image, lm, hands)]``."""
    from PIL import Image

    tiles = []
    for name, im, lm, hands in rows:
        keep = decide(hands, lm, im.shape, "keep").keep
        pair = [render_occluder(im, lm, "surgical-blue", rng_for(0, "bench", name), keep=k).image
                for k in (None, keep)]  # fmt: skip
        tiles.append(np.hstack([np.asarray(Image.fromarray(p).resize((160, 160))) for p in pair]))
    grid = [np.hstack(tiles[i : i + 2] + [np.zeros_like(tiles[0])] * (2 - len(tiles[i : i + 2])))
            for i in range(0, len(tiles), 2)]  # fmt: skip
    Image.fromarray(np.vstack(grid)).save(path)
    print("sheet:", path)


if __name__ == "__main__":
    main()
