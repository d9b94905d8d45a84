"""Draw stand-ins for photographed occluder PNGs (cut-out masks and glasses with transparency).

No photographs of masks can be shipped or downloaded here, so this script draws PNGs the way a
cut-out photograph looks to the importer: one opaque piece on a transparent background, uneven
outline, baked-in lighting, fabric texture with noise, printed pattern, thin ear loops, and for
turned heads an asymmetric side template. They feed ``maskforge assets import`` for the quality
figures and contact sheets of docs/occluders.md.

Usage: python benchmarks/photo_masks.py OUT_DIR
    writes the PNGs into OUT_DIR/png and imports them (as `maskforge assets import` does) into
    OUT_DIR/assets: photo-surgical (front, left and right templates; also as nose_exposed and
    chin), photo-cloth (and photo-cloth-dye: the same, --colorable), photo-kn95, photo-glasses,
    photo-sunglasses. OUT_DIR must not exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def _noise(h: int, w: int, rng: np.random.Generator, cell: float) -> np.ndarray:
    """Smooth noise in about -1..1 with features of ``cell`` px."""
    small = rng.standard_normal((int(h / cell) + 2, int(w / cell) + 2)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def photo_mask(
    style: str = "surgical", seed: int = 0, turn: float = 0.0, size: tuple[int, int] = (640, 420)
) -> np.ndarray:
    """(H, W, 4) uint8 straight RGBA of a photo-like mask. ``style``: surgical (blue, pleats),
    cloth (printed fabric), kn95 (white folded panels); ``turn`` in -1..1 squeezes one side
    (a mask photographed on a turned head: > 0 narrows the image's right half)."""
    rng = np.random.default_rng(seed)
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # the far half (the side the nose points to) is foreshortened on a turned head
    half_l = w * 0.40 * (1 - 0.45 * max(-turn, 0.0))
    half_r = w * 0.40 * (1 - 0.45 * max(turn, 0.0))
    cx = w * 0.1 + half_l
    u = np.where(xs < cx, (xs - cx) / half_l, (xs - cx) / half_r)  # -1..1 across
    top = h * (0.18 + 0.07 * u**2 + (0.02 * np.abs(u) if style == "kn95" else 0.0))
    bottom = h * (0.80 + 0.10 * np.clip(1 - u**2, 0, 1) ** 1.5 - 0.04 * u**2)
    wobble = 1.5 * _noise(1, w, rng, 40.0)[0]
    d = np.minimum.reduce(
        [ys - top - wobble, bottom - ys + wobble, (1 - np.abs(u)) * min(half_l, half_r)]
    )
    alpha = np.clip(d / 1.5 + 0.5, 0, 1)
    v = np.clip((ys - top) / np.maximum(bottom - top, 1), 0, 1)
    grain = 0.05 * _noise(h, w, rng, 1.5) + 0.04 * _noise(h, w, rng, 6.0)
    light = 1.0 - 0.25 * u**2 - 0.12 * v + 0.06 * (1 - u) * 0.5
    if style == "surgical":
        base = np.array([0.42, 0.66, 0.86], np.float32)
        for vk in (0.28, 0.5, 0.72):
            t = (v - vk) * 30
            light = light - 0.22 * np.exp(-(t**2)) + 0.10 * np.exp(-((t - 1.8) ** 2))
    elif style == "cloth":
        base = np.array([0.20, 0.24, 0.40], np.float32)
        dots = (np.sin(xs * 0.22) * np.sin(ys * 0.22) > 0.75).astype(np.float32)
        grain = grain + 0.5 * cv2.GaussianBlur(dots, (3, 3), 0)
    else:
        base = np.array([0.93, 0.93, 0.91], np.float32)
        light = light - 0.25 * np.exp(-(((xs - cx) / 3.0) ** 2)) - 0.10 * (u < 0)
    rgb = base[None, None, :] * light[..., None] + grain[..., None] * (
        0.5 if style != "cloth" else 0.6
    )
    rgb = np.clip(rgb, 0, 1)
    img = np.dstack([rgb, alpha])
    # ear loops: thin, joined to the top corners
    loops = np.zeros((h, w), np.uint8)
    for sgn, half in ((-1, half_l), (1, half_r)):
        x0 = int(cx + sgn * half * 0.98)
        y0 = int(h * 0.25)
        pts = np.array(
            [[x0, y0], [x0 + sgn * 30, y0 + 20], [x0 + sgn * 40, y0 + 120], [x0, int(h * 0.7)]],
            np.int32,
        )
        cv2.polylines(loops, [pts], False, 255, 3, cv2.LINE_AA)
    la = loops.astype(np.float32) / 255.0
    img = (
        img * (1 - la[..., None])
        + np.dstack([np.full((h, w, 3), 0.92, np.float32), np.ones((h, w))]) * la[..., None]
    )
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    out[out[..., 3] == 0, :3] = rng.integers(
        0, 255, (int((out[..., 3] == 0).sum()), 3)
    )  # junk colour
    return out


def photo_glasses(size: tuple[int, int] = (600, 220), dark: bool = False) -> np.ndarray:
    """(H, W, 4) uint8 RGBA of photo-like glasses: a tortoiseshell frame, clear (or dark) lenses."""
    w, h = size
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    frame = np.zeros((h, w), np.float32)
    lens = np.zeros((h, w), np.float32)
    for cx in (w * 0.29, w * 0.71):
        e = np.hypot((xs - cx) / (w * 0.19), (ys - h * 0.52) / (h * 0.30))
        lens = np.maximum(lens, np.clip((1 - e) * 60, 0, 1))
        frame = np.maximum(frame, np.clip((0.09 - np.abs(e - 1.0)) * 60, 0, 1))
    bridge = (np.abs(xs - w / 2) < w * 0.05) & (np.abs(ys - h * 0.36) < 6)
    frame = np.maximum(frame, bridge.astype(np.float32))
    for x0, x1 in ((0, w * 0.1), (w * 0.9, w)):
        frame = np.maximum(
            frame, ((xs >= x0) & (xs < x1) & (np.abs(ys - h * 0.3) < 5)).astype(np.float32)
        )
    tort = np.array([0.35, 0.2, 0.1], np.float32) * (0.7 + 0.3 * _noise(h, w, rng, 8.0)[..., None])
    lens_rgb = np.array([0.1, 0.1, 0.12] if dark else [0.85, 0.9, 0.95], np.float32)
    la = lens * (1 - frame) * (0.85 if dark else 0.12)
    a = frame + la
    rgb = (tort * frame[..., None] + lens_rgb * la[..., None]) / np.maximum(a, 1e-6)[..., None]
    return np.clip(np.dstack([rgb, a]) * 255 + 0.5, 0, 255).astype(np.uint8)


IMPORTS = [  # (PNG, kind, name, wear, side, colorable)
    ("photo-surgical.png", "mask", None, "correct", "front", False),
    ("photo-surgical-left.png", "mask", "photo-surgical", "correct", "left", False),
    ("photo-surgical-right.png", "mask", "photo-surgical", "correct", "right", False),
    ("photo-surgical.png", "mask", "photo-surgical", "nose_exposed", "front", False),
    ("photo-surgical.png", "mask", "photo-surgical", "chin", "front", False),
    ("photo-cloth.png", "mask", None, "correct", "front", False),
    ("photo-cloth.png", "mask", "photo-cloth-dye", "correct", "front", True),
    ("photo-kn95.png", "mask", None, "correct", "front", False),
    ("photo-glasses.png", "glasses", None, "correct", "front", False),
    ("photo-sunglasses.png", "sunglasses", None, "correct", "front", False),
]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from maskforge.occlude.importer import import_assets

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "photo-masks")
    if out.exists():
        sys.exit(f"{out} exists; give a new folder")
    (out / "png").mkdir(parents=True)
    items = {
        "photo-surgical.png": photo_mask("surgical", 0),
        "photo-cloth.png": photo_mask("cloth", 1),
        "photo-kn95.png": photo_mask("kn95", 2),
        "photo-surgical-left.png": photo_mask("surgical", 0, turn=-0.6),
        "photo-surgical-right.png": photo_mask("surgical", 0, turn=0.6),
        "photo-glasses.png": photo_glasses(),
        "photo-sunglasses.png": photo_glasses(dark=True),
    }
    for name, img in items.items():
        Image.fromarray(img, "RGBA").save(out / "png" / name)
    for png, kind, name, wear, side, dye in IMPORTS:
        done = import_assets([out / "png" / png], kind, out / "assets", name, wear, dye, side)
        for imp, _ in done:
            print(f"{imp.name}: {imp.summary}")
    print(f"wrote {len(items)} PNGs to {out / 'png'} and their assets to {out / 'assets'}")


if __name__ == "__main__":
    main()
