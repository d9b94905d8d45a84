"""Calibrate identity hygiene on half of lfw-dev's identities, report on the other half.

    python benchmarks/calibrate_hygiene.py [--lfw DIR] [--cache /tmp] [--seed 0]

Planted cases (benchmarks/hygiene_planted.py): byte copies across identities; re-encoded
(JPEG q 50-70), resized (0.6-0.9x) and cropped (3-8 %) copies within and across identities;
identities split in two folders; a pairs.txt over a subset of identities (half of their images
held out as the evaluation set, some under another spelling or an unrelated label), plus
evaluation-only identities. Embeddings: dlib-resnet (torch port) on chips cut from the source
image after DetectStage, cached under --cache.

1. calibration half: grid-searches the near-duplicate rule (best F1 of duplicate pairs; ties: the
   middle of the tied range), and puts the same-person and overlap cosines midway between the
   largest cosine of two different people and the smallest of one person (split in two, or in
   training and evaluation); ``name_cosine`` is the 95th percentile of the centre cosines of
   different people (a name match must look more alike than 95 % of strangers);
2. held-out half: runs ``run_hygiene`` (action remove) with those values and prints precision and
   recall per case type, the false finds, and what the removal took.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from hygiene_planted import Planted, plant  # noqa: E402

from maskforge.hygiene.config import DEFAULTS, HygieneConfig  # noqa: E402
from maskforge.hygiene.knn import blocked_pairs_above  # noqa: E402
from maskforge.hygiene.phash import hamming  # noqa: E402
from maskforge.hygiene.search import EvalEmbeddings, HygieneInput, find  # noqa: E402
from maskforge.hygiene.stage import run_hygiene  # noqa: E402

#: Pairs of lfw-dev images that are the same photo (checked by eye): true duplicates, not planted.
KNOWN_DUPLICATES = {("Ari_Fleischer/Ari_Fleischer_0006.jpg", "Ari_Fleischer/Ari_Fleischer_0011.jpg")}


def roots(p: Planted) -> np.ndarray:
    """Per sample, the row of the photo it shows (a copy: its source; known duplicates: one)."""
    root = np.where(p.source >= 0, p.source, np.arange(len(p.path)))
    at = {str(q): i for i, q in enumerate(p.path)}
    for a, b in KNOWN_DUPLICATES:
        if a in at and b in at:
            root[root == at[b]] = at[a]
    return root


def inputs(p: Planted) -> tuple[HygieneInput, list[EvalEmbeddings]]:
    inp = HygieneInput(p.emb, list(p.identity), list(p.path), file_hashes=p.file_hash,
                       pixel_hashes=p.pixel_hash, phashes=p.phash)  # fmt: skip
    return inp, [EvalEmbeddings("pairs.txt", p.eval_emb, list(p.eval_identity))]


def _middle(tied: list[tuple]) -> tuple:
    """The tied setting nearest the middle of the tied range, parameter by parameter."""
    arr = np.array(tied, float)
    mid = np.median(arr, axis=0)
    return tied[int(np.argmin((np.abs(arr - mid) / (arr.std(0) + 1e-9)).sum(1)))]


def calibrate_near(p: Planted) -> dict[str, float]:
    cand = blocked_pairs_above(p.emb, 0.95, device="cpu")
    root = roots(p)
    truth = root[cand.a] == root[cand.b]
    bits = hamming(p.phash[cand.a], p.phash[cand.b]).astype(int)
    n_true = int(sum(((root == r).sum() * ((root == r).sum() - 1)) // 2 for r in np.unique(root)))
    grid = itertools.product(np.arange(0.95, 0.9951, 0.005), range(0, 17, 2),
                             np.arange(0.993, 0.9991, 0.0005), range(12, 33, 2))
    scored = []
    for nc, nb, cc, cb in grid:
        hit = ((cand.sim >= nc) & (bits <= nb)) | ((cand.sim >= cc) & (bits <= cb))
        tp, fp = int((hit & truth).sum()), int((hit & ~truth).sum())
        f1 = 2 * tp / (2 * tp + fp + (n_true - tp))
        scored.append((round(f1, 6), (round(nc, 4), nb, round(cc, 4), cb)))
    best = max(s[0] for s in scored)
    nc, nb, cc, cb = _middle([s[1] for s in scored if s[0] == best])
    print(f"near duplicates: best pair F1 {best:.3f} on the calibration half "
          f"({len([s for s in scored if s[0] == best])} tied settings)")
    return {"near_cosine": float(nc), "phash_bits": int(nb), "crop_cosine": float(cc),
            "crop_phash_bits": int(cb)}


def _midway(neg: np.ndarray, pos: np.ndarray, what: str) -> float:
    hi_neg, lo_pos = float(neg.max()), float(pos.min())
    t = round((hi_neg + lo_pos) / 2, 3)
    print(f"{what}: different people up to {hi_neg:.4f}, one person from {lo_pos:.4f} -> {t}")
    return t


def calibrate_identities(p: Planted, near: dict[str, float]) -> dict[str, float]:
    inp, evals = inputs(p)
    cfg = HygieneConfig(**near, same_person_cosine=0.5, overlap_cosine=0.5, name_cosine=0.5,
                        evidence=1)  # fmt: skip
    f, centres = find(inp, cfg, evals)
    split = {frozenset(s) for s in p.split_pairs}
    sp = np.array([q.cosine for q in f.identity_pairs if frozenset((q.a, q.b)) in split])
    sn = np.array([q.cosine for q in f.identity_pairs if frozenset((q.a, q.b)) not in split])
    ov = [o for o in f.overlaps if "face" in o.signals]
    op = np.array([o.centre_cosine for o in ov if p.overlap.get(o.identity) == o.eval_identity])
    on = np.array([o.centre_cosine for o in ov if p.overlap.get(o.identity) != o.eval_identity])
    return {
        "same_person_cosine": _midway(sn, sp, "same person (centres)"),
        "overlap_cosine": _midway(on, op, "evaluation overlap (centres)"),
        "name_cosine": round(float(np.percentile(np.concatenate([sn, on]), 95)), 3),
    }


def _pr(tp: int, fp: int, fn: int) -> str:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return f"P {p:.3f} R {r:.3f} (tp {tp}, fp {fp}, fn {fn})"


def evaluate_duplicates(p: Planted, res) -> None:
    root = roots(p)
    found: set[tuple[int, int]] = set()
    for d in res.findings.duplicate_sets:
        found |= {(min(a, b), max(a, b)) for a, b in itertools.combinations(d.members, 2)}
    print("duplicates (pairs of one set), per case type:")
    cases = sorted({c for c in p.case if c}) + ["originals"]
    for case in cases:
        rows = np.flatnonzero(p.case == case) if case != "originals" else np.flatnonzero(p.case == "")
        truth = {(min(i, int(p.source[i])), max(i, int(p.source[i]))) for i in rows if p.source[i] >= 0}
        if case == "originals":
            at = {str(q): i for i, q in enumerate(p.path)}
            truth = {(min(at[a], at[b]), max(at[a], at[b])) for a, b in KNOWN_DUPLICATES
                     if a in at and b in at}  # fmt: skip
        mine = {(a, b) for a, b in found if (p.case[a] == case or p.case[b] == case)
                or (case == "originals" and p.case[a] == "" and p.case[b] == "")}  # fmt: skip
        tp = len(truth & found)
        fp = sum(root[a] != root[b] for a, b in mine)
        print(f"  {case:<18} {_pr(tp, fp, len(truth) - tp)}")
        for a, b in sorted(mine):
            if root[a] != root[b]:
                print(f"     false: {p.path[a]} ~ {p.path[b]}")
    at = {str(q): i for i, q in enumerate(p.path)}
    gone = [at[r["source_path"]] for r in res.records if r["issue"] == "duplicate_across_identities"]
    copies = sum(p.case[i].endswith("across") for i in gone)
    print(f"  keeper choice in cross-identity sets: {copies} of {len(gone)} samples recorded as "
          "duplicate_across_identities are the planted copy (filed under the wrong identity), "
          f"{len(gone) - copies} the original")


def evaluate_identities(p: Planted, res) -> None:
    split = {frozenset(s) for s in p.split_pairs}
    pairs = {frozenset((q.a, q.b)) for q in res.findings.identity_pairs}
    tp = len(pairs & split)
    print(f"same person (split identities): {_pr(tp, len(pairs - split), len(split) - tp)}")
    for q in sorted(pairs - split, key=sorted):
        print(f"     false merge: {sorted(q)}")
    truth = set(p.overlap.items())
    ov = {(o.identity, o.eval_identity) for o in res.findings.overlaps if o.overlap}
    tp = len(ov & truth)
    print(f"evaluation overlap (identities): {_pr(tp, len(ov - truth), len(truth) - tp)}")
    for o in res.findings.overlaps:
        mark = "ok " if (o.identity, o.eval_identity) in truth else "FALSE" if o.overlap else "   "
        print(f"     {mark} {o.identity} ~ {o.eval_identity}: {'+'.join(o.signals)} "
              f"centre cosine {o.centre_cosine:.4f} -> {o.reason}")


def whole_lfw(lfw: Path, cache: Path) -> None:
    """Every lfw-dev identity as it is (no planting): the same-person pairs at the shipped
    threshold (each a false merge: lfw-dev's identities are different people), the largest centre
    cosine of two identities, and the duplicate sets found."""
    from hygiene_planted import _originals

    d = _originals(lfw, cache)
    inp = HygieneInput(d["emb"], list(d["identity"]), list(d["path"]), file_hashes=list(d["file_hash"]),
                       pixel_hashes=list(d["pixel_hash"]), phashes=d["phash"])  # fmt: skip
    f, centres = find(inp, HygieneConfig())
    s = centres.centre @ centres.centre.T
    np.fill_diagonal(s, -1)
    i, j = np.unravel_index(int(np.argmax(s)), s.shape)
    print(f"\n== all of lfw-dev ({len(centres.names)} identities, {len(d['path'])} faces), shipped "
          f"defaults ==\nfalse merges: {len(f.identity_pairs)} "
          f"{[(p.a, p.b, round(p.cosine, 4)) for p in f.identity_pairs]}; closest two identities: "
          f"{centres.names[i]} ~ {centres.names[j]} cosine {s[i, j]:.4f} "
          f"(threshold {HygieneConfig().limits().same_person_cosine})")
    for dup in f.duplicate_sets:
        print(f"duplicate set: {[str(d['path'][m]) for m in dup.members]} cosine {dup.cosine[1]:.4f} "
              f"pHash {dup.bits[1]} bits")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--cache", type=Path, default=Path("/tmp"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    calib = plant(args.lfw, args.cache, True, args.seed)
    held = plant(args.lfw, args.cache, False, args.seed)
    for name, p in (("calibration", calib), ("held-out", held)):
        print(f"{name} half: {len(p.path)} training images ({int((p.source >= 0).sum())} planted "
              f"copies), {len(set(p.identity))} identities, {len(p.split_pairs)} split, "
              f"{len(p.overlap)} overlapping the pairs file ({len(p.eval_emb)} images), "
              f"{len(p.eval_only)} evaluation-only")
    values = calibrate_near(calib)
    values.update(calibrate_identities(calib, values))
    print(f"calibrated: {values}\nshipped:    {DEFAULTS['dlib-resnet']}")
    for label, cfg in (("calibrated", values), ("shipped defaults", {})):
        print(f"\n== held-out half, {label}, action remove ==")
        inp, evals = inputs(held)
        res = run_hygiene(inp, HygieneConfig(action="remove", **cfg), evals)
        evaluate_duplicates(held, res)
        evaluate_identities(held, res)
        print(f"summary: {res.summary()}")
    whole_lfw(args.lfw, args.cache)


if __name__ == "__main__":
    main()
