"""Scale of identity hygiene's cross-identity search on synthetic CASIA/VGGFace2-shaped embeddings.

    python benchmarks/bench_hygiene.py [--shape casia|vggface2] [--n 50000] [--recall-n 20000]
                                       [--device cpu]

Embeddings: bench_scale.py's synthetic generator (128-d like dlib-resnet, identity centres + noise,
folder sizes of the shape), the first ``--n`` of them (0: every file, 494,414 for CASIA), with
1 % planted duplicates: half exact copies, half near copies (noise 0.002 per dimension) filed under a random
other identity. Runs :func:`maskforge.hygiene.search.find` (exact duplicates off: no files) and
prints seconds per phase, peak RSS, the probe search's throughput per list and the recall of the
planted copies; ``--recall-n`` also compares the probe search with the exact blocked search on a
subset (recall of every pair above the candidate cosine) and times the exact search per block,
to extrapolate. ``bench_scale.py --steps hygiene`` runs it on the whole shape.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scale import synthetic_embeddings  # noqa: E402

from maskforge.hygiene.config import HygieneConfig  # noqa: E402
from maskforge.hygiene.knn import blocked_pairs_above, probed_pairs_above  # noqa: E402
from maskforge.hygiene.search import HygieneInput, find  # noqa: E402


def _rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def planted(shape: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings, identity names and the planted copy -> source row map (-1: not a copy)."""
    emb, ident = synthetic_embeddings(shape, limit=n)
    rng = np.random.default_rng(seed)
    k = max(2, len(emb) // 100)
    src = rng.choice(len(emb), k, replace=False)
    copies = emb[src].copy()
    copies[k // 2 :] += rng.normal(scale=0.002, size=(k - k // 2, emb.shape[1])).astype(np.float32)
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    other = (ident[src] + rng.integers(1, ident.max() + 1, k)) % (ident.max() + 1)
    emb = np.vstack([emb, copies])
    ident = np.concatenate([ident, other])
    source = np.concatenate([np.full(len(emb) - k, -1), src])
    return emb, np.char.add("id", ident.astype(str)), source


def run_search(shape: str, n: int, device: str = "cpu") -> dict:
    """Time :func:`find` on ``n`` planted synthetic embeddings (0: the whole shape)."""
    import torch

    torch.set_num_threads(torch.get_num_threads())
    emb, ids, source = planted(shape, n)
    paths = [f"{i}/{k:07d}.jpg" for k, i in enumerate(ids)]
    cfg = HygieneConfig(exact=False, device=device, search="probe")
    t0 = time.perf_counter()
    f, centres = find(HygieneInput(emb, list(ids), paths), cfg)
    seconds = time.perf_counter() - t0
    found = {(min(a, b), max(a, b)) for d in f.duplicate_sets for a in d.members for b in d.members if a != b}
    truth = [(min(i, s), max(i, s)) for i, s in enumerate(source) if s >= 0]
    recall = sum(t in found for t in truth) / len(truth)
    false = sum(1 for a, b in found if source[a] != b and source[b] != a and a < b)
    return {"embeddings": len(emb), "identities": len(centres.names), "seconds": round(seconds, 1),
            "phases": f.stats, "duplicate_sets": len(f.duplicate_sets), "planted": len(truth),
            "planted_recall": round(recall, 4), "other_pairs": false,
            "same_person_pairs": len(f.identity_pairs), "peak_rss_mb": _rss_mb()}  # fmt: skip


def compare_exact(shape: str, n: int, device: str = "cpu") -> dict:
    """Probe search vs exact blocked search on ``n`` embeddings: recall of every pair above the
    candidate cosine, and the exact search's time per 1e9 similarities (to extrapolate)."""
    emb, ids, _ = planted(shape, n, seed=1)
    names, codes = np.unique(ids, return_inverse=True)
    centres = np.zeros((len(names), emb.shape[1]), np.float32)
    np.add.at(centres, codes, emb)
    t = HygieneConfig().limits().near_cosine
    t0 = time.perf_counter()
    exact = blocked_pairs_above(emb, t, device=device)
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    probe = probed_pairs_above(emb, centres, t, nprobe=8, device=device)
    t_probe = time.perf_counter() - t0
    have = set(zip(probe.a.tolist(), probe.b.tolist(), strict=True))
    want = set(zip(exact.a.tolist(), exact.b.tolist(), strict=True))
    sims = len(emb) * (len(emb) - 1) / 2
    return {"embeddings": len(emb), "pairs_above": len(want),
            "probe_recall": round(len(have & want) / max(1, len(want)), 4),
            "exact_s": round(t_exact, 1), "probe_s": round(t_probe, 1),
            "exact_s_per_1e9_sims": round(t_exact / sims * 1e9, 2)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="casia", choices=["casia", "vggface2"])
    ap.add_argument("--n", type=int, default=50_000, help="embeddings (0: the whole shape)")
    ap.add_argument("--recall-n", type=int, default=0, help="also compare with the exact search")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    if args.recall_n:
        print(f"probe vs exact: {compare_exact(args.shape, args.recall_n, args.device)}", flush=True)
    print(f"[{args.shape}] find: {run_search(args.shape, args.n, args.device)}", flush=True)


if __name__ == "__main__":
    main()
