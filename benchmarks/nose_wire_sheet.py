"""Crop sheet of the nose-wire crease: the nose bridge of a few lfw-dev faces, without / with it.

Rows: the first ``--count`` faces dlib finds in the sorted lfw-dev images (every ``--step``-th
image). Columns: per spec, the mask rendered with ``nose_wire = false`` then ``true`` (same seed,
so nothing else differs), cropped to 1.5 IOD around landmark 29 and resized to ``--tile`` px.

LFW is research-only: write the sheet outside the repository (e.g. /tmp) and do not commit it.

Usage: python benchmarks/nose_wire_sheet.py OUT.png [--lfw DIR] [--count 5] [--step 23]
           [--tile 180] [--spec surgical-blue --spec kn95 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maskforge.detect import make_detector, select_face  # noqa: E402
from maskforge.io.decode import decode_image  # noqa: E402
from maskforge.occlude import render_occluder  # noqa: E402
from maskforge.occlude.anchors import eye_frame  # noqa: E402
from maskforge.occlude.look import PhotoLook  # noqa: E402
from maskforge.seeding import SHEET, rng_for  # noqa: E402

SPECS = ["surgical-blue", "surgical-white", "kn95", "kn95-black"]


def _faces(src: Path, count: int, step: int) -> list[tuple[np.ndarray, np.ndarray]]:
    det = make_detector("dlib-hog")
    out = []
    for p in sorted(src.glob("*/*.jpg"))[::step]:
        img = decode_image(p)
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        if face is not None:
            out.append((img, np.asarray(face.landmarks68, np.float64)))
        if len(out) == count:
            break
    return out


def _crop(image: np.ndarray, lm: np.ndarray, tile: int) -> np.ndarray:
    """The 1.5 IOD square around landmark 29, resized to ``tile`` px (cubic)."""
    r = int(0.75 * float(np.hypot(*eye_frame(lm)[0])))
    cx, cy = (int(v) for v in lm[29])
    pad = cv2.copyMakeBorder(image, r, r, r, r, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    crop = pad[cy - int(0.8 * r) + r : cy + int(1.2 * r) + r, cx : cx + 2 * r]
    return cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_CUBIC)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--lfw", default=str(ROOT.parent / "shared/faces/lfw-dev"))
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--step", type=int, default=23)
    ap.add_argument("--tile", type=int, default=180)
    ap.add_argument("--spec", action="append", default=[])
    args = ap.parse_args()
    specs = args.spec or SPECS
    rows = []
    for i, (img, lm) in enumerate(_faces(Path(args.lfw), args.count, args.step)):
        cells = []
        for spec in specs:
            for on in (False, True):
                look = PhotoLook(nose_wire=on)
                res = render_occluder(img, lm, spec, rng_for(0, SHEET, i), look=look)
                cell = _crop(res.image, lm, args.tile)
                gap = 8 if on else 0  # a wider gap after each pair
                white = (255, 255, 255)
                cells.append(cv2.copyMakeBorder(cell, 2, 2, 2, gap, cv2.BORDER_CONSTANT, value=white))
        rows.append(np.hstack(cells))
    sheet = np.vstack(rows)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    size = f"{sheet.shape[1]}x{sheet.shape[0]} px"
    print(f"{args.out}: {len(rows)} faces x {len(specs)} specs (off | on), {size}")


if __name__ == "__main__":
    main()
