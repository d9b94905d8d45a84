"""Benchmark and quality report of ``maskforge overlay`` on LFW (lfw-dev).

Prints, measured in this run:
- end to end: the ``maskforge overlay`` command as a subprocess (whole process, start-up included)
  with ``--workers 1`` and ``--workers 2``: images/s, images/s per core, speed-up;
- baseline: decode + dlib HOG + 68 landmarks alone, in-process (the detection floor);
- overlay alone: ``render_occluder`` per face from stored landmarks, ms per face (no detection);
- placement quality per asset and wear over every face found (see maskforge.occlude.quality).

With ``--assets-dir DIR`` (repeatable) the families found there (e.g. PNGs imported with
``maskforge assets import``) are measured too, next to the drawn assets, in the same run.

Usage: python benchmarks/bench_overlay.py [--lfw DIR] [--limit N] [--skip-e2e] [--skip-quality]
           [--assets-dir DIR ...] [--flat] [--threads N]

``--threads N`` sets OpenCV's threads for the in-process timings (default: OpenCV's own, one per
core). The pipeline's workers and actors run with one thread each, so ``--threads 1`` gives the
per-core cost a worker pays; with more threads the wall time of a small image is not halved and
the CPU time grows.

``--flat`` also measures placement with the look before issue 20 (``PhotoLook(match_photo=
False)``) in the same run; the render times always compare both looks.
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
sys.path.insert(0, str(ROOT))

from maskforge.io.decode import decode_image  # noqa: E402
from maskforge.occlude import AssetLibrary, OccluderSpec, render_occluder  # noqa: E402
from maskforge.occlude.look import FLAT_LOOK  # noqa: E402
from maskforge.occlude.quality import placement_stats  # noqa: E402
from maskforge.seeding import rng_for  # noqa: E402

MIX = "surgical-blue:0.4,surgical-green:0.2,n95:0.2,cloth-black:0.2"


def e2e(src: Path, workers: int, limit: int | None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (children) and image count of one overlay command."""
    with tempfile.TemporaryDirectory() as tmp:
        if limit:
            src_l = Path(tmp) / "src"
            for p in sorted(src.glob("*/*.jpg"))[:limit]:
                (src_l / p.parent.name).mkdir(parents=True, exist_ok=True)
                os.symlink(p, src_l / p.parent.name / p.name)
            src = src_l
        n = len(list(src.glob("*/*.jpg")))
        cmd = [
            sys.executable,
            "-m",
            "maskforge",
            "overlay",
            str(src),
            str(Path(tmp) / "out"),
            "--mix",
            MIX,
            "--seed",
            "0",
            "--workers",
            str(workers),
            "--quiet",
        ]
        r0 = os.times()
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        r1 = os.times()
        cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    return wall, cpu, n


def steady_state(src: Path, workers: int) -> tuple[float, float, int]:
    """In-process ``overlay_folder``: seconds to the first finished shard (start-up: models,
    executor) and images/s after the first 50 results (steady state), and the image count."""
    from maskforge.app.overlay import overlay_folder

    marks: list[tuple[int, float]] = []  # (inputs done, seconds): one mark per finished shard
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()

        def progress(n: int, total: int) -> None:
            marks.append((n, time.perf_counter() - t0))

        s = overlay_folder(src, Path(tmp) / "out", mix=MIX, workers=workers, progress=progress)
    n50, t50 = next(m for m in marks if m[0] >= 50)
    n_end, t_end = marks[-1]
    return marks[0][1], (n_end - n50) / (t_end - t50), s.total


def detect_all(paths: list[Path]) -> tuple[list[tuple[np.ndarray, np.ndarray]], float]:
    """(image, landmarks68) of the selected face per image, and the detection-only seconds."""
    from maskforge.detect import make_detector, select_face

    det = make_detector("dlib-hog")
    out = []
    t0 = time.perf_counter()
    for p in paths:
        img = decode_image(p)
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        if face is not None:
            out.append((img, np.asarray(face.landmarks68, np.float32)))
    return out, time.perf_counter() - t0


def _extra_specs(lib: AssetLibrary) -> list[str]:
    """One spec per family and wear of the --assets-dir folders (not in the bundled library)."""
    bundled = set(AssetLibrary.load().names())
    out = []
    for fam in lib.names():
        if fam in bundled:
            continue
        wears = lib.wears(fam) if lib.get(fam).kind == "mask" else ["correct"]
        out += [fam if w == "correct" else f"{fam}+{w}" for w in wears]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lfw", default=str(ROOT.parent / "shared/faces/lfw-dev"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--assets-dir", action="append", default=[], metavar="DIR")
    ap.add_argument("--flat", action="store_true", help="placement with the flat look too")
    ap.add_argument("--threads", type=int, default=None, help="OpenCV threads in this process")
    args = ap.parse_args()
    if args.threads is not None:
        import cv2

        cv2.setNumThreads(args.threads)
    src = Path(args.lfw)
    paths = sorted(src.glob("*/*.jpg"))[: args.limit]
    print(
        f"lfw: {src} ({len(paths)} images), cpus: {os.cpu_count()}, "
        f"OpenCV threads: {args.threads or 'default'}, load average: {os.getloadavg()[0]:.2f}"
    )

    if not args.skip_e2e:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import maskforge.cli"], check=True, cwd=ROOT)
        print(f"start-up (python + import maskforge.cli): {time.perf_counter() - t0:.2f} s")
        w1, c1, n = e2e(src, 1, args.limit)
        print(
            f"end to end, --workers 1: {n} images in {w1:.2f} s wall ({c1:.2f} s CPU): "
            f"{n / w1:.1f} images/s per core (start-up included), {n / c1:.1f} per CPU-second"
        )
        w2, c2, _ = e2e(src, 2, args.limit)
        print(
            f"end to end, --workers 2: {n / w2:.1f} images/s ({n / w2 / 2:.1f} per core), "
            f"speed-up x{w1 / w2:.2f} over 1 worker ({c2:.2f} s CPU incl. workers)"
        )

        for w in (1, 2):
            first, rate, n = steady_state(src if not args.limit else src, w)
            print(
                f"in-process overlay_folder, workers {w}: first result after {first:.2f} s, "
                f"steady state {rate:.1f} images/s ({rate / w:.1f} per worker)"
            )

    faces, det_s = detect_all(paths)
    print(
        f"baseline, decode + dlib-hog + 68 landmarks in-process: {len(paths) / det_s:.1f} "
        f"images/s ({det_s / len(paths) * 1000:.2f} ms/image), faces {len(faces)}/{len(paths)}"
    )

    lib = AssetLibrary.load(extra_dirs=args.assets_dir)
    extra = _extra_specs(lib)
    specs = [
        "surgical-blue",
        "n95",
        "kn95",
        "cloth-black",
        "glasses",
        "sunglasses",
        "surgical+nose_exposed",
        "surgical+chin",
        *extra,
    ]
    print(
        "\noverlay alone (render_occluder, landmarks given), per face; 'flat' = the look before "
        "issue 20 (PhotoLook match_photo=false), measured in the same run:"
    )
    for s in specs:
        spec = OccluderSpec.parse(s)
        times = {}
        for name, look in (("flat", FLAT_LOOK), ("photo", None)):
            render_occluder(faces[0][0], faces[0][1], spec, rng_for(0), library=lib, look=look)
            t0, c0 = time.perf_counter(), time.process_time()
            for i, (img, lm) in enumerate(faces):
                render_occluder(img, lm, spec, rng_for(0, i), library=lib, look=look)
            wall = (time.perf_counter() - t0) / len(faces) * 1000
            times[name] = (wall, (time.process_time() - c0) / len(faces) * 1000)
        print(f"  {s:24s} " + "  ".join(
            f"{k} {w:6.2f} ms wall {c:6.2f} ms CPU" for k, (w, c) in times.items()))  # fmt: skip

    if args.skip_quality:
        return
    print(
        "\nplacement over every face (changed pixels at landmarks; 'outside' = share of the "
        "occluder's pixels (alpha >= 0.5) outside jaw 0-16 + brow line; 'fringe' = same for "
        "every changed pixel):"
    )
    print(
        f"  {'spec':24s} {'nose':>6s} {'mouth':>6s} {'chin':>6s} {'cover':>6s} {'eyes ok':>8s} "
        f"{'outside':>8s} {'fringe':>7s} {'corners':>8s} {'mouth ok':>8s}"
    )
    rows = [
        "surgical",
        "n95",
        "kn95",
        "cloth",
        "surgical+nose_exposed",
        "n95+nose_exposed",
        "surgical+chin",
        "glasses",
        "sunglasses",
        *extra,
    ]
    for s, look in [(r, None) for r in rows] + [(r, FLAT_LOOK) for r in rows if args.flat]:
        st = []
        for i, (img, lm) in enumerate(faces):
            r = render_occluder(img, lm, s, rng_for(0, i), library=lib, look=look)
            st.append(placement_stats(img, r.image, lm, r.mask))
        s = s if look is None else f"{s} (flat)"

        def m(k, st=st):
            return float(np.mean([x[k] for x in st]))

        print(
            f"  {s:24s} {m('nose'):6.3f} {m('mouth'):6.3f} {m('chin'):6.3f} {m('cover'):6.3f} "
            f"{1 - m('eyes_touched'):8.4f} {m('outside'):8.4f} {m('outside_changed'):7.4f} "
            f"{m('eye_corners'):8.3f} {1 - m('mouth_touched'):8.3f}"
        )


if __name__ == "__main__":
    main()
