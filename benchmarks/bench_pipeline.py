"""End-to-end pipeline throughput on lfw-dev.

    python benchmarks/bench_pipeline.py [--input ../shared/faces/lfw-dev] [--recipe recipes/demo.toml]
                                        [--limit-identities N] [--cpus 1 2] [--set KEY=VALUE ...]

Measures, in one run:
- Ray start-up cost (``ray.init`` + ``ray.shutdown`` of an empty local instance);
- the baseline: the same recipe through the local executor (a plain loop, no Ray) on one core;
- ``maskforge run`` through Ray with ``--num-cpus`` 1 and 2: images/s, scaling efficiency
  (images/s at 2 CPUs / (2 x images/s at 1 CPU)), and the overhead over the baseline;
- the share of each stage in the work (from the manifest's per-stage seconds), and per-image
  costs used to project a full masked-CASIA build (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker: per-core figures


def run_once(recipe: Path, inp: Path, out: Path, executor: str, cpus: int | None, overrides: list[str]) -> dict:
    from maskforge.pipeline import run

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    result = run(recipe, input=inp, output=out, executor=executor, num_cpus=cpus, overrides=overrides)
    wall = time.perf_counter() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    return {"wall": wall, "inputs": result.counts["inputs"], "samples": result.counts["samples"],
            "stages": manifest["timings_s"]["stages_cpu_s"]}


def ray_startup() -> float:
    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    ray.shutdown()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "demo.toml")
    ap.add_argument("--limit-identities", type=int, default=None)
    ap.add_argument("--cpus", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--shard-size", type=int, default=100)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="recipe override for every run (e.g. embed.embedder=dlib-resnet-native)")
    args = ap.parse_args()
    if not args.input.is_dir():
        sys.exit(f"no input faces at {args.input}; pass --input DIR")
    overrides = [f"source.shard_size={args.shard_size}", *args.sets]
    if args.limit_identities:
        overrides.append(f"source.limit_identities={args.limit_identities}")
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    from maskforge.pipeline.quiet import redirect_output

    with redirect_output(work / "ray-startup.log"):
        startup = ray_startup()
    print(f"Ray start-up (init + shutdown, empty): {startup:.1f} s")

    base = run_once(args.recipe, args.input, work / "local", "local", None, overrides)
    base_rate = base["inputs"] / base["wall"]
    print(f"baseline, local executor, 1 process: {base['inputs']} images in {base['wall']:.1f} s "
          f"= {base_rate:.1f} images/s ({base['samples']} samples out)")
    total = sum(base["stages"].values()) or 1.0
    print("stage share of the work (baseline):")
    for k, v in sorted(base["stages"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:<20} {100 * v / total:5.1f}%  {1000 * v / base['inputs']:7.2f} ms/image")

    rates, steady = {}, {}
    for n in args.cpus:
        r = run_once(args.recipe, args.input, work / f"ray{n}", "ray", n, overrides)
        rates[n] = r["inputs"] / r["wall"]
        steady[n] = r["inputs"] / max(r["wall"] - startup, 1e-9)
        print(f"ray --num-cpus {n}: {r['wall']:.1f} s = {rates[n]:.1f} images/s end to end, "
              f"{steady[n]:.1f} images/s without Ray start-up ({steady[n] / base_rate:.2f}x the baseline)")
    if 1 in rates and 2 in rates:
        print(f"scaling efficiency 1 -> 2 CPUs: {100 * steady[2] / (2 * steady[1]):.0f}% without start-up, "
              f"{100 * rates[2] / (2 * rates[1]):.0f}% end to end")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
