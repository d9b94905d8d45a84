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


def _variant_images(lfw: Path, paths: np.ndarray, specs: list[tuple[int, str]], seed: int):
    """Encoded bytes and descriptions of the planted copies ``(source row, kind)``."""
    out = []
    for k, (src, kind) in enumerate(specs):
        raw = (lfw / paths[src]).read_bytes()
        if kind == "copy":
            out.append((raw, "byte copy"))
        else:
            out.append(transform(decode_image(lfw / paths[src]), kind, rng_for(seed, "variant", k)))
    return out


def _embed_variants(lfw: Path, data: dict, specs, seed: int, cache: Path):
    key = hashlib.sha1(repr((specs, seed)).encode()).hexdigest()[:12]
    f = cache / f"maskforge_hygiene_variants_{key}.npz"
    if f.exists():
        z = np.load(f, allow_pickle=False)
        return {k: z[k] for k in z.files}
    encoded = _variant_images(lfw, data["path"], specs, seed)
    from maskforge.io.decode import decode_image as dec

    images = []
    for raw, _ in encoded:
        tmp = cache / "maskforge_hygiene_tmp.jpg"
        tmp.write_bytes(raw)
        images.append(dec(tmp))
    ok, emb = embed_images(images)
    out = {
        "ok": ok, "emb": emb, "desc": np.array([d for _, d in encoded]),
        "file_hash": np.array([bytes_hash(r) for r, _ in encoded]),
        "pixel_hash": np.array([pixel_hash(im) for im in images]),
        "phash": np.array([phash(im) for im in images], np.uint64),
    }  # fmt: skip
    np.savez(f, **out)
    return out


def _choose_cases(ids: np.ndarray, rows: np.ndarray, rng: np.random.Generator, n_each: int):
    """Eval-only, overlapping and split identities, and (source row, kind, placement) copies."""
    counts = Counter(ids[rows].tolist())
    names = sorted(counts)
    rng.shuffle(names)
    eval_only = [n for n in names if counts[n] >= 2][:6]
    rest = [n for n in names if n not in eval_only]
    overlap = [n for n in rest if counts[n] >= 4][:9]
    split = [n for n in rest if counts[n] >= 6 and n not in overlap][:8]
    busy = set(eval_only) | set(overlap)
    pool = [int(r) for r in rows if ids[r] not in busy]
    rng.shuffle(pool)
    copies = [(pool.pop(), "copy", "across") for _ in range(n_each)]
    for kind in TRANSFORMS:
        for place in ("within", "across"):
            copies += [(pool.pop(), kind, place) for _ in range(n_each)]
    return eval_only, overlap, split, copies


def _renamed(name: str, k: int) -> str:
    """Overlap identities keep their name (k % 3 == 0), are spelled ``Last, First`` (1), or get
    an unrelated label (2)."""
    if k % 3 == 1:
        parts = name.split("_")
        return f"{parts[-1]}, {' '.join(parts[:-1])}"
    return name if k % 3 == 0 else f"person{k:03d}"


def write_pairs(out: Path, eval_paths: list[str]) -> Path:
    """An LFW pairs.txt (one fold) naming every image of ``eval_paths`` (``Name/Name_0003.jpg``)."""
    from maskforge.eval.pairs import lfw_number

    by: dict[str, list[int]] = {}
    for p in sorted(eval_paths):
        name, num = lfw_number(p)
        by.setdefault(name, []).append(num)
    same = [f"{n}\t{v[i]}\t{v[i + 1]}" for n, v in by.items() for i in range(len(v) - 1)]
    singles = [(n, v[0]) for n, v in by.items()] + [(n, x) for n, v in by.items() for x in v[1:]]
    diff = [f"{a}\t{i}\t{b}\t{j}" for (a, i), (b, j) in zip(singles, singles[1:] + singles[:1], strict=True)]
    n = max(len(same), len(diff))
    same = (same * n)[:n] if same else []
    diff = (diff * n)[:n]
    out.mkdir(parents=True, exist_ok=True)
    f = out / "pairs.txt"
    f.write_text("\n".join([f"1\t{n}", *same, *diff]) + "\n")
    return f


def plant(lfw: Path, cache: Path, calibration: bool, seed: int = 0, n_each: int = 20) -> Planted:
    """The planted training and evaluation sets on one half of lfw-dev (see module doc)."""
    from maskforge.hygiene.config import ExcludeSpec
    from maskforge.hygiene.evalsets import load_eval_set

    data = _originals(lfw, cache)
    ids = data["identity"].astype(object)
    rows = np.flatnonzero(split_identities(data["identity"]) == calibration)
    rng = rng_for(seed, "hygiene-plant", calibration)
    eval_only, overlap, split, copies = _choose_cases(ids, rows, rng, n_each)
    label = {int(r): str(ids[r]) for r in rows}
    in_train = {int(r): ids[r] not in eval_only for r in rows}
    eval_rows = [int(r) for r in rows if ids[r] in eval_only]
    p = Planted(np.zeros(0), np.zeros(0), np.zeros(0), [], [], np.zeros(0), np.zeros(0), np.zeros(0))
    p.eval_only = set(eval_only)
    for k, n in enumerate(overlap):
        r = sorted(int(x) for x in rows if ids[x] == n)
        eval_rows += r[::2]
        for x in r[::2][(1 if k % 2 == 0 else 0):]:  # even k: one photo stays in both sets
            in_train[x] = False
        for x in r:
            label[x] = _renamed(n, k)
        p.overlap[_renamed(n, k)] = n
    for n in split:
        r = sorted(int(x) for x in rows if ids[x] == n)
        for x in r[len(r) // 2:]:
            label[x] = f"{n}~b"
        p.split_pairs.add((n, f"{n}~b"))
    train = [int(r) for r in rows if in_train[int(r)]]
    names = sorted({label[r] for r in train})
    specs = [(src, kind) for src, kind, _ in copies]
    var = _embed_variants(lfw, data, specs, seed, cache)
    emb, ident, path, fh, ph, hs, source, case = [], [], [], [], [], [], [], []
    for r in train:
        emb.append(data["emb"][r]); ident.append(label[r]); path.append(str(data["path"][r]))  # noqa: E702
        fh.append(str(data["file_hash"][r])); ph.append(str(data["pixel_hash"][r]))  # noqa: E702
        hs.append(data["phash"][r]); source.append(-1); case.append("")  # noqa: E702
    pos = {r: i for i, r in enumerate(train)}
    for k, (src, kind, place) in enumerate(copies):
        if not var["ok"][k]:
            continue
        target = label[src]
        if place == "across":
            target = str(rng.choice([n for n in names if n != label[src]]))
        emb.append(var["emb"][k]); ident.append(target); path.append(f"{target}/planted_{k:03d}.jpg")  # noqa: E702
        fh.append(str(var["file_hash"][k])); ph.append(str(var["pixel_hash"][k]))  # noqa: E702
        hs.append(var["phash"][k]); source.append(pos[src]); case.append(f"{kind}-{place}")  # noqa: E702
    p.emb, p.identity, p.path = np.array(emb, np.float32), np.array(ident, object), np.array(path, object)
    p.file_hash, p.pixel_hash, p.phash = fh, ph, np.array(hs, np.uint64)
    p.source, p.case = np.array(source), np.array(case, object)
    pairs = write_pairs(cache / f"maskforge_hygiene_eval_{int(calibration)}_{seed}",
                        [str(data["path"][r]) for r in eval_rows])
    es = load_eval_set(ExcludeSpec(path=str(pairs), images=str(lfw)))
    by_path = {str((lfw / q).resolve()): i for i, q in enumerate(data["path"])}
    p.eval_emb = np.array([data["emb"][by_path[q]] for q in es.paths], np.float32)
    p.eval_identity = np.array(es.names, object)
    return p
