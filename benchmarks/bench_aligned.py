"""Aligned input (``[detect] aligned = "arcface-112"``) against the detecting path, on the same
112x112 ArcFace crops: images/s, faces found and the masked share.

    python benchmarks/bench_aligned.py [--lfw DIR] [--limit N] [--repeat 2]

The crops are made by maskforge itself from lfw-dev (detect with dlib-hog, align to the ArcFace
112 template, JPEG q95, as insightface's packs store them), in a temporary folder. Then, on one
thread, chunk by chunk (32 crops, best of ``--repeat``, the two loops alternating so that both
see the same load):

- ``aligned``: ``DetectStage(aligned="arcface-112")``: template 5 points, 68 points predicted on
  the template box, no detector;
- ``detecting``: ``DetectStage()`` (dlib-hog with its upsample fallback) on the same crops, what
  a run would do without ``aligned``.

Both include decoding. A face counts as masked when a surgical mask rendered on its 68 points
(``render_occluder``, seeded per crop) covers the mouth centre (mean of points 48-67) and the
point between nose tip and upper lip (33-51 midpoint).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

cv2.setNumThreads(1)

ROOT = Path(__file__).resolve().parent.parent
BATCH = 32


def make_crops(paths: list[Path], folder: Path) -> list[Path]:
    """ArcFace 112 crops of ``paths`` by maskforge's detect + align, as JPEG files in ``folder``."""
    from maskforge.detect import AlignedFace, DetectStage
    from maskforge.io.decode import decode_image, encode_image

    stage = DetectStage({"size": 112, "template": "arcface"})
    out = []
    for start in range(0, len(paths), BATCH):
        chunk = paths[start : start + BATCH]
        for p, face in zip(chunk, stage([decode_image(p) for p in chunk]), strict=True):
            if isinstance(face, AlignedFace):
                target = folder / f"{p.parent.name}__{p.stem}.jpg"
                target.write_bytes(encode_image(face.image, "jpeg", 95))
                out.append(target)
    return out


def is_masked(face, key: str) -> bool:
    """A surgical mask on ``face``'s 68 points covers the mouth centre and the philtrum."""
    from maskforge.occlude import render_occluder
    from maskforge.seeding import rng_for

    res = render_occluder(face.image, face.landmarks68, "surgical-blue", rng_for(0, "bench", key))
    lm = face.landmarks68
    points = [lm[48:68].mean(0), (lm[33] + lm[51]) / 2]
    h, w = res.mask.shape[:2]
    return all(res.mask[min(h - 1, max(0, round(y))), min(w - 1, max(0, round(x)))] for x, y in points)


def timed(stage, blobs: list[bytes], decode) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = stage([decode(b) for b in blobs])
    return time.perf_counter() - t0, out


def main() -> None:
    default_lfw = os.environ.get("MASKFORGE_LFW_DIR") or str(ROOT.parent / "shared/faces/lfw-dev")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", default=default_lfw, help="folder of LFW identity folders")
    ap.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each loop (best kept)")
    args = ap.parse_args()

    from maskforge.detect import AlignedFace, DetectStage
    from maskforge.io.decode import decode_image

    paths = sorted(Path(args.lfw).glob("*/*.jpg"))
    if args.limit:
        paths = paths[: args.limit]
    if not paths:
        raise SystemExit(f"no images under {args.lfw}")
    with tempfile.TemporaryDirectory() as tmp:
        crops = make_crops(paths, Path(tmp))
        blobs = [c.read_bytes() for c in crops]
    print(f"lfw-dev: {len(paths)} images -> {len(crops)} ArcFace 112x112 crops (maskforge detect + align)")
    stages = {"aligned": DetectStage({"aligned": "arcface-112", "size": 112}), "detecting": DetectStage({"size": 112})}
    for s in stages.values():
        s.load_models()
    seconds = dict.fromkeys(stages, 0.0)
    results: dict[str, list] = {k: [] for k in stages}
    for start in range(0, len(blobs), BATCH):
        chunk = blobs[start : start + BATCH]
        for name, stage in stages.items():
            best, out = min((timed(stage, chunk, decode_image) for _ in range(args.repeat)), key=lambda r: r[0])
            seconds[name] += best
            results[name].extend(out)
    base = seconds["detecting"] / len(blobs)
    for name in stages:
        faces = [(i, f) for i, f in enumerate(results[name]) if isinstance(f, AlignedFace)]
        masked = sum(is_masked(f, str(crops[i].name)) for i, f in faces)
        rate = len(blobs) / seconds[name]
        print(f"{name:>9}: {rate:7.1f} images/s ({base / (seconds[name] / len(blobs)):5.2f}x detecting); "
              f"faces {len(faces)}/{len(blobs)} ({len(faces) / len(blobs):.1%}); "
              f"masked {masked}/{len(blobs)} ({masked / len(blobs):.1%})")


if __name__ == "__main__":
    main()
