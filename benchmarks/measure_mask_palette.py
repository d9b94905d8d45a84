"""Measure the colours of real masks on rwmfd-dev (the data behind ``palette.REAL_MASK_COLORS``).

For every face MTCNN finds in the **tune** half of rwmfd-dev (the batches ``bench_realism.py``
does not report on; same detection and cache), the median RGB of the mask's core (eye frame
x in [-0.45, 0.45], y in [0.9, 1.4]: mouth and chin, inside any worn mask) is one sample. The
samples are clustered with k-means in CIE Lab (k = ``--k``, seeded, 20 restarts); each cluster's
median colour and share are printed as the Python literal to paste into
``maskforge/occlude/palette.py``.

With ``--upper`` it prints instead the median mean luminance of the same faces' upper face
(eye frame x in [-0.93, 0.93], y in [-0.36, 0.05]: the box of brow and eye landmarks
``camera.measure_camera`` reads, on the canonical face): the exposure at which those colours
were photographed, ``camera.REF_LUMINANCE``.

Usage: python benchmarks/measure_mask_palette.py [--rwmfd DIR] [--k 10] [--cache DIR] [--upper]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_realism import ROOT, _cached, _decode, half_of, mtcnn_eyes  # noqa: E402
from realism_stats import box_inside, eye_coords, region  # noqa: E402

CORE = (-0.45, 0.45, 0.9, 1.4)
UPPER = (-0.93, 0.93, -0.36, 0.05)


def samples(rwmfd: Path, cache: Path, det, box: tuple = CORE) -> np.ndarray:
    """Per face of the tune half: the median RGB in ``box`` (CORE), or with ``box`` = UPPER
    the mean luminance there, (1,) per face."""
    out = []
    for p in sorted(rwmfd.glob("*/*.jpg")):
        if half_of(f"{p.parent.name}/{p.name}") != "tune":
            continue
        img = _decode(p)
        eyes = _cached(cache, f"mtcnn:{p}", lambda img=img: {"eyes": mtcnn_eyes(det, img)})["eyes"]
        if len(eyes) != 2 or not box_inside(img.shape[:2], eyes[0], eyes[1], box):
            continue
        ex, ey = eye_coords(img.shape[:2], eyes[0], eyes[1])
        pix = img[region(ex, ey, box)]
        if box == UPPER:
            out.append([float((pix.astype(np.float32) @ [0.299, 0.587, 0.114]).mean())])
        else:
            out.append(np.median(pix, axis=0))
    return np.array(out, np.float32)


def kmeans(lab: np.ndarray, k: int) -> np.ndarray:
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 0.1)
    cv2.setRNGSeed(0)
    _, labels, _ = cv2.kmeans(lab, k, None, crit, 20, cv2.KMEANS_PP_CENTERS)
    return labels.ravel()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rwmfd", default=str(ROOT.parent / "shared/faces/rwmfd-dev"))
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--cache", default="/tmp/maskforge-realism-cache")
    ap.add_argument("--upper", action="store_true", help="the upper face's luminance instead")
    args = ap.parse_args()
    from maskforge.detect import make_detector

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    det = make_detector("mtcnn", device="cpu", min_face_size=40)
    if args.upper:
        lum = samples(Path(args.rwmfd), cache, det, UPPER)[:, 0]
        print(f"# {len(lum)} faces (rwmfd-dev tune half): upper-face luminance median "
              f"{np.median(lum):.1f} (quartiles {np.percentile(lum, 25):.1f} .. {np.percentile(lum, 75):.1f})")  # fmt: skip
        return
    rgb = samples(Path(args.rwmfd), cache, det)
    lab = cv2.cvtColor(rgb[None].astype(np.uint8), cv2.COLOR_RGB2LAB)[0].astype(np.float32)
    labels = kmeans(lab, args.k)
    print(f"# {len(rgb)} masks (rwmfd-dev tune half), k-means k={args.k} in Lab")
    rows = []
    for c in range(args.k):
        sel = rgb[labels == c]
        med = np.median(sel, axis=0).round().astype(int)
        hsv = cv2.cvtColor(med[None, None].astype(np.uint8), cv2.COLOR_RGB2HSV)[0, 0]
        rows.append((len(sel), "#{:02x}{:02x}{:02x}".format(*med), int(hsv[1])))
    for n, hexc, sat in sorted(rows, reverse=True):
        print(f'    ("{hexc}", {n / len(rgb):.3f}),  # n={n}, HSV saturation {sat}/255')
    print("# per family of colour (median of the samples in it):")
    for fam, n, hexc in families(rgb):
        print(f'#   {fam}: "{hexc}" (n={n})')


def families(rgb: np.ndarray) -> list[tuple[str, int, str]]:
    """Median colour of the samples per family: white/light (HSV V > 0.7, S < 0.12), black/dark
    (V < 0.3), grey (the other S < 0.12), blue (hue 180-250 degrees), teal/green (hue 90-180),
    pink/red (hue < 20 or > 300)."""
    hsv = cv2.cvtColor(rgb[None].astype(np.uint8), cv2.COLOR_RGB2HSV_FULL)[0].astype(np.float32)
    h, s, v = hsv[:, 0] * 360 / 256, hsv[:, 1] / 255, hsv[:, 2] / 255
    sets = {
        "black": v < 0.3,
        "white": (v > 0.7) & (s < 0.12),
        "grey": (v >= 0.3) & (v <= 0.7) & (s < 0.12),
        "blue": (v >= 0.3) & (s >= 0.12) & (h >= 180) & (h < 250),
        "teal/green": (v >= 0.3) & (s >= 0.12) & (h >= 90) & (h < 180),
        "pink/red": (v >= 0.3) & (s >= 0.12) & ((h < 20) | (h > 300)),
    }
    out = []
    for fam, sel in sets.items():
        if sel.any():
            med = np.median(rgb[sel], axis=0).round().astype(int)
            out.append((fam, int(sel.sum()), "#{:02x}{:02x}{:02x}".format(*med)))
    return out


if __name__ == "__main__":
    main()
