"""How photographed do maskforge's masked faces look? Real masked photos against ours.

Real side: the photos of ``rwmfd-dev`` (web photos of people wearing masks). Ours: ``lfw-dev``
faces masked by ``render_occluder`` (landmarks from dlib HOG + 68 points, as ``maskforge
overlay`` does) and written as JPEG at quality 95 (``overlay``'s default). On both sides the face
is found by MTCNN (it finds masked faces; centre-weighted selection, box side >= 48 px) and the
statistics of ``benchmarks/realism_stats.py`` are computed from its two eye centres: the mask
region (lower face, below the nose line) relative to the same face's upper half.

Reported per row: the cross-validated ROC AUC of a logistic regression telling real faces from
the row's faces on those statistics (0.5 = indistinguishable), the two-sample KS distance of
each statistic and their mean; and per spec the AUC of the faces alone (the upper face's
saturation, ``sat - sat_rel``, which the classifier gets from the two saturation statistics: lfw
faces are more colourful than rwmfd's, so no mask can bring the AUC much under it). Rows:

- ``real vs real``: the two halves of the real side (sanity check: ~0.5);
- ``flat fill``: the lower face of the lfw faces (jaw 1-15 closed at nose point 29) filled with
  one flat colour (sanity check: must score far worse than any real tool);
- one row per ``--spec`` (default ``mask``: the recipe's masked-CASIA palette, equal weights).

After that table, unchanged, the **de-confounded** comparison (``realism_balance``; docs/
occluders.md, "Comparing masks, not photos"): the upper-face covariates of both sets of photos
(no mask pixel in them) and how far apart they are, the faces-alone AUCs before and after
overlap weighting on ``--balance-on`` (default ``realism_balance.BALANCE_ON``), per statistic
how much the covariates predict it, and the table again with overlap-weighted AUC (cross-fitted
weights) and KS. ``--spread N`` adds each spec's AUC sampling sd from N half-samples.

Splits (so that nothing is tuned on the figures it is judged by): lfw identities and rwmfd
photos (they have no identities) are split in two halves by a hash of their name; ``--half report`` (default) uses the
report halves, ``--half tune`` the others. Detections are cached in ``--cache``.

Usage: python benchmarks/bench_realism.py [--lfw DIR] [--rwmfd DIR] [--half report|tune]
           [--spec SPEC ...] [--assets-dir DIR ...] [--json OUT] [--compare BEFORE.json]
           [--sheet OUT.png] [--balance-on COV,...|all] [--spread N] [--look K=V,... ...]

``--look noise=0.8,texture=0.03``: render with those ``occlude.look`` options instead of the
defaults (repeatable: one row per look and spec; the rows are named ``SPEC look(K=V,...)``;
``--look ""`` is the defaults, row ``SPEC``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # after PYTHONPATH: another checkout's maskforge may be measured
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realism_balance import (  # noqa: E402
    BALANCE_ON,
    cv_r2,
    effective_n,
    half_sample_sd,
    overlap_weigher,
    overlap_weights,
    weighted_median,
)
from realism_stats import (  # noqa: E402
    COVARIATES,
    NAMES,
    cv_auc,
    face_stats,
    ks_distance,
    upper_covariates,
)

MIN_FACE = 48.0
FLAT_COLOR = (127, 168, 208)


def half_of(name: str) -> str:
    """``tune`` or ``report``: a stable split by the hash of an identity/batch name."""
    return "tune" if hashlib.blake2b(name.encode(), digest_size=2).digest()[0] % 2 else "report"


def _decode(path: Path) -> np.ndarray:
    from maskforge.io.decode import decode_image

    return decode_image(path)


def _jpeg(img: np.ndarray, quality: int = 95) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _cached(cache: Path, key: str, compute):
    path = cache / (hashlib.sha1(key.encode()).hexdigest() + ".npz")
    if path.exists():
        data = np.load(path, allow_pickle=False)
        return {k: data[k] for k in data.files}
    out = compute()
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    os.replace(tmp, path)
    return out


def mtcnn_eyes(det, img: np.ndarray) -> np.ndarray:
    """(2, 2) eye centres of the selected MTCNN face (empty (0, 2) when none)."""
    from maskforge.detect import select_face

    face, _ = select_face(det.detect([img])[0], img.shape[:2], min_size=MIN_FACE)
    if face is None:
        return np.zeros((0, 2), np.float32)
    return np.asarray(face.landmarks5[:2], np.float32)


def real_stats(rwmfd: Path, half: str, cache: Path, det) -> tuple[np.ndarray, np.ndarray]:
    """Statistics (N, len(NAMES)) and upper-face covariates (N, len(COVARIATES)) of the real
    faces of ``half``."""
    rows, covs = [], []
    for p in sorted(rwmfd.glob("*/*.jpg")):
        if half_of(f"{p.parent.name}/{p.name}") != half:  # photos: no identities to keep apart
            continue
        img = _decode(p)
        eyes = _cached(cache, f"mtcnn:{p}", lambda img=img: {"eyes": mtcnn_eyes(det, img)})["eyes"]
        if len(eyes):
            s = face_stats(img, eyes[0], eyes[1])
            c = upper_covariates(img, eyes[0], eyes[1])
            if s is not None and c is not None:
                rows.append([s[k] for k in NAMES])
                covs.append([c[k] for k in COVARIATES])
    return np.array(rows), np.array(covs)


def lfw_faces(lfw: Path, half: str, cache: Path, det, hog):
    """(path, image, landmarks68, eyes, covariates) of the lfw faces of ``half`` that both
    detectors find; covariates (``COVARIATES`` order) of the unmasked face after the same JPEG
    q95 round trip as ours, None where the statistics cannot be computed either."""
    from maskforge.detect import select_face

    out = []
    for p in sorted(lfw.glob("*/*.jpg")):
        if half_of(p.parent.name) != half:
            continue
        img = _decode(p)

        def compute(img=img):
            face, _ = select_face(hog.detect([img])[0], img.shape[:2])
            lm = np.zeros((0, 2), np.float32) if face is None else face.landmarks68
            return {"lm": np.asarray(lm, np.float32), "eyes": mtcnn_eyes(det, img)}

        c = _cached(cache, f"lfw:{p}", compute)
        if len(c["lm"]) == 68 and len(c["eyes"]) == 2:
            cov = upper_covariates(_jpeg(img), c["eyes"][0], c["eyes"][1])
            cov_row = None if cov is None else np.array([cov[k] for k in COVARIATES])
            out.append((p, img, c["lm"].astype(np.float64), c["eyes"], cov_row))
    return out


def flat_fill(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    poly = np.vstack([lm[1:16], lm[29:30]])
    out = img.copy()
    cv2.fillPoly(out, [np.round(poly * 16).astype(np.int32)], FLAT_COLOR, cv2.LINE_AA, shift=4)
    return out


def ours_stats(faces, render, label: str, sheet: list | None = None) -> tuple[np.ndarray, float]:
    """Statistics of the faces rendered by ``render(path, img, lm)``, JPEG q95 round trip
    (rows: the faces whose covariates are not None, in order); the mean render time (ms per
    face)."""
    rows, spent = [], 0.0
    for p, img, lm, eyes, _ in faces:
        t0 = time.perf_counter()
        out = render(p, img, lm)
        spent += time.perf_counter() - t0
        out = _jpeg(out)
        if sheet is not None and len(sheet) < 8:
            sheet.append(out)
        s = face_stats(out, eyes[0], eyes[1])
        if s is not None:
            rows.append([s[k] for k in NAMES])
    return np.array(rows), 1000 * spent / max(len(faces), 1)


def parse_look(text: str) -> dict[str, object]:
    """``"noise=0.8,texture=0.03"`` -> overrides of the default ``PhotoLook`` (validated)."""
    from maskforge.errors import RecipeError
    from maskforge.occlude.look import DEFAULT_LOOK, PhotoLook

    pairs: dict[str, object] = {}
    for item in (t for t in text.split(",") if t.strip()):
        key, _, value = item.partition("=")
        try:
            pairs[key.strip()] = json.loads(value)  # numbers and true/false
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"bad --look {text!r}: {e}") from e
    try:
        PhotoLook.model_validate(DEFAULT_LOOK.model_dump() | pairs)
    except (RecipeError, ValueError) as e:  # an unknown key or a value out of range
        raise argparse.ArgumentTypeError(f"bad --look {text!r}: {e}") from e
    return pairs


def spec_renderer(spec: str, assets_dirs: list[str], look: dict[str, object] | None = None):
    from maskforge.occlude import AssetLibrary, render_occluder
    from maskforge.occlude.spec import OccluderChoice
    from maskforge.seeding import rng_for

    dirs: list[str | Path] = list(assets_dirs)
    lib = AssetLibrary.load(extra_dirs=dirs or None)
    choice = OccluderChoice.parse(spec) if ":" not in spec else None
    if choice is None:
        from maskforge.occlude import parse_mix

        choice = parse_mix(spec)
    # the defaults as the code under test has them; a checkout from before issue 20 has no look
    # (``PYTHONPATH=<05371a7> ... --json before.json``), so it is only imported for --look
    kwargs: dict[str, object] = {}
    if look:
        from maskforge.occlude.look import DEFAULT_LOOK, PhotoLook

        kwargs["look"] = PhotoLook.model_validate(DEFAULT_LOOK.model_dump() | look)

    def render(p: Path, img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        rel = f"{p.parent.name}/{p.name}"
        return render_occluder(img, lm, choice, rng_for(0, "overlay", rel, 0), library=lib,
                               **kwargs).image

    return render


def compare_row(real: np.ndarray, other: np.ndarray, w_real=None, w_other=None, weigh=None) -> dict:
    """AUC, per-statistic KS and medians of ``other`` against ``real``; with weights (overlap
    weights of the two sets' photos, ``realism_balance``: ``w_real``/``w_other`` for the KS,
    ``weigh`` for the cross-validated AUC) also the same figures weighted, under ``deconf``,
    with the effective numbers of faces."""
    ks = {k: ks_distance(real[:, i], other[:, i]) for i, k in enumerate(NAMES)}
    out = {
        "n": len(other),
        "auc": cv_auc(real, other),
        "ks": ks,
        "mean_ks": float(np.mean(list(ks.values()))),
        "median": {k: float(np.median(other[:, i])) for i, k in enumerate(NAMES)},
    }
    if w_real is not None and w_other is not None and weigh is not None:
        wks = {k: ks_distance(real[:, i], other[:, i], w_real, w_other) for i, k in enumerate(NAMES)}
        out["deconf"] = {
            "n_eff": [effective_n(w_real), effective_n(w_other)],
            "auc": cv_auc(real, other, weigh=weigh),
            "ks": wks,
            "mean_ks": float(np.mean(list(wks.values()))),
            "median": {k: weighted_median(other[:, i], w_other) for i, k in enumerate(NAMES)},
        }
    return out


def face_floor(real: np.ndarray, other: np.ndarray) -> float:
    """Cross-validated AUC of the upper face's saturation alone (``sat - sat_rel``: no pixel of
    the mask in it). ``sat`` and ``sat_rel`` together give it to the classifier, so no mask can
    bring the AUC much under this: it is a property of the faces (lfw vs rwmfd)."""
    i, j = NAMES.index("sat"), NAMES.index("sat_rel")
    return cv_auc((real[:, i] - real[:, j])[:, None], (other[:, i] - other[:, j])[:, None])


def print_table(rows: dict[str, dict], real: np.ndarray) -> None:
    head = "| faces | n | AUC | mean KS | " + " | ".join(NAMES) + " |"
    print(head)
    print("|" + "---|" * (4 + len(NAMES)))
    for name, r in rows.items():
        ks = " | ".join(f"{r['ks'][k]:.2f}" for k in NAMES)
        print(f"| {name} | {r['n']} | {r['auc']:.3f} | {r['mean_ks']:.3f} | {ks} |")
    med = " | ".join(f"{np.median(real[:, i]):.3f}" for i in range(len(NAMES)))
    print(f"| (real medians) | {len(real)} | | | {med} |")
    for name, r in rows.items():
        print(f"| ({name} medians) | | | | " + " | ".join(f"{r['median'][k]:.3f}" for k in NAMES) + " |")


def print_confound(real, real_cov, lfw_cov, ours, name, balance_on) -> dict:
    """Print (and return) how much the two sets of photographs differ, before and after the
    overlap weights, and what it does to each statistic (docs/occluders.md, "Comparing masks,
    not photos")."""
    bal = [COVARIATES.index(c) for c in balance_on]
    w_real, w_lfw = overlap_weights(real_cov[:, bal], lfw_cov[:, bal])
    weigh = overlap_weigher(real_cov[:, bal], lfw_cov[:, bal])
    i, j = NAMES.index("sat"), NAMES.index("sat_rel")
    up_r, up_o = (real[:, i] - real[:, j])[:, None], (ours[:, i] - ours[:, j])[:, None]
    faces = {
        "upper_sat": [cv_auc(up_r, up_o), cv_auc(up_r, up_o, weigh=weigh)],
        "balanced_covariates": [cv_auc(real_cov[:, bal], lfw_cov[:, bal]),
                                cv_auc(real_cov[:, bal], lfw_cov[:, bal], weigh=weigh)],
        "all_covariates": [cv_auc(real_cov, lfw_cov), cv_auc(real_cov, lfw_cov, weigh=weigh)],
        "n_eff": [effective_n(w_real), effective_n(w_lfw)],
    }  # fmt: skip
    print(f"\nthe faces alone (AUC real vs lfw photos, unweighted -> overlap-weighted on "
          f"{', '.join(balance_on)}; effective faces: real {faces['n_eff'][0]:.0f} of "
          f"{len(real_cov)}, lfw {faces['n_eff'][1]:.0f} of {len(lfw_cov)}):")  # fmt: skip
    for k, label in (("upper_sat", "upper-face saturation (sat - sat_rel)"),
                     ("balanced_covariates", f"the {len(bal)} weighted covariates"),
                     ("all_covariates", f"all {len(COVARIATES)} covariates")):  # fmt: skip
        print(f"  {label}: {faces[k][0]:.3f} -> {faces[k][1]:.3f}")
    print("| covariate | weighted on | real median | lfw median | KS | KS weighted | "
          "largest correlation with a statistic (real faces) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for c, k in enumerate(COVARIATES):
        a, b = real_cov[:, c], lfw_cov[:, c]
        corr = [float(np.corrcoef(a, real[:, s])[0, 1]) for s in range(len(NAMES))]
        top = int(np.argmax(np.abs(corr)))
        print(f"| {k} | {'yes' if c in bal else 'no'} | {np.median(a):.3f} | {np.median(b):.3f} | "
              f"{ks_distance(a, b):.2f} | {ks_distance(a, b, w_real, w_lfw):.2f} | "
              f"{corr[top]:+.2f} ({NAMES[top]}) |")  # fmt: skip
    ones = np.ones(len(real))
    rest = [c for c in range(len(COVARIATES)) if c not in bal]
    per: dict[str, dict] = {}
    print(f"\nper statistic: R2 = share of its variance all {len(COVARIATES)} covariates predict "
          f"(5-fold, linear); KS real->overlap = the real faces against themselves weighted "
          f"(how far the weighted population is from rwmfd's); KS of {name}")  # fmt: skip
    print(f"| statistic | R2 real | R2 real, unweighted covariates | R2 {name} | KS real->overlap | KS {name} | KS {name} weighted |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for c, k in enumerate(NAMES):
        per[k] = {
            "r2_real": cv_r2(real_cov, real[:, c]),
            "r2_real_rest": cv_r2(real_cov[:, rest], real[:, c]) if rest else 0.0,
            "r2_ours": cv_r2(lfw_cov, ours[:, c]),
            "ks_real_overlap": ks_distance(real[:, c], real[:, c], ones, w_real),
            "ks": ks_distance(real[:, c], ours[:, c]),
            "ks_weighted": ks_distance(real[:, c], ours[:, c], w_real, w_lfw),
        }
        r = per[k]
        print(f"| {k} | {r['r2_real']:.2f} | {r['r2_real_rest']:.2f} | {r['r2_ours']:.2f} | {r['ks_real_overlap']:.2f} | "
              f"{r['ks']:.2f} | {r['ks_weighted']:.2f} |")  # fmt: skip
    return {"faces": faces, "per_statistic": per}


def print_deconf_table(rows: dict[str, dict], balance_on, real, w_real) -> None:
    print(f"\nde-confounded (overlap weights on {', '.join(balance_on)}):")
    print("| faces | effective n (real, these) | AUC | mean KS | " + " | ".join(NAMES) + " |")
    print("|" + "---|" * (4 + len(NAMES)))
    for name, r in rows.items():
        d = r["deconf"]
        ks = " | ".join(f"{d['ks'][k]:.2f}" for k in NAMES)
        print(f"| {name} | {d['n_eff'][0]:.0f}, {d['n_eff'][1]:.0f} | {d['auc']:.3f} | "
              f"{d['mean_ks']:.3f} | {ks} |")  # fmt: skip
    med = " | ".join(f"{weighted_median(real[:, i], w_real):.3f}" for i in range(len(NAMES)))
    print(f"| (real weighted medians) | | | | {med} |")
    for name, r in rows.items():
        med = " | ".join(f"{r['deconf']['median'][k]:.3f}" for k in NAMES)
        print(f"| ({name} weighted medians) | | | | {med} |")


def print_compare(rows: dict[str, dict], before: dict) -> None:
    for name, r in rows.items():
        if name not in before:
            continue
        b = before[name]
        worse = [k for k in NAMES if r["ks"][k] > b["ks"][k] + 1e-9]
        print(f"{name}: AUC {b['auc']:.3f} -> {r['auc']:.3f}, mean KS "
              f"{b['mean_ks']:.3f} -> {r['mean_ks']:.3f}; further from real "
              f"than before: {', '.join(worse) or 'none'}")  # fmt: skip
        if "deconf" in r and "deconf" in b:
            d, bd = r["deconf"], b["deconf"]
            worse = [k for k in NAMES if d["ks"][k] > bd["ks"][k] + 1e-9]
            print(f"{name} (de-confounded): AUC {bd['auc']:.3f} -> {d['auc']:.3f}, mean KS "
                  f"{bd['mean_ks']:.3f} -> {d['mean_ks']:.3f}; further from real than before: "
                  f"{', '.join(worse) or 'none'}")  # fmt: skip


def print_spread(row: dict, real, ours, real_bal, lfw_bal, reps: int) -> None:
    """Add the sampling sd of the row's AUCs (``half_sample_sd``, weights refitted on each
    half-sample) to ``row`` and print it."""
    row["auc_sd"] = half_sample_sd(lambda i, j: cv_auc(real[i], ours[j]), len(real), len(ours), reps)
    row["deconf"]["auc_sd"] = half_sample_sd(
        lambda i, j: cv_auc(real[i], ours[j], weigh=overlap_weigher(real_bal[i], lfw_bal[j])),
        len(real), len(ours), reps,
    )  # fmt: skip
    print(f"  AUC sampling sd ({reps} half-samples): {row['auc_sd']:.3f}; de-confounded "
          f"{row['deconf']['auc_sd']:.3f}")  # fmt: skip


def _covariate_list(text: str) -> tuple[str, ...]:
    names = COVARIATES if text == "all" else tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in COVARIATES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown covariates {unknown}; known: {COVARIATES}")
    return names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lfw", default=str(ROOT.parent / "shared/faces/lfw-dev"))
    ap.add_argument("--rwmfd", default=str(ROOT.parent / "shared/faces/rwmfd-dev"))
    ap.add_argument("--half", choices=("report", "tune"), default="report")
    ap.add_argument("--spec", action="append", default=[])
    ap.add_argument("--assets-dir", action="append", default=[])
    ap.add_argument("--cache", default="/tmp/maskforge-realism-cache")
    ap.add_argument("--json", default=None)
    ap.add_argument("--compare", default=None, help="a --json file of an earlier run")
    ap.add_argument("--sheet", default=None, help="write the first rendered faces to this PNG")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--look", action="append", type=parse_look, default=[], metavar="K=V,...",
                    help="render options other than the defaults (occlude.look keys, e.g. "
                    "noise=0.8,texture=0.03); repeat for one row per look and spec")  # fmt: skip
    ap.add_argument("--spread", type=int, default=0, metavar="N",
                    help="also the AUCs' sampling sd from N half-samples (0: not measured)")  # fmt: skip
    ap.add_argument("--balance-on", type=_covariate_list, default=BALANCE_ON,
                    help="covariates the de-confounded figures weight on, comma-separated, or "
                    f"'all' (default: {','.join(BALANCE_ON)})")  # fmt: skip
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    import cv2 as _cv2

    _cv2.setNumThreads(1)
    from maskforge.detect import make_detector

    det = make_detector("mtcnn", device="cpu", min_face_size=40)
    hog = make_detector("dlib-hog")
    t0 = time.perf_counter()
    real, real_cov = real_stats(Path(args.rwmfd), args.half, cache, det)
    faces = lfw_faces(Path(args.lfw), args.half, cache, det, hog)
    lfw_cov = np.array([f[4] for f in faces if f[4] is not None])
    bal = [COVARIATES.index(c) for c in args.balance_on]
    w_real, w_lfw = overlap_weights(real_cov[:, bal], lfw_cov[:, bal])
    weigh = overlap_weigher(real_cov[:, bal], lfw_cov[:, bal])
    print(f"half {args.half}: {len(real)} real faces, {len(faces)} lfw faces "
          f"({time.perf_counter() - t0:.0f} s detection incl. cache)")  # fmt: skip
    rows: dict[str, dict] = {}
    if not args.no_baselines:
        rng = np.random.default_rng(0)
        perm = rng.permutation(len(real))
        a, b = real[perm[: len(real) // 2]], real[perm[len(real) // 2 :]]
        # the real faces' own overlap weights, fixed (the halves are not weighted to each other)
        wa, wb = w_real[perm[: len(real) // 2]], w_real[perm[len(real) // 2 :]]
        wa, wb = wa / wa.mean(), wb / wb.mean()
        rows["real vs real"] = compare_row(a, b, wa, wb, lambda tr, te: np.r_[wa, wb])
        flat, _ = ours_stats(faces, lambda p, img, lm: flat_fill(img, lm), "flat")
        rows["flat fill"] = compare_row(real, flat, w_real, w_lfw, weigh)
    sheet: list = []
    runs = [(spec, look) for look in args.look or [{}] for spec in args.spec or ["mask"]]
    for spec, look in runs:
        base = spec
        if look:
            spec = f"{base} look({','.join(f'{k}={v}' for k, v in look.items())})"
        ours, ms = ours_stats(faces, spec_renderer(base, args.assets_dir, look), spec, sheet)
        assert len(ours) == len(lfw_cov), "a face with statistics but no covariates"
        rows[spec] = compare_row(real, ours, w_real, w_lfw, weigh)
        if args.spread:
            print_spread(rows[spec], real, ours, real_cov[:, bal], lfw_cov[:, bal], args.spread)
        if (base, look) == runs[0]:
            first = (spec, ours)
        rows[spec]["face_floor_auc"] = face_floor(real, ours)
        print(f"{spec}: render {ms:.2f} ms/face (measured under load); the faces alone (upper-face "
              f"saturation, no mask pixel) give AUC {rows[spec]['face_floor_auc']:.3f}")  # fmt: skip
    print_table(rows, real)
    confound = print_confound(real, real_cov, lfw_cov, first[1], first[0], args.balance_on)
    print_deconf_table(rows, args.balance_on, real, w_real)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
        Path(args.json).with_suffix(".confound.json").write_text(json.dumps(confound, indent=1))
    if args.compare:
        print_compare(rows, json.loads(Path(args.compare).read_text()))
    if args.sheet and sheet:
        _cv2.imwrite(args.sheet, _cv2.cvtColor(np.hstack(sheet[:8]), _cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
