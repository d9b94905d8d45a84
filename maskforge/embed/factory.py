"""Build an embedder by name: ``auto``, ``facenet-vggface2``, ``dlib-resnet``,
``dlib-resnet-native``, or ``onnx:PATH`` (your own ArcFace-style ONNX file)."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any, Literal, get_args

from ..device import check_device
from ..errors import RecipeError
from ..onnxrt import ONNX_PREFIX, is_onnx, onnx_path, require_file
from .base import Embedder

log = logging.getLogger(__name__)

#: The built-in embedder names a recipe may give (:data:`EMBEDDERS` is derived from it).
EmbedderName = Literal["auto", "facenet-vggface2", "dlib-resnet", "dlib-resnet-native"]
EMBEDDERS: tuple[EmbedderName, ...] = get_args(EmbedderName)
#: An embedder name: a built-in one, or ``onnx:PATH``.
EMBEDDER_PATTERN = "^(" + "|".join(re.escape(e) for e in EMBEDDERS) + "|onnx:.+)$"
#: How a bad embedder name is reported (the pattern's choices).
EMBEDDER_MUST = f"be {', '.join(EMBEDDERS)} or onnx:PATH"
ONNX_OPTION = '[embed] embedder = "onnx:PATH" (or --embedder onnx:PATH)'

FACENET_WARNING = (
    "facenet-vggface2's cleaning thresholds are dlib-resnet's scaled to facenet's distances, "
    "not calibrated on facenet embeddings; check the audit report before trusting removals"
)


def resolve_embedder(name: str = "auto", weights: str | Path | None = None) -> str:
    """The embedder ``name`` stands for: ``auto`` is facenet-vggface2 when its weights are found
    (``weights``, ``$MASKFORGE_FACENET_WEIGHTS`` or torch hub's cache), else dlib-resnet;
    ``onnx:PATH`` stays as it is."""
    if is_onnx(name):
        return name
    if name not in EMBEDDERS:
        raise RecipeError(
            f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)} or onnx:PATH"
        )
    if name != "auto":
        return name
    from .facenet import find_weights

    return "facenet-vggface2" if find_weights(weights) is not None else "dlib-resnet"


def make_embedder(
    name: str = "auto",
    device: str = "auto",
    weights: str | Path | None = None,
    batch_size: int = 64,
    **options: Any,
) -> Embedder:
    """An embedder, model files loaded once.

    ``auto`` is resolved by :func:`resolve_embedder`. ``facenet-vggface2`` without weights
    raises ModelNotFoundError saying where to put the file. ``weights`` is the facenet state
    dict, or for the dlib embedders the ``.dat`` model file. ``options`` go to dlib-resnet
    (``dtype``, ``threads``, ``compile``, ``flip``, ``require_cuda``); ``require_cuda`` is also
    understood by facenet-vggface2.
    """
    check_device(device)
    name = resolve_embedder(name, weights)
    path = onnx_path(name)
    if path is not None:
        from .onnx_arcface import OnnxArcFaceEmbedder

        if options.get("require_cuda") and device == "auto":  # a GPU worker: CUDA or an error
            device = "cuda"
        threads = options.get("threads")
        return OnnxArcFaceEmbedder(path, device=device, batch_size=batch_size, threads=threads)
    if name == "facenet-vggface2":
        from .facenet import FacenetEmbedder

        warnings.warn(FACENET_WARNING, stacklevel=2)
        return FacenetEmbedder(
            weights=weights,
            device=device,
            batch_size=batch_size,
            require_cuda=bool(options.get("require_cuda", False)),
        )
    if name == "dlib-resnet":
        from .dlib_torch import DlibTorchEmbedder

        return DlibTorchEmbedder(model_path=weights, device=device, batch_size=batch_size, **options)
    from .dlib_resnet import DlibNativeEmbedder

    if device.startswith("cuda"):
        raise RecipeError("dlib-resnet-native runs on the CPU only; use dlib-resnet for CUDA")
    return DlibNativeEmbedder(model_path=weights, batch_size=batch_size)


def embedder_identity(name: str = "auto", weights: str | Path | None = None) -> dict[str, Any]:
    """What identifies the vectors an embedder makes, without loading it: ``name`` (``auto``
    resolved; ``onnx:PATH`` as given, for :func:`make_embedder`: a cache key keeps only
    ``onnx`` and the SHA-256 of it), ``weights`` (path) and ``sha256`` of the weights. Missing facenet weights raise
    ModelNotFoundError; choosing facenet-vggface2 warns that its thresholds are uncalibrated."""
    from .base import sha256_file

    resolved = resolve_embedder(name, weights)
    onnx = onnx_path(resolved)
    if onnx is not None:
        found = require_file(onnx, "ONNX embedder", ONNX_OPTION)
        return {"name": f"{ONNX_PREFIX}{found}", "weights": str(found), "sha256": sha256_file(found)}
    if resolved == "facenet-vggface2":
        from ..errors import ModelNotFoundError
        from .facenet import find_weights, missing_weights_message

        path = find_weights(weights)
        if path is None:
            raise ModelNotFoundError(missing_weights_message())
        warnings.warn(FACENET_WARNING, stacklevel=2)
    else:
        from ..models import dlib_model_path

        path = Path(weights) if weights else dlib_model_path("resnet_embedder")
        if not path.is_file():
            from ..errors import ModelNotFoundError

            raise ModelNotFoundError(f"dlib model file {str(path)!r} does not exist")
    return {"name": resolved, "weights": str(path), "sha256": sha256_file(path)}
