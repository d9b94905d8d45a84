"""Mask placement from Face Mesh's 68 points against placement from dlib's, judged by dlib's points.

    python benchmarks/bench_mesh_placement.py [--lfw DIR] [--limit 200] [--tolerance 2]
                                              [--split all|even|odd] [--jaw D:I,...]

For each lfw-dev image where dlib-hog and BlazeFace both find a face, each mask spec is rendered
twice (same seed): from dlib's 68 points and from the 68 derived from Face Mesh
(``maskforge.detect.mesh68``). Both renders are judged against dlib's 68 points of the original
image (the reference of docs/occluders.md): ``cover`` = nose 30-35 + mouth 48-67 + chin 6-10 points
with a changed pixel within ``--tolerance`` pixels; ``chin`` the same for 6-10; ``eyes clear`` =
faces with no changed pixel within ``--tolerance`` of an eye point (36-47); ``spill`` = share of the
mask's pixels outside the face outline (jaw 0-16 + brow line). Tolerance 0 is bench_overlay's rule.

``--split even|odd`` keeps the identities at even / odd positions of the sorted identity folders
(the halves of ``benchmarks/derive_mesh68.py``): calibrate on one, report on the other.
``--jaw D:I,...`` places from the mesh with the jaw correction ``chin_drop = D``, ``jaw_inset = I``
of ``mesh68.mesh_to_68`` instead of the library's ``CHIN_DROP``, ``JAW_INSET`` (one mesh-68 row
per pair; ``0:0`` is the plain table), to calibrate them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPECS = ("surgical", "n95", "kn95", "cloth")


def near(region: np.ndarray, points: np.ndarray, tol: int) -> np.ndarray:
    """Per point: is a ``region`` pixel within ``tol`` pixels (square neighbourhood)?"""
    if tol > 0:
        region = cv2.dilate(region.astype(np.uint8), np.ones((2 * tol + 1,) * 2, np.uint8)) > 0
    h, w = region.shape
    pts = np.round(points).astype(int)
    ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    hit = np.zeros(len(pts), bool)
    hit[ok] = region[pts[ok, 1], pts[ok, 0]]
    return hit


def judge(before, after, mask, ref68, tol):  # noqa: ANN001, ANN201
    from maskforge.occlude.quality import CHIN, EYES, MOUTH, NOSE, changed_pixels, face_outline_mask

    changed = changed_pixels(before, after)
    outline = face_outline_mask(ref68, changed.shape)
    return (
        near(changed, ref68[NOSE + MOUTH + CHIN], tol).mean(),
        near(changed, ref68[CHIN], tol).mean(),
        not near(changed, ref68[EYES], tol).any(),
        float((mask & ~outline).sum() / max(1, mask.sum())),
    )


def main() -> None:
    from maskforge.detect import make_detector, select_face
    from maskforge.detect.blazeface import BlazeFaceDetector
    from maskforge.detect.facemesh import FaceMesh
    from maskforge.detect.mesh68 import CHIN_DROP, JAW_INSET, mesh_to_68
    from maskforge.io.decode import decode_image
    from maskforge.occlude import render_occluder
    from maskforge.seeding import rng_for

    default = os.environ.get("MASKFORGE_LFW_DIR") or str(ROOT.parent / "shared/faces/lfw-dev")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", default=default)
    ap.add_argument("--limit", type=int, default=200, help="images (evenly spread over lfw-dev)")
    ap.add_argument("--tolerance", type=int, default=2, help="pixels")
    ap.add_argument("--split", choices=("all", "even", "odd"), default="all", help="identities")
    ap.add_argument("--jaw", default=None, help="chin_drop:jaw_inset pairs to try, comma-separated")
    args = ap.parse_args()
    paths = sorted(Path(args.lfw).glob("*/*.jpg"))
    if args.split != "all":
        ids = sorted({p.parent.name for p in paths})
        parity = 0 if args.split == "even" else 1
        paths = [p for p in paths if ids.index(p.parent.name) % 2 == parity]
    paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
    images = [decode_image(p) for p in paths]
    hog, blaze, mesh = make_detector("dlib-hog"), BlazeFaceDetector(device="cpu"), FaceMesh("cpu")
    rows = []
    for im, fd, fb in zip(images, hog.detect(images), blaze.detect(images), strict=True):
        a, _ = select_face(fd, im.shape, "center-weighted")
        b, _ = select_face(fb, im.shape, "center-weighted")
        if a is not None and b is not None:
            rows.append((im, a.landmarks68, b))
    meshes, _ = mesh([r[0] for r in rows], [r[2] for r in rows])
    pairs = args.jaw.split(",") if args.jaw else [f"{CHIN_DROP}:{JAW_INSET}"]
    jaws = [tuple(float(v) for v in pair.split(":")) for pair in pairs]
    print(
        f"{len(rows)} faces of {len(images)} images (identities: {args.split}); tolerance "
        f"{args.tolerance} px; library CHIN_DROP {CHIN_DROP}, JAW_INSET {JAW_INSET}"
    )
    print(
        f"  {'spec':10s} {'points':18s} {'cover':>6s} {'chin':>6s} {'eyes clear':>10s} {'spill':>7s}"
    )
    for spec in SPECS:
        for label, jaw in [("dlib-68", None)] + [(f"mesh-68 {d:g}:{i:g}", (d, i)) for d, i in jaws]:
            stats = []
            for i, ((im, ref68, _), m) in enumerate(zip(rows, meshes, strict=True)):
                lm = ref68 if jaw is None else mesh_to_68(m, *jaw)
                r = render_occluder(im, lm, spec, rng_for(0, i))
                stats.append(judge(im, r.image, r.mask, ref68, args.tolerance))
            s = np.array(stats, np.float64)
            print(
                f"  {spec:10s} {label:18s} {s[:, 0].mean():6.3f} {s[:, 1].mean():6.3f} "
                f"{100 * s[:, 2].mean():9.2f}% {100 * s[:, 3].mean():6.2f}%",
                flush=True,
            )


if __name__ == "__main__":
    main()
