"""End-to-end pipeline throughput on lfw-dev, and how it scales from 1 to 2 CPUs.

    python benchmarks/bench_pipeline.py [--input ../shared/faces/lfw-dev] [--recipe recipes/demo.toml]
                                        [--limit-identities N] [--cpus 1 2] [--shard-sizes auto 100]
                                        [--repeat 3] [--no-ceiling]
                                        [--set KEY=VALUE ...]

Measures, in one run (after one discarded warm-up run, so every run finds the page cache warm):
- Ray start-up cost (``ray.init`` + ``ray.shutdown`` of an empty local instance);
- the baseline: the same recipe through the local executor (a plain loop, no Ray) on one core;
- for each ``--shard-sizes`` (``auto`` is the recipe default): ``maskforge run`` through Ray with
  ``--num-cpus`` 1 and 2, from the run's own timeline (``manifest.json`` ``ray``):
  - end to end (the whole ``run()`` call);
  - without Ray start-up: minus ``init_s`` (starting Ray);
  - without actor start-up too: minus ``warm_s`` (actors created, models loaded once per actor);
    Ray and the actors start while the input is listed, so only the ``waited_s`` the driver
    still waited for them counts (init first, then actors);
  - while shards ran: ``work_s``, from the first shard handed out to the last one back (what
    scheduling granularity changes; planning and the end-of-run files are the rest);
  the median of ``--repeat`` runs (this 2-core VM is noisy), then the 1 -> 2 CPU speed-up on
  each, the tail (seconds after the last shard was handed out) and each pool's utilisation
  (busy actor-seconds / actors x work seconds);
- the reference for the work phase: the same shard pipeline in N plain processes
  (multiprocessing, no Ray, models loaded first), i.e. what the machine itself allows;
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
    from maskforge import run

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    result = run(recipe, input=inp, output=out, executor=executor, num_cpus=cpus, overrides=overrides)
    wall = time.perf_counter() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    return {"wall": wall, "inputs": result.counts["inputs"], "samples": result.counts["samples"],
            "shards": manifest["shards"]["total"], "shard_size": manifest["shards"]["size"],
            "stages": manifest["timings_s"]["stages_cpu_s"], "ray": manifest.get("ray") or {}}


def ray_startup() -> float:
    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    ray.shutdown()
    return time.perf_counter() - t0


_PIPE = None


def _ceiling_init(plan_file: str) -> None:
    global _PIPE
    import pickle

    from maskforge.pipeline.ray_actor import limit_threads
    from maskforge.pipeline.shard_work import ShardPipeline

    limit_threads(1)
    with open(plan_file, "rb") as fh:
        _PIPE = ShardPipeline(pickle.load(fh), resume=False)
    _PIPE.warm()


def _ceiling_job(index: int) -> int:
    return int(_PIPE(index)["inputs"])


def ceiling(args: argparse.Namespace, overrides: list[str], work: Path, n: int) -> float:
    """Images/s of ``n`` plain processes (multiprocessing, no Ray) running the same shard
    pipeline, largest shards first, models loaded before the clock starts: what this machine
    allows, the reference for the Ray executor's work phase."""
    import multiprocessing as mp
    import pickle

    from maskforge.pipeline import plan_run
    from maskforge.pipeline.outdir import start_run

    plan = plan_run(args.recipe, input=args.input, output=work / f"ceiling{n}", overrides=overrides)
    start_run(plan, resume=False)
    plan_file = work / f"ceiling{n}.pkl"
    plan_file.write_bytes(pickle.dumps(plan))
    order = sorted(range(len(plan.shards)), key=lambda i: (-len(plan.shards[i].samples), i))
    with mp.get_context("spawn").Pool(n, initializer=_ceiling_init, initargs=(str(plan_file),)) as pool:
        pool.map(time.sleep, [0.0] * n)  # every worker has loaded its models
        t0 = time.perf_counter()
        images = sum(pool.imap_unordered(_ceiling_job, order, chunksize=1))
        return images / (time.perf_counter() - t0)


def measure(args: argparse.Namespace, overrides: list[str], work: Path) -> dict:
    """Every (shard size, CPUs) setting ``--repeat`` times, interleaved (ABAB...: this VM's speed
    drifts over minutes, so settings run side by side in time), with the plain-process reference
    after each Ray run."""
    runs: dict[tuple[str, int], list[dict]] = {}
    for _ in range(args.repeat):
        for size in args.shard_sizes:
            sets = overrides + ([] if size == "auto" else [f"source.shard_size={size}"])
            for n in args.cpus:
                r = run_once(args.recipe, args.input, work / f"ray{n}-{size}", "ray", n, sets)
                r["plain"] = ceiling(args, sets, work, n) if args.ceiling else None
                runs.setdefault((size, n), []).append(r)
    return runs


def report(args: argparse.Namespace, runs: dict) -> None:
    """The median run of each setting (by its work phase) and the 1 -> 2 CPU speed-ups."""
    names = ("end to end", "without Ray init", "without Ray init and actor start-up",
             "while shards ran", "plain processes")
    for size in args.shard_sizes:
        print(f"source.shard_size = {size} (median of {args.repeat}):")
        rates: dict[int, tuple[float, ...]] = {}
        for n in args.cpus:
            group = runs[size, n]
            r = sorted(group, key=lambda r: r["ray"].get("work_s", 0.0))[len(group) // 2]
            ray = r["ray"]
            init, warm, work_s = ray.get("init_s", 0.0), ray.get("warm_s", 0.0), ray.get("work_s", 1e-9)
            # Ray starts while the input is listed (pipeline/ray_early.py): the driver waits only
            # waited_s of init + warm; count the hidden part as neither
            waited = ray.get("waited_s", init + warm)
            init, warm = min(init, waited), waited - min(init, waited)
            rest = r["wall"] - init - warm - work_s  # planning, end-of-run files, Ray shutdown
            rates[n] = (r["inputs"] / r["wall"], r["inputs"] / (r["wall"] - init),
                        r["inputs"] / (r["wall"] - init - warm), r["inputs"] / work_s)
            pools = ", ".join(f"{p['name']} {p['actors']} actors {100 * p['utilisation']:.0f}% busy"
                              for p in ray.get("pools", []))
            print(f"  ray --num-cpus {n}: {r['shards']} shards of <= {r['shard_size']} images; {r['wall']:.1f} s ="
                  f" Ray init {init:.1f} + actors ready {warm:.1f} + shards {work_s:.1f} + planning and"
                  f" end-of-run {rest:.1f}; tail {ray.get('tail_s', 0):.1f} s; {pools}")
            print(f"    images/s: {rates[n][0]:.1f} end to end, {rates[n][1]:.1f} without Ray init, "
                  f"{rates[n][2]:.1f} without Ray init and actor start-up, {rates[n][3]:.1f} while shards ran")
            print("    work phase of each run: " + ", ".join(f"{g['ray'].get('work_s', 0):.1f} s" for g in group))
            if args.ceiling:
                plain = sorted(g["plain"] for g in group)[len(group) // 2]
                print(f"    {n} plain processes, no Ray (same pipeline, models loaded): {plain:.1f} images/s "
                      f"(median); Ray's work phase is {100 * rates[n][3] / plain:.0f}% of it")
                rates[n] = (*rates[n], plain)
        if 1 in rates and 2 in rates:
            print("  1 -> 2 CPUs: " + ", ".join(f"{rates[2][k] / rates[1][k]:.2f}x {names[k]}"
                                               for k in range(len(rates[1]))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "demo.toml")
    ap.add_argument("--limit-identities", type=int, default=None)
    ap.add_argument("--cpus", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--shard-sizes", nargs="+", default=["auto"],
                    help="source.shard_size values to compare (auto: the recipe's default)")
    ap.add_argument("--repeat", type=int, default=3, help="Ray runs per setting (the median is shown)")
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                    help="skip the plain-process reference runs")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="recipe override for every run (e.g. embed.embedder=dlib-resnet-native)")
    args = ap.parse_args()
    if not args.input.is_dir():
        sys.exit(f"no input faces at {args.input}; pass --input DIR")
    overrides = [*args.sets]
    if args.limit_identities:
        overrides.append(f"source.limit_identities={args.limit_identities}")
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    from maskforge.pipeline.quiet import redirect_output

    with redirect_output(work / "ray-startup.log"):
        startup = ray_startup()
    print(f"Ray start-up (init + shutdown, empty): {startup:.1f} s")
    run_once(args.recipe, args.input, work / "warm-up", "local", None, overrides)  # page cache
    base = run_once(args.recipe, args.input, work / "local", "local", None, overrides)
    base_rate = base["inputs"] / base["wall"]
    print(f"baseline, local executor, 1 process: {base['inputs']} images in {base['wall']:.1f} s "
          f"= {base_rate:.1f} images/s ({base['samples']} samples out, {base['shards']} shards)")
    total = sum(base["stages"].values()) or 1.0
    print("stage share of the work (baseline):")
    for k, v in sorted(base["stages"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:<20} {100 * v / total:5.1f}%  {1000 * v / base['inputs']:7.2f} ms/image")
    report(args, measure(args, overrides, work))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
