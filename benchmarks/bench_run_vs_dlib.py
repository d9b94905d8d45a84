"""A whole ``maskforge run`` against dlib's own detect-and-embed loop on the same faces.

    python benchmarks/bench_run_vs_dlib.py [--lfw DIR] [--images 300] [--recipe recipes/demo.toml]
                                           [--detector blazeface:mesh] [--executor ray]
                                           [--num-cpus 2] [--set KEY=VALUE ...]

The faces: the first ``--images`` lfw-dev images in sorted identity order (whole identities, the
last one cut), linked into a temporary input folder (the images are never copied into the
repository). Then, one after the other:

1. dlib's own loop (``bench_eval.dlib_native``, this process, one thread):
   ``get_frontal_face_detector`` at upsample 1, the 5-point shape predictor,
   ``get_face_chip(img, shape, 150, 0.25)``, ``compute_face_descriptor``; its models are loaded
   before the clock starts;
2. ``python -m maskforge run RECIPE`` as a whole process (start-up, imports, planning, Ray's start
   with ``--executor ray``, model loading, detect/align, embed, clean, select, masks, augmentation,
   encoding, the end-of-run files), ``--set detect.detector=... detect.landmarks=...`` from
   ``--detector`` (``NAME:LANDMARKS``), ``--num-cpus`` CPUs for Ray.

It prints both wall times, images/s, their ratio, and the run's own Ray start-up and shard work
from its manifest (``ray.init_s``, ``warm_s``, ``work_s``), so the ratio without the fixed start-up
can be read too. dlib's loop runs on one core and the run on ``--num-cpus``: the ratio is of wall
times, as a user sees them, not per core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def pick(lfw: Path, n: int) -> list[Path]:
    """The first ``n`` images of lfw-dev, identity by identity (sorted)."""
    return sorted(lfw.glob("*/*.jpg"))[:n]


def link_input(paths: list[Path], folder: Path) -> None:
    for p in paths:
        (folder / p.parent.name).mkdir(parents=True, exist_ok=True)
        (folder / p.parent.name / p.name).symlink_to(p)


def maskforge_run(args: argparse.Namespace, inp: Path, out: Path) -> tuple[float, dict]:
    """Wall seconds of one ``maskforge run`` process and its manifest's ``ray`` entry."""
    name, _, marks = args.detector.partition(":")
    sets = [f"detect.detector={name}"] + ([f"detect.landmarks={marks}"] if marks else [])
    cmd = [sys.executable, "-m", "maskforge", "run", str(args.recipe), "--input", str(inp),
           "--output", str(out), "--executor", args.executor, "--quiet", "--restart"]  # fmt: skip
    if args.executor == "ray":
        cmd += ["--num-cpus", str(args.num_cpus)]
    for item in sets + list(args.set):
        cmd += ["--set", item]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"maskforge run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"  embed model of the run: {json.dumps((manifest.get('models') or {}).get('embed'))[:200]}")
    return wall, manifest.get("ray") or {}


def main() -> None:
    default = os.environ.get("MASKFORGE_LFW_DIR") or str(ROOT.parent / "shared/faces/lfw-dev")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", type=Path, default=Path(default))
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "demo.toml")
    ap.add_argument("--detector", default="blazeface:mesh", help="NAME or NAME:LANDMARKS")
    ap.add_argument("--executor", choices=("ray", "local"), default="ray")
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="more recipe overrides")
    args = ap.parse_args()

    from bench_eval import dlib_native

    paths = pick(args.lfw, args.images)
    rel = [str(p.relative_to(args.lfw)) for p in paths]
    with tempfile.TemporaryDirectory() as d:
        inp = Path(d) / "input"
        link_input(paths, inp)
        print(
            f"{len(paths)} lfw-dev images ({len({p.parent for p in paths})} identities); "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        embedded, t_dlib = dlib_native(args.lfw, rel)
        print(
            f"dlib's own loop: {t_dlib:.1f} s ({len(paths) / t_dlib:.1f} images/s, one thread), "
            f"{len(embedded)} embedded",
            flush=True,
        )
        wall, ray = maskforge_run(args, inp, Path(d) / "out")
        print(
            f"maskforge run ({args.detector}, "
            f"{f'ray, {args.num_cpus} CPUs' if args.executor == 'ray' else 'local, one process'}): "
            f"{wall:.1f} s "
            f"({len(paths) / wall:.1f} images/s) whole process; Ray start {ray.get('init_s', 0):.1f} s, "
            f"actors ready {ray.get('warm_s', 0):.1f} s, shard work {ray.get('work_s', 0):.1f} s"
        )
        print(f"dlib loop / maskforge run, wall: x{t_dlib / wall:.2f}")
        fixed = ray.get("init_s", 0.0) + ray.get("warm_s", 0.0)
        if fixed:
            print(f"  the same without Ray's start and actor loading: x{t_dlib / (wall - fixed):.2f}")
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
