"""Augmentation throughput, images per CPU-second on one core (cv2.setNumThreads(1)).

    python benchmarks/bench_augment.py [--seconds 0.4] [--sizes 112 250]

For each size: the reference pipeline (default probabilities, and every transform forced on),
each transform alone (p=1), and in the same run a baseline of bare cv2/numpy calls doing the
same pixel work without maskforge's bookkeeping (Targets, params, landmarks, records), plus a
plain copy loop. Images are LFW faces resized to the size (or synthetic if lfw-dev is absent),
carrying 68 + 5 landmarks and a box; occluders are not included.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from maskforge.augment import REGISTRY, Compose, Targets, build_pipeline
from maskforge.augment.config import REFERENCE_AUGMENT
from maskforge.seeding import rng_for

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"rotate": {"limit": 10}, "color_jitter": {"hue": 10}}


def load_images(size: int, n: int = 32) -> list[np.ndarray]:
    lfw = Path(os.environ.get("MASKFORGE_LFW_DIR", ROOT.parent / "shared" / "faces" / "lfw-dev"))
    paths = sorted(lfw.glob("*/*.jpg"))[:: max(1, len(sorted(lfw.glob("*/*.jpg"))) // n or 1)][:n]
    images = []
    for p in paths:
        bgr = cv2.imread(str(p))
        if bgr is not None:
            images.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (size, size), interpolation=cv2.INTER_AREA))
    if not images:  # synthetic fallback: smooth colour gradients plus texture
        g = np.random.default_rng(0)
        for _ in range(n):
            base = cv2.resize(g.integers(0, 256, (8, 8, 3), dtype=np.uint8), (size, size))
            images.append(cv2.add(base, g.integers(0, 30, (size, size, 3), dtype=np.uint8)))
    return images


def targets_for(image: np.ndarray) -> Targets:
    s = image.shape[0]
    g = np.random.default_rng(0)
    lm68 = np.column_stack([g.uniform(0.25, 0.75, 68), g.uniform(0.3, 0.85, 68)]) * s
    lm5 = np.column_stack([g.uniform(0.3, 0.7, 5), g.uniform(0.35, 0.75, 5)]) * s
    return Targets(image, lm5, lm68, [0.15 * s, 0.15 * s, 0.85 * s, 0.95 * s])


def rate(fn: Callable[[int], object], seconds: float) -> float:
    """Images per CPU-second of this process (= per core, as everything runs on one thread):
    best of 3 runs of ~seconds/3 each. CPU time rather than wall time keeps the figure honest on
    a machine shared with other jobs."""
    fn(0)
    best = 0.0
    for _ in range(3):
        n, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds / 3:
            for _ in range(16):
                fn(n)
                n += 1
        best = max(best, n / elapsed)
    return best


def bare_ops(size: int) -> dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]]:
    """The same pixel work as each transform, as bare cv2/numpy calls."""
    crop_m = np.array([[1.15, 0, 0.075 - 8], [0, 1.15, 0.075 - 8]])
    rot_m = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), 7.0, 1.0)
    lut = np.clip(np.arange(256) * 1.2, 0, 255).astype(np.uint8)

    def impulse(img, g):
        out = img.copy()
        n = int(0.015 * out.size)
        out.reshape(-1)[g.integers(0, out.size, n)] = g.integers(0, 2, n, dtype=np.uint8) * 255
        return out

    def gauss(img, g):
        noise = g.standard_normal(img.shape, dtype=np.float32) * 7
        return np.clip(img + noise, 0, 255).astype(np.uint8)  # the obvious numpy way

    def jpeg(img, g):
        return cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_COLOR)

    hue = np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (1, 1, 3))
    hue[0, :180, 0] = (np.arange(180) + 5) % 180

    def jitter(img, g):
        img = cv2.convertScaleAbs(img, alpha=1.1, beta=-10)
        grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        img = cv2.addWeighted(img, 0.9, grey, 0.1, 0)
        return cv2.cvtColor(cv2.LUT(cv2.cvtColor(img, cv2.COLOR_RGB2HSV), hue), cv2.COLOR_HSV2RGB)

    def cutout(img, g):
        out = img.copy()
        out[size // 2 :, size // 5 : 4 * size // 5] = 128
        return out

    return {
        "crop": lambda img, g: cv2.warpAffine(img, crop_m, (size, size), borderMode=cv2.BORDER_REFLECT_101),
        "rotate": lambda img, g: cv2.warpAffine(img, rot_m, (size, size), borderMode=cv2.BORDER_REFLECT_101),
        "flip": lambda img, g: cv2.flip(img, 1),
        "brightness": lambda img, g: cv2.LUT(img, lut),
        "color_jitter": jitter,
        "blur": lambda img, g: cv2.GaussianBlur(img, (0, 0), 1.0),
        "impulse_noise": impulse,
        "gaussian_noise": gauss,
        "jpeg": jpeg,
        "cutout": cutout,
    }


def bench_size(size: int, seconds: float) -> None:
    images = load_images(size)
    ts = [targets_for(im) for im in images]
    k = len(ts)
    ops = bare_ops(size)
    print(f"\n== {size}x{size} ({k} images) ==   images/s per core")
    print(f"{'':34s}{'maskforge':>12s}{'bare cv2':>12s}{'ratio':>8s}")
    copy_rate = rate(lambda i: images[i % k].copy(), seconds)
    print(f"{'copy loop (baseline)':34s}{'':>12s}{copy_rate:12.0f}")

    ref_names = build_pipeline(None).names
    typical = build_pipeline(None)
    forced = build_pipeline(
        {"preset": "none", **{n: {**REFERENCE_AUGMENT[n], "p": 1.0} for n in ref_names}}
    )

    def run_pipe(pipe: Compose) -> Callable[[int], object]:
        # one generator per image, exactly as apply_variant derives it
        return lambda i: pipe(ts[i % k], rng_for(1, f"s{i}", "aug", 0, "augment"))

    def bare_chain(i: int) -> np.ndarray:
        g = np.random.default_rng(i)
        img = images[i % k]
        for name in ref_names:
            img = ops[name](img, g)
        return img

    bare_ref = rate(bare_chain, seconds)
    r = rate(run_pipe(typical), seconds)
    print(f"{'reference pipeline (default p)':34s}{r:12.0f}")
    r = rate(run_pipe(forced), seconds)
    print(f"{'reference pipeline (all p=1)':34s}{r:12.0f}{bare_ref:12.0f}{r / bare_ref:8.2f}")
    for name, cls in REGISTRY.items():
        r = rate(run_pipe(Compose([cls(p=1.0, **OPTIONS.get(name, {}))])), seconds)
        op = ops[name]
        b = rate(lambda i, op=op: op(images[i % k], np.random.default_rng(i)), seconds)
        print(f"{'  ' + name:34s}{r:12.0f}{b:12.0f}{r / b:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=0.45, help="time per measurement")
    ap.add_argument("--sizes", type=int, nargs="+", default=[112, 250])
    args = ap.parse_args()
    cv2.setNumThreads(1)
    print(f"cv2 {cv2.__version__}, numpy {np.__version__}, cv2 threads={cv2.getNumThreads()}, one process")
    for size in args.sizes:
        bench_size(size, args.seconds)


if __name__ == "__main__":
    main()
