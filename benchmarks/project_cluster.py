"""Projected wall time of masked CASIA-WebFace and VGGFace2 builds on clusters, from per-stage costs
and a simulation of the Ray executor's scheduling of their shards.

    python benchmarks/project_cluster.py [--decode-ms 0.4] [--detect-ms 10.2] [--embed-inputs-ms 0.4]
                                         [--embed-cpu-ms 5.0] [--selected-ms 5.9] [--shard-ms 35]
                                         [--gpu-faces-per-s 10000] [--cores 16]
                                         [--core-efficiency 0.92] [--startup-s 15]
                                         [--input DIR [--recipe R] [--actors 2 16]]

The per-stage costs default to the figures of docs/benchmarks.md (ms per input image on one core
of the development machine, measured by ``bench_pipeline.py`` on the demo recipe; ``selected``
is the variants and the write per *selected* image, ``shard`` the fixed cost of one shard: its
files); pass the figures of your own machine.

Two parts, neither of them measured here:

1. **Scheduling** (a simulation of :class:`maskforge.pipeline.ray_driver.Driver`): the dataset's
   folder sizes (the seeded long tail of ``bench_scale.py``) are packed into shards of whole
   identities with ``source.shard_size = "auto"`` exactly as ``make_shards`` packs them, each
   shard costs its images' work plus ``--shard-ms``, and shards go largest first to whichever
   actor is free first. Printed: shards, the longest shard, the tail (from the last shard handed
   out to the end) and the utilisation (busy actor-seconds / actors x makespan) for 16, 64 and
   256 actors: how idle cores get while work remains. ``--input DIR`` simulates the shards of
   a real input the same way (to set beside a measured run's ``manifest.json`` utilisation).
2. **Wall time** = makespan of that schedule / ``--core-efficiency`` (what one actor achieves
   next to others on a busy node; measured 1 -> 2 CPUs on the development machine) + Ray and
   actor start-up. With a GPU per node the network runs in a GPU pool at ``--gpu-faces-per-s``
   per GPU (not measured: no GPU was lent), overlapping the CPU stages, whose cost then loses
   ``--embed-cpu-ms``; the wall time is the larger of the two. Cleaning (seconds for millions of
   embeddings, ``bench_scale.py``) is left out.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DATASETS = {
    # name: (bench_scale shape, images selected per identity by the shipped recipes)
    "masked CASIA-WebFace (494k images)": ("casia", 15),
    "masked VGGFace2 (3.31M images)": ("vggface2", 15),
}


def pack(sizes: list[int], shard_size: int) -> list[list[int]]:
    """Folder sizes packed into shards as ``maskforge.io.sharding.make_shards`` packs identities."""
    shards: list[list[int]] = []
    current: list[int] = []
    for n in sizes:
        if current and sum(current) + n > shard_size:
            shards.append(current)
            current = []
        current.append(n)
    if current:
        shards.append(current)
    return shards


def schedule(costs: list[float], actors: int) -> dict[str, float]:
    """Largest first, each to the first free actor: makespan, tail and utilisation (seconds)."""
    free = [0.0] * actors
    last_start = 0.0
    for c in sorted(costs, reverse=True):
        start = heapq.heappop(free)
        last_start = max(last_start, start)
        heapq.heappush(free, start + c)
    makespan = max(free)
    return {"makespan": makespan, "tail": makespan - last_start,
            "utilisation": sum(costs) / (actors * makespan)}


def shard_costs(shape: str, per_identity: int, a: argparse.Namespace, gpu: bool) -> list[float]:
    from bench_scale import folder_sizes

    from maskforge.io.sharding import auto_shard_size

    sizes = [int(n) for n in folder_sizes(shape)]
    per_image = a.decode_ms + a.detect_ms + a.embed_inputs_ms + (0.0 if gpu else a.embed_cpu_ms)
    costs = []
    for shard in pack(sizes, auto_shard_size(sum(sizes))):
        images, selected = sum(shard), sum(min(n, per_identity) for n in shard)
        costs.append((images * per_image + selected * a.selected_ms + a.shard_ms) / 1000.0)
    return costs


def plan_costs(recipe: Path, inp: Path, a: argparse.Namespace) -> list[float]:
    """Shard costs of a real plan (the recipe's shards of ``inp``), same cost model."""
    import tempfile

    from maskforge.pipeline import plan_run

    plan = plan_run(recipe, input=inp, output=Path(tempfile.mkdtemp()) / "out")
    per_id = (plan.recipe.get("select") or {}).get("per_identity") or 10**9
    per_image = a.decode_ms + a.detect_ms + a.embed_inputs_ms + a.embed_cpu_ms
    costs = []
    for shard in plan.shards:
        sizes: dict[str, int] = {}
        for smp in shard.samples:
            sizes[smp.identity] = sizes.get(smp.identity, 0) + 1
        selected = sum(min(n, per_id) for n in sizes.values())
        costs.append((len(shard.samples) * per_image + selected * a.selected_ms + a.shard_ms) / 1000.0)
    return costs


def _fmt(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def main() -> None:
    from bench_scale import folder_sizes

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decode-ms", type=float, default=0.4)
    ap.add_argument("--detect-ms", type=float, default=10.2)
    ap.add_argument("--embed-inputs-ms", type=float, default=0.4)
    ap.add_argument("--embed-cpu-ms", type=float, default=5.0)
    ap.add_argument("--selected-ms", type=float, default=5.9)
    ap.add_argument("--shard-ms", type=float, default=35.0)
    ap.add_argument("--gpu-faces-per-s", type=float, default=10_000.0)
    ap.add_argument("--cores", type=int, default=16)
    ap.add_argument("--core-efficiency", type=float, default=0.92)
    ap.add_argument("--startup-s", type=float, default=15.0)
    ap.add_argument("--input", type=Path, default=None,
                    help="also simulate the shards of this input (with --recipe) on --actors actors")
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "demo.toml")
    ap.add_argument("--actors", type=int, nargs="+", default=[2, 16])
    a = ap.parse_args()
    if a.input is not None:
        costs = plan_costs(a.recipe, a.input, a)
        for n in a.actors:
            s = schedule(costs, n)
            print(f"{a.input}: {len(costs)} shards on {n} actors (simulated): tail {s['tail']:.1f} s,"
                  f" utilisation {100 * s['utilisation']:.1f}%")
        print()
    print(f"per input image: decode {a.decode_ms} + detect {a.detect_ms} + embed inputs {a.embed_inputs_ms}"
          f" + embed network on the CPU {a.embed_cpu_ms} ms; {a.selected_ms} ms per selected image;"
          f" {a.shard_ms} ms per shard; GPU {a.gpu_faces_per_s:.0f} faces/s (target, not measured);"
          f" {a.cores} cores per node, {a.core_efficiency:.0%} per-core efficiency; start-up {a.startup_s} s\n")
    print("Scheduling (simulated; shard_size = auto, largest first, CPU only):\n")
    print("| dataset | shards | longest shard | actors | tail | utilisation |")
    print("|---|---|---|---|---|---|")
    for name, (shape, per_id) in DATASETS.items():
        costs = shard_costs(shape, per_id, a, gpu=False)
        for nodes in (1, 4, 16):
            s = schedule(costs, nodes * a.cores)
            print(f"| {name} | {len(costs)} | {max(costs):.1f} s | {nodes * a.cores} |"
                  f" {s['tail']:.1f} s | {100 * s['utilisation']:.1f}% |")
    print("\nWall time (projected):\n")
    print("| dataset | nodes | CPU only | one GPU per node |")
    print("|---|---|---|---|")
    for name, (shape, per_id) in DATASETS.items():
        images = sum(int(n) for n in folder_sizes(shape))
        for nodes in (1, 4, 16):
            actors = nodes * a.cores
            cpu = schedule(shard_costs(shape, per_id, a, False), actors)["makespan"] / a.core_efficiency
            cpu_g = schedule(shard_costs(shape, per_id, a, True), actors)["makespan"] / a.core_efficiency
            gpu = max(cpu_g, images / (nodes * a.gpu_faces_per_s))
            print(f"| {name} | {nodes} x {a.cores} cores | {_fmt(cpu + a.startup_s)} |"
                  f" {_fmt(gpu + a.startup_s)} |")


if __name__ == "__main__":
    main()
