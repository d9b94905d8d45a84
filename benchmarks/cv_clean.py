"""Cross-validated calibration of the robust cleaner, and hygiene's centre evidence for look-alikes.

    python benchmarks/cv_clean.py [--splits 5] [--seeds 3] [--small-grid] [--lfw DIR] [--cache /tmp]

For each of ``--splits`` identity splits of lfw-dev (bench_clean.split_identities with seeds
0..splits-1; both halves in turn as the calibration half), grid-searches the robust settings
(bench_clean's grid: floor, confusion threshold, margin, cap) on the calibration half for the best
mean F1 over random and look-alike noise at 5 % and 10 % (``--seeds`` plantings each), and reports
on the held-out half: F1 of the shipped defaults, of the settings calibrated on that split, and of
the shipped defaults plus hygiene's evidence (a sample whose cosine to another identity's robust
centre exceeds its cosine to its own identity's centre by more than ``margin``, in identities of
>= 3 images; ``maskforge.hygiene.centres.centre_affinity``). Prints mean, min and standard
deviation over splits x halves, and the spread of the chosen settings.
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

from bench_clean import SETTINGS, embed_dataset, split_identities  # noqa: E402

from maskforge.clean import CleanConfig, score_identities  # noqa: E402
from maskforge.clean.calibrate import plant_label_noise, prf  # noqa: E402
from maskforge.hygiene.centres import centre_affinity, identity_centres  # noqa: E402

GRID = list(itertools.product([0.40, 0.42, 0.44, 0.46], [0.32, 0.34, 0.36, 0.38, 0.40],
                              [0.0, 0.02], [0.55, 0.60]))  # fmt: skip
#: ``--small-grid``: the shipped values and one step either side of floor and confusion.
SMALL_GRID = list(itertools.product([0.42, 0.44, 0.46], [0.34, 0.38], [0.0], [0.60]))
MARGINS = (-0.01, -0.005, 0.0)


def planted(emb, ids, seeds):
    return [(s, plant_label_noise(ids, s[1], seed=k, embeddings=emb, lookalike=s[0] == "look-alike"))
            for s in SETTINGS for k in range(seeds)]  # fmt: skip


def f1s(emb, plants, cfg, margin=None) -> dict:
    out: dict = {}
    for s, pn in plants:
        flagged = score_identities(emb, pn.identity, cfg, "cpu").flagged
        if margin is not None:
            c = identity_centres(emb, pn.identity, 0.44, 0.60)
            own, _, other = centre_affinity(emb, c)
            flagged = flagged | ((other - own > margin) & (c.counts[c.codes] >= 3))
        out.setdefault(s, []).append(prf(flagged, pn.noisy).f1)
    return {s: float(np.mean(v)) for s, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--cache", type=Path, default=Path("/tmp"))
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--small-grid", action="store_true", help="6 settings instead of 80")
    args = ap.parse_args()
    data = embed_dataset(args.lfw, args.cache)
    emb, ids = data["emb"], data["identity"]
    rows: dict[str, list[dict]] = {}
    chosen = []
    for split, half in itertools.product(range(args.splits), (True, False)):
        calib = split_identities(ids, split) == half
        pa, pb = planted(emb[calib], ids[calib], args.seeds), planted(emb[~calib], ids[~calib], args.seeds)
        best = max(SMALL_GRID if args.small_grid else GRID, key=lambda g: np.mean(list(f1s(emb[calib], pa, CleanConfig(
            threshold=g[0], confusion_threshold=g[1], confusion_margin=g[2], threshold_cap=g[3])).values())))
        chosen.append(best)
        cfg = CleanConfig(threshold=best[0], confusion_threshold=best[1], confusion_margin=best[2],
                          threshold_cap=best[3])  # fmt: skip
        rows.setdefault("shipped defaults", []).append(f1s(emb[~calib], pb, CleanConfig()))
        rows.setdefault("calibrated on the split", []).append(f1s(emb[~calib], pb, cfg))
        for m in MARGINS:
            rows.setdefault(f"shipped + centre evidence (margin {m})", []).append(
                f1s(emb[~calib], pb, CleanConfig(), m))
        print(f"split {split} half {'A' if half else 'B'}: chosen {best}; held-out F1 "
              + ", ".join(f"{name}: " + " ".join(f"{v:.3f}" for v in r[-1].values())
                          for name, r in rows.items()), flush=True)  # fmt: skip
    print(f"\nheld-out F1 over {len(chosen)} calibrations (mean / min / sd), per setting "
          + ", ".join(f"{d} {f:.0%}" for d, f in SETTINGS))
    for name, r in rows.items():
        cells = []
        for s in SETTINGS:
            v = np.array([x[s] for x in r])
            cells.append(f"{v.mean():.3f} / {v.min():.3f} / {v.std():.3f}")
        print(f"  {name:<42} " + " | ".join(cells))
    arr = np.array(chosen)
    print("chosen settings (floor, confusion, margin, cap): min", arr.min(0), "max", arr.max(0),
          "median", np.median(arr, 0))


if __name__ == "__main__":
    main()
