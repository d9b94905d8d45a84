"""A small run's fixed costs, measured as phases of real runs in one invocation (issue 21 item 9).

    PYTHONPATH=. python benchmarks/bench_fixed_costs.py [--input ../shared/faces/lfw-dev]
        [--recipe recipes/demo.toml] [--limit-identities 98] [--cpus 2] [--overlay 300] [--repeat 1]

For ``maskforge run`` on Ray, the same recipe and input, alternating in this process:
- ``serial``: Ray started and the actors loaded after planning (``run_plan`` without an early
  start: how every run started before);
- ``early``: Ray and the actors started while the input is listed (``run_recipe``: what
  ``maskforge run`` does now).
For each: wall time, time to the first finished shard, Ray start (``init_s``), actors ready
(``warm_s``), how long the driver waited for Ray after planning (``waited_s``; ``init_s +
warm_s`` when serial), the shards' work, Ray's shutdown, and the end-of-run files
(``finish_run``: consolidated tables, card, manifest, report).

Then the end-of-run histogram as it was drawn before (matplotlib, imported cold in a fresh
process) against the SVG now, and, with ``--overlay N``, ``maskforge overlay`` on N lfw images
as whole processes: ``--workers 1`` (this process), ``--workers 2`` (worker processes, the
default now) and 2 workers on Ray (``overlay_folder(executor="ray")``, the default before).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def one_run(mode: str, recipe: Path, inp: Path, out: Path, cpus: int, overrides: list[str]) -> dict:
    from maskforge.pipeline import RunOptions, plan_run, run_plan, run_recipe, runner

    shutil.rmtree(out, ignore_errors=True)
    first: list[float] = []
    finish: list[float] = []
    original = runner.finish_run

    def timed_finish(plan, result):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        original(plan, result)
        finish.append(time.perf_counter() - t)

    runner.finish_run = timed_finish
    t0 = time.perf_counter()
    options = RunOptions(input=inp, output=out, overrides=tuple(overrides), executor="ray", num_cpus=cpus,
                         progress=lambda s: first.append(time.perf_counter() - t0) if not first else None)
    try:
        if mode == "early":
            os.environ["MASKFORGE_EARLY_RAY"] = "1"  # forced: this process has imported Ray before
            try:
                run_recipe(recipe, options)
            finally:
                del os.environ["MASKFORGE_EARLY_RAY"]
        else:
            run_plan(plan_run(recipe, input=inp, output=out, overrides=overrides), options)
    finally:
        runner.finish_run = original
    wall = time.perf_counter() - t0
    ray = json.loads((out / "manifest.json").read_text())["ray"]
    waited = ray.get("waited_s", ray["init_s"] + ray["warm_s"])
    return {"wall": wall, "first_shard": first[0], "init": ray["init_s"], "warm": ray["warm_s"],
            "waited": waited, "work": ray["work_s"], "shutdown": ray.get("shutdown_s", float("nan")),
            "end_files": finish[0]}


def histogram_costs() -> tuple[float, float]:
    """(matplotlib figure as before, cold process; the SVG now), seconds."""
    code = ("import time; t=time.perf_counter()\n"
            "from matplotlib.backends.backend_agg import FigureCanvasAgg\nfrom matplotlib.figure import Figure\n"
            "import numpy as np, io\nf=Figure(figsize=(8,3.2),dpi=100); FigureCanvasAgg(f); ax=f.subplots()\n"
            "s=np.random.default_rng(0).normal(.45,.08,480); ax.hist(s,bins=60); ax.axvline(.6); ax.legend(['a'])\n"
            "f.tight_layout(); f.savefig(io.BytesIO(), format='png'); print(time.perf_counter()-t)")
    old = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    import numpy as np

    from maskforge.report.histogram import draw_histogram

    s = np.random.default_rng(0).normal(0.45, 0.08, 480)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        draw_histogram(s, s[s > 0.6], Path(d) / "h.svg", (0.6, 0.6))
        return old, time.perf_counter() - t


def overlay_costs(src: Path, n: int) -> dict[str, float]:
    """images/s of ``maskforge overlay`` over ``n`` images, whole process."""
    with tempfile.TemporaryDirectory() as d:
        sub = Path(d) / "src"
        files = sorted(src.rglob("*.jpg"))[:n]
        for f in files:
            (sub / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, sub / f.parent.name / f.name)
        runs = {
            "workers 1 (this process)": [sys.executable, "-m", "maskforge", "overlay", str(sub), "DST", "--workers", "1"],
            "workers 2 (processes, now)": [sys.executable, "-m", "maskforge", "overlay", str(sub), "DST", "--workers", "2"],
            "workers 2 on Ray (before)": [sys.executable, "-c", "import sys; from maskforge.app.overlay import overlay_folder; "
                                          "overlay_folder(sys.argv[1], sys.argv[2], workers=2, executor='ray')", str(sub), "DST"],
        }
        rates = {}
        for i, (name, cmd) in enumerate(runs.items()):
            dst = str(Path(d) / f"dst{i}")
            t = time.perf_counter()
            subprocess.run([dst if a == "DST" else a for a in cmd], check=True, capture_output=True, cwd=ROOT)
            rates[name] = len(files) / (time.perf_counter() - t)
        return rates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "demo.toml")
    ap.add_argument("--limit-identities", type=int, default=98)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--overlay", type=int, default=0, help="images for the overlay comparison (0: skip)")
    args = ap.parse_args()
    overrides = [f"source.limit_identities={args.limit_identities}"]
    keys = ("wall", "first_shard", "init", "warm", "waited", "work", "shutdown", "end_files")
    print("mode    " + " ".join(f"{k:>11}" for k in keys))
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeat):
            for mode in ("serial", "early"):
                r = one_run(mode, args.recipe, args.input, Path(d) / mode, args.cpus, overrides)
                print(f"{mode:7s} " + " ".join(f"{r[k]:11.2f}" for k in keys), flush=True)
    old, new = histogram_costs()
    print(f"report histogram: matplotlib (cold process) {old:.2f} s, SVG {new:.3f} s")
    if args.overlay:
        for name, rate in overlay_costs(args.input, args.overlay).items():
            print(f"overlay {args.overlay} images, {name}: {rate:.1f} images/s (whole process)")


if __name__ == "__main__":
    main()
