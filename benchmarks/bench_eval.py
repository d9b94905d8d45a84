"""Anchor of ``maskforge eval pairs``: the project's default pipeline against dlib's own on lfw-dev.

    python benchmarks/bench_eval.py [--lfw DIR] [--folds 10] [--per-fold 300] [--seed 0]
                                    [--embedder auto] [--no-mask]

1. builds a pairs file with ``make_pairs`` (each identity in one fold, balanced);
2. maskforge: every image of the pairs detected/aligned by the detect stage (dlib HOG, 112x112
   ArcFace crops) and embedded with ``make_embedder(--embedder)``, unmasked, and the second image of
   every pair masked (surgical-blue, seed 0) unless --no-mask; one embedding per image per mode;
3. dlib's own pipeline on the same images: ``get_frontal_face_detector`` (upsample 1, the
   detection nearest the image centre), the 5-point shape predictor, ``get_face_chip(img, shape,
   150, 0.25)``, ``compute_face_descriptor``, raw Euclidean distances;
4. the same protocol for both (10-fold accuracy mean ± std, AUC, EER, TAR@FAR; failed images count
   as failed pairs), the accuracy difference in points, the same on the pairs both pipelines
   embedded, and images/s of each pipeline (decode + detect + embed) in the same run, so the
   comparison holds on a loaded machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskforge.eval.faces import embed_images, make_masker  # noqa: E402
from maskforge.eval.make_pairs import make_pairs  # noqa: E402
from maskforge.eval.protocol import verification_metrics  # noqa: E402
from maskforge.eval.verify import detect_stage, pair_distances  # noqa: E402


def dlib_native(lfw: Path, paths: list[str]) -> tuple[dict[str, np.ndarray], float]:
    """Raw dlib descriptors per path (no entry: no face) and the seconds it took."""
    import dlib

    from maskforge.io.decode import decode_image
    from maskforge.models import dlib_model_path

    det = dlib.get_frontal_face_detector()
    sp5 = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))
    rec = dlib.face_recognition_model_v1(str(dlib_model_path("resnet_embedder")))
    out = {}
    t0 = time.perf_counter()
    for path in paths:
        img = decode_image(lfw / path)
        rects = det(img, 1)
        if not rects:
            continue
        h, w = img.shape[:2]
        rect = min(rects, key=lambda r: (r.center().x - w / 2) ** 2 + (r.center().y - h / 2) ** 2)
        chip = dlib.get_face_chip(img, sp5(img, rect), 150, 0.25)
        out[path] = np.asarray(rec.compute_face_descriptor(chip), np.float64)
    return out, time.perf_counter() - t0


def _tar(entry: dict) -> str:
    return "n/a" if entry["tar"] is None else f"{entry['tar']:.4f}"


def summary(name: str, m: dict, failed_images: int) -> str:
    tars = "  ".join(f"{k}:{_tar(v)}" for k, v in m["tar_at_far"].items())
    return (
        f"{name:<34} acc {m['accuracy']:.4f} ± {m['accuracy_std']:.4f}  AUC {m['auc']:.4f}  "
        f"EER {m['eer']:.4f}  thr {m['threshold']:.3f}  failed images {failed_images}  TAR@FAR {tars}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--per-fold", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embedder", default="auto")
    ap.add_argument("--no-mask", action="store_true")
    args = ap.parse_args()

    from maskforge.embed import make_embedder

    made = make_pairs(args.lfw, folds=args.folds, per_fold=args.per_fold, seed=args.seed)
    pairs = made.pairs
    same = [p.same for p in pairs]
    folds = [p.fold for p in pairs]
    paths = sorted({p.path_a for p in pairs} | {p.path_b for p in pairs})
    print(f"lfw-dev pairs: {args.folds} folds x {made.per_fold} matched + {made.per_fold} "
          f"mismatched = {len(pairs)} pairs over {len(paths)} images")  # fmt: skip

    emb_fn = make_embedder(args.embedder)
    wanted = {(p, False) for p in paths}
    if not args.no_mask:
        wanted |= {(p.path_b, True) for p in pairs}
    masker = None if args.no_mask else make_masker("surgical-blue", seed=0)
    t0 = time.perf_counter()
    emb = embed_images(wanted, args.lfw, emb_fn, masker, detect_stage(None, 112))
    t_mf = time.perf_counter() - t0
    native, t_dlib = dlib_native(args.lfw, paths)

    m_none = verification_metrics(pair_distances(pairs, emb, "none"), same, folds)
    d_native = np.array([
        np.linalg.norm(native[p.path_a] - native[p.path_b])
        if p.path_a in native and p.path_b in native else np.inf
        for p in pairs
    ])  # fmt: skip
    m_native = verification_metrics(d_native, same, folds)
    print(summary(f"maskforge ({emb_fn.name}, unmasked)", m_none, len(emb.failures)))
    print(summary("dlib's own pipeline (unmasked)", m_native, len(paths) - len(native)))
    diff = 100 * (m_none["accuracy"] - m_native["accuracy"])
    print(f"accuracy difference maskforge - dlib: {diff:+.2f} points")
    d_none = pair_distances(pairs, emb, "none")
    both = np.isfinite(d_none) & np.isfinite(d_native)
    print(f"failed pairs: maskforge {int((~np.isfinite(d_none)).sum())}, dlib's own "
          f"{int((~np.isfinite(d_native)).sum())}; on the {int(both.sum())} pairs both embedded:")  # fmt: skip
    common = [np.asarray(v)[both] for v in (same, folds)]
    print(summary("  maskforge", verification_metrics(d_none[both], *common), 0))
    print(summary("  dlib's own", verification_metrics(d_native[both], *common), 0))
    if not args.no_mask:
        m_one = verification_metrics(pair_distances(pairs, emb, "one"), same, folds)
        print(summary(f"maskforge ({emb_fn.name}, --mask one)", m_one, len(emb.failures)))
    n_emb = len(emb.vectors)
    print(f"maskforge: {len(paths)} images, {n_emb} embeddings in {t_mf:.1f} s = "
          f"{len(paths) / t_mf:.2f} images/s ({n_emb / t_mf:.2f} embeddings/s)")  # fmt: skip
    print(f"dlib's own: {len(paths)} images in {t_dlib:.1f} s = {len(paths) / t_dlib:.2f} images/s")


if __name__ == "__main__":
    main()
