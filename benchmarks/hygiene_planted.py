"""Planted hygiene cases on lfw-dev, embedded the pipeline's way (used by calibrate_hygiene.py).

For one half of lfw-dev's identities (``split_identities`` of bench_clean.py, seeded), this builds:

- ``copy``: byte-identical copies of images placed in another identity (exact duplicates);
- ``reencode`` (JPEG q 50-70), ``resize`` (0.6-0.9x, saved as JPEG q 90) and ``crop`` (3-8 % of
  width and height, split at random between the sides, JPEG q 90) copies of images, each placed
  either in the same identity (``within``) or in another identity (``across``);
- ``split``: identities of >= 6 images split in two folders (``Name`` and ``Name~b``);
- ``overlap``: a pairs file over a subset of identities: half of their images go to the
  evaluation set (held out of training), the other half stay in training, some under a spelled
  differently name (``Lastname, Firstname``) and some under an unrelated label; plus identities
  that are only in the evaluation set (must not be flagged).

Variants are decoded and embedded (DetectStage at size 112, dlib-resnet on chips cut from the
source image) and cached under /tmp.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_clean import embed_dataset, split_identities  # noqa: E402

from maskforge.hygiene.exact import bytes_hash, pixel_hash  # noqa: E402
from maskforge.hygiene.phash import phash  # noqa: E402
from maskforge.io.decode import decode_image, encode_image  # noqa: E402
from maskforge.seeding import rng_for  # noqa: E402

TRANSFORMS = ("reencode", "resize", "crop")


def embed_images(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(ok [N] bool, unit embeddings [N, 128]) the pipeline's way (zeros where no face)."""
    from maskforge.detect import AlignedFace, DetectConfig, DetectStage
    from maskforge.embed import make_embedder
    from maskforge.embed.chips import landmarks_to_source

    faces = DetectStage(DetectConfig(size=112))(images)
    ok = np.array([isinstance(f, AlignedFace) for f in faces])
    out = np.zeros((len(images), 128), np.float32)
    idx = np.flatnonzero(ok)
    if len(idx):
        emb = make_embedder("dlib-resnet", device="cpu")
        lms = [landmarks_to_source(faces[i].landmarks5, faces[i].transform) for i in idx]
        v = emb.embed_chips(emb.chips([images[i] for i in idx], lms))
        out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return ok, out


def transform(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """Encoded bytes of a modified copy and a description."""
    h, w = image.shape[:2]
    if kind == "reencode":
        q = int(rng.integers(50, 71))
        return encode_image(image, "jpeg", q), f"jpeg q{q}"
    if kind == "resize":
        s = float(rng.uniform(0.6, 0.9))
        small = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        return encode_image(small, "jpeg", 90), f"resize {s:.2f}"
    c = float(rng.uniform(0.03, 0.08))
    left, top = int(rng.uniform(0, c) * w), int(rng.uniform(0, c) * h)
    right, bottom = w - (round(c * w) - left), h - (round(c * h) - top)
    return encode_image(image[top:bottom, left:right], "jpeg", 90), f"crop {c:.1%}"


@dataclass
class Planted:
    """A training set with planted cases (arrays over its samples) and an evaluation set."""

    emb: np.ndarray
    identity: np.ndarray
    path: np.ndarray
    file_hash: list[str]
    pixel_hash: list[str]
    phash: np.ndarray
    source: np.ndarray  # index of the original sample a planted copy comes from, else -1
    case: np.ndarray  # "", "copy", "reencode-within", "crop-across", ...
    split_pairs: set[tuple[str, str]] = field(default_factory=set)
    eval_emb: np.ndarray | None = None
    eval_identity: np.ndarray | None = None
    overlap: dict[str, str] = field(default_factory=dict)  # training identity -> eval identity
    eval_only: set[str] = field(default_factory=set)


def _originals(lfw: Path, cache: Path) -> dict:
    data = embed_dataset(lfw, cache)
    key = hashlib.sha1("\n".join(data["path"]).encode()).hexdigest()[:12]
    f = cache / f"maskforge_hygiene_orig_{key}.npz"
    if f.exists():
        z = np.load(f, allow_pickle=False)
        data.update({k: z[k] for k in z.files})
        return data
    fh, ph, hs = [], [], []
    for p in data["path"]:
        raw = (lfw / p).read_bytes()
        img = decode_image(lfw / p)
        fh.append(bytes_hash(raw))
        ph.append(pixel_hash(img))
        hs.append(phash(img))
    extra = {"file_hash": np.array(fh), "pixel_hash": np.array(ph), "phash": np.array(hs, np.uint64)}
    np.savez(f, **extra)
    data.update(extra)
    return data
