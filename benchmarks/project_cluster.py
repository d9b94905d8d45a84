"""Projected wall time of masked CASIA-WebFace and VGGFace2 builds on clusters, from per-stage costs.

    python benchmarks/project_cluster.py [--decode-ms 0.5] [--detect-ms 11.8] [--chip-ms 13.3]
                                         [--embed-cpu-ms 5.7] [--variants-ms 7.9]
                                         [--gpu-faces-per-s 10000]
                                         [--cores 16] [--efficiency 0.85] [--startup-s 15]

Prints a Markdown table: 1, 4 and 16 nodes of ``--cores`` cores, with and without one GPU per
node. The per-stage costs default to the figures of docs/benchmarks.md (ms per input image on one
core of the development machine, ``bench_pipeline.py`` and ``bench_embed.py``: ``chip`` is the
CPU work of the embed stage (decode + 5 points + chip cut), paid with or without a GPU,
``embed-cpu`` the network on the CPU; ``variants`` per *selected* image);
pass the figures of your own machine. Nothing here is measured: it is arithmetic over measured
inputs, and the docs say which is which.

Model: CPU work = images x (decode + detect + chip [+ embed when no GPU]) + selected x variants, spread
over nodes x cores at ``--efficiency``; with a GPU per node, embedding runs in its own pool at
``--gpu-faces-per-s`` per GPU, overlapping the CPU stages, so the wall time is the larger of the
two; plus Ray start-up. Cleaning (seconds for millions of embeddings) is left out.
"""

from __future__ import annotations

import argparse

DATASETS = {
    # images, identities, images selected per identity by the shipped recipes (select 15)
    "masked CASIA-WebFace": (494_414, 10_575, 14.0),  # ~14 on average: some identities have < 15
    "masked VGGFace2": (3_310_000, 9_131, 15.0),
}


def project(images: int, selected: float, nodes: int, gpu: bool, a: argparse.Namespace) -> float:
    per_image = a.decode_ms + a.detect_ms + a.chip_ms + (0.0 if gpu else a.embed_cpu_ms)
    cpu_s = (images * per_image + selected * a.variants_ms) / 1000.0
    cpu_wall = cpu_s / (nodes * a.cores * a.efficiency)
    gpu_wall = images / (nodes * a.gpu_faces_per_s) if gpu else 0.0
    return max(cpu_wall, gpu_wall) + a.startup_s


def _fmt(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decode-ms", type=float, default=0.5)
    ap.add_argument("--detect-ms", type=float, default=11.8)
    ap.add_argument("--chip-ms", type=float, default=13.3)
    ap.add_argument("--embed-cpu-ms", type=float, default=5.7)
    ap.add_argument("--variants-ms", type=float, default=7.9)
    ap.add_argument("--gpu-faces-per-s", type=float, default=10_000.0)
    ap.add_argument("--cores", type=int, default=16)
    ap.add_argument("--efficiency", type=float, default=0.85)
    ap.add_argument("--startup-s", type=float, default=15.0)
    a = ap.parse_args()
    print(f"per image: decode {a.decode_ms} ms, detect {a.detect_ms} ms, chip {a.chip_ms} ms,"
          f" embed (CPU) {a.embed_cpu_ms} ms;"
          f" variants {a.variants_ms} ms per selected image; GPU embed {a.gpu_faces_per_s:.0f} faces/s;"
          f" {a.cores} cores per node at {a.efficiency:.0%} efficiency; start-up {a.startup_s} s\n")
    print("| dataset | nodes | CPU only | one GPU per node |")
    print("|---|---|---|---|")
    for name, (images, identities, per_id) in DATASETS.items():
        selected = identities * per_id
        for nodes in (1, 4, 16):
            cpu = project(images, selected, nodes, False, a)
            gpu = project(images, selected, nodes, True, a)
            print(f"| {name} | {nodes} x {a.cores} cores | {_fmt(cpu)} | {_fmt(gpu)} |")


if __name__ == "__main__":
    main()
