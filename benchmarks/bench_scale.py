"""Scale simulation: listing, planning, manifest, audit report and cleaning at CASIA/VGGFace2 size.

    python benchmarks/bench_scale.py [--shape casia|vggface2|both] [--root /tmp/maskforge-scale]
                                     [--steps list,manifest,report,clean,hygiene] [--keep-tree]

Builds synthetic identity trees of empty ``.jpg`` files shaped like CASIA-WebFace (494,414 files
in 10,575 folders) or VGGFace2 (3,31M files in 9,131 folders), folder sizes drawn from a seeded
long-tailed distribution rescaled to the real totals, then measures, each step in a fresh
subprocess so that its peak RSS is its own:

- ``list``: listing (``maskforge.io.sources.list_samples``) + planning (``make_plan`` on the
  demo recipe, ``shard_size = "auto"``: shard keys stat every file): seconds and peak RSS.
  Targets for CASIA: under 60 s and 2 GB.
- ``manifest``: the size of ``manifest.json`` for that many identities.
- ``report``: the cleaning audit report for that many identities from a synthetic clean_scores
  table: build time, size of index.html (target under 5 MB), page count, and the time headless
  Chromium takes to load index.html (target under 3 s; skipped without chromium).
- ``clean``: robust cleaning of synthetic 128-d embeddings, one per file, on the CPU in torch:
  seconds and peak RSS.
- ``hygiene`` (not in the default steps): identity hygiene's cross-identity search (centres,
  near-duplicate probe search, same-person pairs) over the same synthetic embeddings with planted
  duplicates (benchmarks/bench_hygiene.py): seconds per phase, peak RSS, recall of the planted.

Nothing is timed against a threshold; the printed lines are the figures of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHAPES = {
    # identities, files, smallest and largest folder (CASIA: 2..804, VGGFace2: 87..843)
    "casia": (10_575, 494_414, 2, 804),
    "vggface2": (9_131, 3_310_000, 87, 843),
}


def folder_sizes(shape: str, seed: int = 0) -> np.ndarray:
    """Seeded long-tailed folder sizes between the shape's bounds, summing to its file count."""
    k, total, lo, hi = SHAPES[shape]
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(mean=0.0, sigma=1.0 if shape == "casia" else 0.35, size=k)
    sizes = lo + raw / raw.sum() * (total - lo * k)
    sizes = np.clip(np.round(sizes), lo, hi).astype(np.int64)
    # put the rounding/clipping difference back on folders with room, largest first
    diff = int(total - sizes.sum())
    order = np.argsort(-sizes if diff > 0 else sizes)
    i = 0
    while diff:
        j = order[i % k]
        step = 1 if diff > 0 else -1
        if lo <= sizes[j] + step <= hi:
            sizes[j] += step
            diff -= step
        i += 1
    return sizes


def build_tree(shape: str, root: Path) -> Path:
    tree = root / shape
    marker = tree / ".complete"
    if marker.is_file():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    t0 = time.perf_counter()
    for i, n in enumerate(folder_sizes(shape)):
        d = tree / f"id{i:05d}"
        d.mkdir(parents=True)
        for j in range(int(n)):
            os.close(os.open(d / f"{j:04d}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
    marker.touch()
    print(f"[{shape}] built tree in {time.perf_counter() - t0:.1f} s: {tree}", flush=True)
    return tree


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_list(tree: Path) -> dict:
    from maskforge.io.sources import list_samples
    from maskforge.pipeline.plan import make_plan
    from maskforge.recipe import load_recipe

    t0 = time.perf_counter()
    listing = list_samples(tree)
    t_list = time.perf_counter() - t0
    recipe = load_recipe(ROOT / "recipes" / "demo.toml")
    plan = make_plan(recipe, listing, str(tree), Path(tempfile.mkdtemp()))
    t_plan = time.perf_counter() - t0 - t_list
    return {
        "files": len(listing.samples),
        "identities": len(listing.labels),
        "shards": len(plan.shards),
        "list_s": round(t_list, 1),
        "plan_s": round(t_plan, 1),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def step_manifest(tree: Path) -> dict:
    from maskforge.io.manifest import build_manifest
    from maskforge.io.sharding import auto_shard_size, make_shards
    from maskforge.io.sources import list_samples

    listing = list_samples(tree)
    shards = len(make_shards(listing.samples, auto_shard_size(len(listing.samples))))
    counts = {"per_identity_before": sorted(np.bincount([s.label for s in listing.samples]).tolist())}
    manifest = build_manifest(
        recipe={"seed": 0}, input_path=str(tree), output_path="out", labels=listing.labels,
        counts=counts, timings={}, models={}, shards={},
        dataset_files=[f"dataset/shard-{i:05d}.parquet" for i in range(shards)],
    )
    text = json.dumps(manifest, indent=2, default=str)
    return {"manifest_mb": round(len(text.encode()) / 2**20, 2), "dataset_files": shards}


def synthetic_scores(sizes: np.ndarray, seed: int = 0):
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n = int(sizes.sum())
    ident = np.repeat(np.arange(len(sizes)), sizes)
    score = rng.gamma(4.0, 0.1, n).astype(np.float32)
    flagged = score > 0.75
    names = np.array([f"id{i:05d}" for i in range(len(sizes))])
    idn = names[ident]
    paths = [f"{a}/{j:04d}.jpg" for a, j in zip(idn, np.concatenate([np.arange(k) for k in sizes]), strict=True)]
    return pa.table({
        "sample_id": pa.array([p.replace("/", "_") for p in paths]),
        "identity": pa.array(idn),
        "source_path": pa.array(paths),
        "clean_score": pa.array(score),
        "threshold": pa.array(np.full(n, 0.75, np.float32)),
        "flagged": pa.array(flagged),
        "status": pa.array(np.where(flagged, "removed", "kept")),
        "reason": pa.array(np.where(flagged, "far_from_identity", "")),
        "method": pa.array(["robust"] * n),
        "embedder": pa.array(["dlib-resnet"] * n),
        "nearest_identity": pa.array(names[(ident + 1) % len(sizes)]),
        "nearest_distance": pa.array(rng.uniform(0.5, 1.0, n).astype(np.float32)),
    })


def step_report(shape: str) -> dict:
    from maskforge.report.build import build_report

    table = synthetic_scores(folder_sizes(shape))
    out = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    index = build_report(table, out / "report", source_root=out)  # thumbnails: none on disk
    seconds = time.perf_counter() - t0
    pages = len(list((out / "report" / "pages").glob("*.html")))
    res = {"report_build_s": round(seconds, 1), "index_mb": round(index.stat().st_size / 2**20, 2),
           "pages": pages, "peak_rss_mb": round(_peak_rss_mb())}
    res["chromium"] = chromium_load_seconds(index)
    shutil.rmtree(out, ignore_errors=True)
    return res


def chromium_load_seconds(index: Path) -> dict | None:
    """Seconds for headless Chromium to load and dump ``index``, and to do the same with an empty
    page in the same run (Chromium's own start-up: the baseline to subtract)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        return None

    def load(uri: str) -> float:
        with tempfile.TemporaryDirectory() as profile:
            cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run",
                   f"--user-data-dir={profile}", "--dump-dom", uri]
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, timeout=120, check=False)
            return time.perf_counter() - t0

    blank = min(load("about:blank") for _ in range(2))
    page = min(load(index.as_uri()) for _ in range(2))
    return {"index_s": round(page, 2), "blank_s": round(blank, 2), "index_minus_blank_s": round(page - blank, 2)}


def synthetic_embeddings(shape: str, seed: int = 1, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit 128-d embeddings with identity structure, one per file of the shape (the first
    ``limit`` identities' worth when ``limit`` > 0): identity centres N(0, 1), images = centre +
    N(0, 0.35) per dimension. Returns ``(embeddings [N, 128] float32, identity index [N])``."""
    sizes = folder_sizes(shape)
    rng = np.random.default_rng(seed)
    k, dim = len(sizes), 128
    centres = rng.normal(size=(k, dim)).astype(np.float32)
    ident = np.repeat(np.arange(k), sizes)
    emb = centres[ident] + rng.normal(scale=0.35, size=(len(ident), dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    if limit:
        keep = ident < np.searchsorted(np.cumsum(sizes), limit) + 1
        emb, ident = emb[keep][:limit], ident[keep][:limit]
    return emb, ident


def step_hygiene(shape: str) -> dict:
    """Identity hygiene's cross-identity search over every file (benchmarks/bench_hygiene.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_hygiene import run_search

    return run_search(shape, 0)


def step_clean(shape: str) -> dict:
    import torch

    from maskforge.clean import CleanConfig, score_identities

    torch.set_num_threads(os.cpu_count() or 1)
    emb, ident = synthetic_embeddings(shape)
    names = [f"id{i:05d}" for i in ident]
    t0 = time.perf_counter()
    result = score_identities(emb, names, CleanConfig(method="robust", embedder="dlib-resnet"), device="cpu")
    seconds = time.perf_counter() - t0
    return {"embeddings": len(ident), "clean_s": round(seconds, 1), "flagged": int(np.sum(result.flagged)),
            "peak_rss_mb": round(_peak_rss_mb())}


def _child(step: str, shape: str, tree: str) -> None:
    fn = {"list": lambda: step_list(Path(tree)), "manifest": lambda: step_manifest(Path(tree)),
          "report": lambda: step_report(shape), "clean": lambda: step_clean(shape),
          "hygiene": lambda: step_hygiene(shape)}[step]
    print(json.dumps(fn()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="casia", choices=["casia", "vggface2", "both"])
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "maskforge-scale")
    ap.add_argument("--steps", default="list,manifest,report,clean")
    ap.add_argument("--keep-tree", action="store_true", help="leave the synthetic tree for reruns")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    shapes = ["casia", "vggface2"] if args.shape == "both" else [args.shape]
    steps = args.steps.split(",")
    for shape in shapes:
        tree = build_tree(shape, args.root) if {"list", "manifest"} & set(steps) else args.root / shape
        for step in steps:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child", step, shape, str(tree)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                print(f"[{shape}] {step}: failed\n{proc.stderr[-2000:]}", flush=True)
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"[{shape}] {step}: {res}  (wall {time.perf_counter() - t0:.1f} s)", flush=True)
        if not args.keep_tree:
            shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
