"""The embed stage's cache key: the resolved embedder and how faces become its inputs.

``device`` and ``batch_size`` are left out of the key on purpose: they change how fast vectors
are made, not which vectors (CPU float32 and CUDA float16 agree to a cosine of ~0.9999, far below
what cleaning thresholds resolve), so a cache made on one machine is reused on another.
"""

from __future__ import annotations

from typing import Any

from ..onnxrt import is_onnx
from .config import EmbedConfig

#: Version of how faces become embedder inputs (part of the key): 2 = dlib chips cut from the
#: source image (dlib's 5-point predictor on a box from the detect stage's landmarks).
INPUT_VERSION = 2


def resolve_identity(config: EmbedConfig) -> dict[str, Any]:
    """The embedder ``config`` stands for, resolved now without loading it: ``name``
    (``auto`` resolved), ``requested`` (as written), ``weights``, ``sha256``."""
    from .factory import embedder_identity

    ident = embedder_identity(config.embedder, config.weights)
    ident["requested"] = config.embedder
    return ident


def cache_key(identity: dict[str, Any]) -> dict[str, Any]:
    """The parts of the embed key (JSON-able) for a resolved embedder (:func:`resolve_identity`):
    its name (``onnx`` for any ``onnx:PATH``: the file is known by its content, not its path),
    its weights' SHA-256 and :data:`INPUT_VERSION`."""
    name = "onnx" if is_onnx(identity["name"]) else identity["name"]
    return {"embedder": name, "sha256": identity["sha256"], "input": INPUT_VERSION}
