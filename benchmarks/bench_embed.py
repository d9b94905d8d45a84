"""Embed-stage throughput: dlib's native descriptor vs dlib-resnet (PyTorch), same chips, one run.

    python benchmarks/bench_embed.py [--lfw DIR] [--n 48] [--threads 1] [--device cpu]
                                     [--dtype auto] [--batch-size 64] [--compile] [--skip-native]
                                     [--gpu-faces 8192]

1. decodes --n lfw-dev images, runs the detect stage, and cuts dlib chips from the source images
   (dlib's 5-point predictor + get_face_chip geometry): prints the chip cost per face;
2. on those same chips, times dlib's ``compute_face_descriptor`` (the dlib-bin wheel, one core)
   and dlib-resnet in PyTorch on the CPU with --threads threads (float32, batch --batch-size),
   also with flip averaging: prints ms per face, faces/s, the speed-up over native and the
   largest component difference from native;
3. with --device cuda: dlib-resnet at --dtype (default float16) on --gpu-faces faces (the chips
   repeated) in batches of --batch-size (use 256+), after a warm-up: faces/s, and the cosine
   between float16 and float32 vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_chips(lfw: Path, n: int, threads: int):
    from maskforge.detect import AlignedFace, DetectConfig, DetectStage
    from maskforge.embed import make_embedder
    from maskforge.embed.chips import landmarks_to_source
    from maskforge.io.decode import decode_image

    paths = sorted(lfw.glob("*/*.jpg"))[:: max(1, len(list(lfw.glob("*/*.jpg"))) // n)][:n]
    images = [decode_image(p) for p in paths]
    faces = DetectStage(DetectConfig())(images)
    keep = [(images[i], f) for i, f in enumerate(faces) if isinstance(f, AlignedFace)]
    emb = make_embedder("dlib-resnet", device="cpu", threads=threads)
    t0 = time.perf_counter()
    chips = emb.chips(
        [img for img, _ in keep], [landmarks_to_source(f.landmarks5, f.transform) for _, f in keep]
    )
    dt = (time.perf_counter() - t0) / len(keep)
    print(f"chips: {len(chips)} faces, {dt * 1e3:.1f} ms per face (5-point predictor + warp)")
    return chips


def timed(fn, reps: int = 2) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cpu_bench(chips: np.ndarray, args: argparse.Namespace) -> None:
    from maskforge.embed import make_embedder

    n = len(chips)
    ref = None
    native_s = None
    if not args.skip_native:
        native = make_embedder("dlib-resnet-native", batch_size=args.batch_size)
        ref = native.embed_chips(chips)
        native_s = timed(lambda: native.embed_chips(chips), reps=1) / n
        print(f"native  dlib-bin compute_face_descriptor: {native_s * 1e3:7.1f} ms/face "
              f"{1 / native_s:8.1f} faces/s (1 core)")
    for flip in (False, True):
        emb = make_embedder("dlib-resnet", device="cpu", batch_size=args.batch_size,
                            threads=args.threads, compile=args.compile, flip=flip)
        out = emb.embed_chips(chips)  # warm-up (and torch.compile)
        per = timed(lambda e=emb: e.embed_chips(chips)) / n
        line = (f"torch   dlib-resnet fp32 {args.threads} thread(s){' flip' if flip else '':5}: "
                f"{per * 1e3:7.1f} ms/face {1 / per:8.1f} faces/s")
        if native_s:
            line += f"  {native_s / per:5.1f}x native"
        if ref is not None and not flip:
            line += f"  max |diff| {np.abs(out - ref).max():.1e}"
        print(line)


def gpu_bench(chips: np.ndarray, args: argparse.Namespace) -> None:
    from maskforge.embed import make_embedder

    reps = max(1, args.gpu_faces // len(chips))
    big = np.ascontiguousarray(np.concatenate([chips] * reps))
    emb = make_embedder("dlib-resnet", device=args.device, dtype=args.dtype,
                        batch_size=args.batch_size, compile=args.compile, require_cuda=True)
    fp32 = make_embedder("dlib-resnet", device=args.device, dtype="float32", batch_size=args.batch_size)
    emb.embed_chips(big[: args.batch_size * 2])  # warm-up: cudnn autotuning, compile
    dt = timed(lambda: emb.embed_chips(big), reps=3)
    a, b = emb.embed_chips(chips), fp32.embed_chips(chips)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"cuda    dlib-resnet {emb.dtype} batch {args.batch_size}: {len(big) / dt:10.0f} faces/s "
          f"({len(big)} faces, {dt:.2f} s); {emb.dtype} vs float32 cosine min {cos.min():.6f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "faces" / "lfw-dev")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--skip-native", action="store_true")
    ap.add_argument("--gpu-faces", type=int, default=8192)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    chips = load_chips(args.lfw, args.n, args.threads)
    if args.device.startswith("cuda"):
        gpu_bench(chips, args)
    else:
        cpu_bench(chips, args)


if __name__ == "__main__":
    main()
