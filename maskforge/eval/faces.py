"""Images -> aligned (optionally masked) crops -> embeddings, each once per mask mode.

Faces are found and aligned by the project's detect stage (:class:`maskforge.detect.DetectStage`);
a masked crop is the aligned crop with an occluder drawn on its 68 landmarks by
:func:`maskforge.occlude.render_occluder`, seeded by ``(seed, image path)``: the same image gets the same
mask in every run, whatever the pairs file or batch. An image that cannot be read or has no usable
face is a :class:`Failure` (never silently dropped: the protocol counts it).

An *embedding function* maps a batch of crops ``(N, H, W, 3)`` uint8 RGB to an ``(N, D)`` array;
a :class:`maskforge.embed.Embedder` is used with the crops' 5 landmarks too. Rows are
L2-normalised here, so distances are Euclidean between unit vectors, in ``[0, 2]``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..detect import AlignedFace, DetectConfig, DetectStage
from ..embed import Embedder, l2_normalise
from ..errors import DecodeError, EvalError
from ..io.decode import decode_image, encode_image
from ..occlude import OccluderSpec, choose_spec, default_library, parse_mix, render_occluder
from ..occlude.spec import OccluderChoice
from ..seeding import EVAL_MASK, rng_for

EmbedFn = Callable[[np.ndarray], np.ndarray]
#: Images decoded, detected and embedded per batch.
BATCH = 32
THUMB_QUALITY = 85


@dataclass(frozen=True)
class Failure:
    """An image without an embedding: its path, a short ``reason`` (a decode code such as
    ``unreadable``, or a detect reject such as ``no_face``) and a human ``detail``."""

    path: str
    reason: str
    detail: str


@dataclass
class Embeddings:
    """Unit vectors per ``(path, masked)``, a JPEG of each crop that was embedded, the occluder
    asset drawn on each masked crop, and the images that failed."""

    vectors: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict)
    thumbs: dict[tuple[str, bool], bytes] = field(default_factory=dict)
    occluders: dict[str, str] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)

    def get(self, path: str, masked: bool) -> np.ndarray | None:
        return self.vectors.get((path, masked))


@dataclass(frozen=True)
class Masker:
    """Draws the evaluation's occluder on aligned crops, seeded by ``(seed, image path)``.

    ``choice``: the weighted occluder choice (one spec is drawn per image; the same language as
    recipes and ``maskforge overlay``). Calling it with a crop, its 68 landmarks (crop pixels),
    the image path and the yaw (degrees, or None) returns the masked crop and the label of the
    occluder drawn (``OccluderSpec.label()``)."""

    choice: OccluderChoice
    seed: int = 0

    def __call__(
        self, crop: np.ndarray, landmarks68: np.ndarray, path: str, yaw: float | None = None
    ) -> tuple[np.ndarray, str]:
        rng = rng_for(self.seed, EVAL_MASK, path)
        spec = choose_spec(self.choice, rng)
        res = render_occluder(crop, landmarks68, spec, rng, yaw=yaw)
        return res.image, spec.label()

    def label(self) -> str:
        """The choice as a mix string (``surgical-blue:1``)."""
        return ",".join(f"{n}:{w:g}" for n, w in zip(self.choice.names, self.choice.weights, strict=True))


def make_masker(
    occluder: str | OccluderSpec | None = None,
    mix: str | None = None,
    wear: str = "correct",
    seed: int = 0,
) -> Masker:
    """The masker of an evaluation: ``mix`` (``"surgical-blue:0.5,n95:0.5"``) if given, else the
    one ``occluder`` spec, else ``surgical-blue``. ``wear`` is the default wear (a spec's own
    wear token wins). Unknown assets raise AssetError now, before any image is processed."""
    if isinstance(occluder, OccluderSpec):
        wear, occluder = occluder.wear or wear, occluder.label()
    choice = parse_mix(mix, wear=wear) if mix else OccluderChoice.from_cli(
        [occluder or "surgical-blue"], None, wear
    )
    lib = default_library()
    for spec in choice.specs():
        if spec.name != "random":
            lib.get(spec.name, spec.wear)
    return Masker(choice, int(seed))


def embedder_name(embed_fn: Any) -> str:
    """What metrics.json records as the embedder."""
    if isinstance(embed_fn, Embedder):
        return embed_fn.name
    mod = getattr(embed_fn, "__module__", None) or type(embed_fn).__module__
    qual = getattr(embed_fn, "__qualname__", None) or type(embed_fn).__qualname__
    return f"{mod}:{qual}"


def load_model(spec: str) -> EmbedFn:
    """The callable named by ``MODULE:CALLABLE`` (the current folder is importable while the
    module is imported, as for ``python -m``). Raises EvalError saying what is wrong."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise EvalError(f"--model {spec!r}: expected MODULE:CALLABLE, e.g. mymodels.arcface:embed")
    cwd = str(Path.cwd())
    added = "" not in sys.path and cwd not in sys.path
    if added:  # only for this import: sys.path is left as it was
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        raise EvalError(f"--model {spec!r}: cannot import {module!r} ({exc})") from exc
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise EvalError(f"--model {spec!r}: module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise EvalError(f"--model {spec!r}: {attr!r} is not callable")
    return obj


def _call(embed_fn: Any, crops: list[np.ndarray], lm5: list[np.ndarray]) -> np.ndarray:
    if isinstance(embed_fn, Embedder):
        out = embed_fn.embed(crops, lm5)
    else:
        out = embed_fn(np.stack(crops))
    if hasattr(out, "detach"):  # a torch tensor
        out = out.detach().cpu().numpy()
    arr = np.asarray(out, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != len(crops):
        raise EvalError(
            f"the embedding function returned shape {arr.shape} for {len(crops)} crops: it must "
            "return one row per crop, (N, D)"
        )
    if not np.isfinite(arr).all():
        raise EvalError("the embedding function returned non-finite values (NaN or inf)")
    return l2_normalise(arr)


#: Where an evaluation's images come from: a folder the paths are relative to, or the encoded
#: images themselves by key (a verification ``.bin``, see :mod:`maskforge.eval.bin_sets`).
Images = str | Path | Mapping[str, bytes]


def _resolve(images: Path | Mapping[str, bytes], path: str) -> Path | bytes:
    if isinstance(images, Mapping):
        return images[path]
    p = Path(path)
    return p if p.is_absolute() else images / p


def _detect(
    stage: DetectStage, images: Path | Mapping[str, bytes], paths: list[str], emb: Embeddings
) -> list[tuple[str, AlignedFace]]:
    decoded, names = [], []
    for path in paths:
        try:
            decoded.append(decode_image(_resolve(images, path)))
            names.append(path)
        except DecodeError as exc:
            emb.failures[path] = Failure(path, exc.reason, exc.detail or str(exc))
    found = []
    for path, res in zip(names, stage(decoded) if decoded else [], strict=True):
        if isinstance(res, AlignedFace):
            found.append((path, res))
        else:
            emb.failures[path] = Failure(path, res.reason, res.detail)
    return found


def embed_images(
    wanted: Iterable[tuple[str, bool]],
    images: Images,
    embed_fn: Any,
    masker: Masker | None = None,
    detect: DetectStage | DetectConfig | Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Embeddings:
    """Embed every ``(path, masked)`` in ``wanted`` once (paths relative to ``images`` or
    absolute), or keys of ``images`` when it maps keys to encoded images. Each image is decoded
    and detected once, whatever its mask modes. ``masker`` is
    required when any entry is masked. ``progress(done, total)`` is called after each batch."""
    source = images if isinstance(images, Mapping) else Path(images)
    modes: dict[str, set[bool]] = {}
    for path, masked in wanted:
        modes.setdefault(path, set()).add(bool(masked))
    if masker is None and any(True in m for m in modes.values()):
        raise ValueError("masked crops were asked for without a masker")
    stage = detect if isinstance(detect, DetectStage) else DetectStage(detect)
    paths = sorted(modes)
    emb = Embeddings()
    for start in range(0, len(paths), BATCH):
        batch = paths[start : start + BATCH]
        keys, crops, lm5 = [], [], []
        for path, face in _detect(stage, source, batch, emb):
            for masked in sorted(modes[path]):
                crop = face.image
                if masked:
                    yaw = float(face.pose[0]) if np.isfinite(face.pose[0]) else None
                    crop, emb.occluders[path] = masker(crop, face.landmarks68, path, yaw)  # type: ignore[misc]
                keys.append((path, masked))
                crops.append(crop)
                lm5.append(face.landmarks5)
        if crops:
            vecs = _call(embed_fn, crops, lm5)
            if emb.vectors and vecs.shape[1] != len(next(iter(emb.vectors.values()))):
                raise EvalError(
                    f"the embedding function returned {vecs.shape[1]}-d rows after "
                    f"{len(next(iter(emb.vectors.values())))}-d ones: it must keep one dimension"
                )
            for key, vec, crop in zip(keys, vecs, crops, strict=True):
                emb.vectors[key] = vec
                emb.thumbs[key] = encode_image(crop, "jpeg", THUMB_QUALITY)
        if progress is not None:
            progress(min(start + BATCH, len(paths)), len(paths))
    return emb


def run_info(embed_fn: Any, mask: str, masker: Masker | None, seed: int, size: int) -> dict[str, Any]:
    """What every evaluation's metrics record of how it ran: embedder, its weights and their
    SHA-256 (built-in and ONNX embedders; None for a user's function), mask mode, occluder mix,
    seed and crop size (pixels)."""
    info = embed_fn.info if isinstance(embed_fn, Embedder) else {}
    return {
        "embedder": embedder_name(embed_fn),
        "weights": info.get("weights"),
        "sha256": info.get("sha256"),
        "mask": mask,
        "occluder": masker.label() if masker else None,
        "seed": int(seed),
        "size": int(size),
    }
