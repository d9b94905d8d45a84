"""Build an embedder by name: ``auto``, ``facenet-vggface2`` or ``dlib-resnet``."""

from __future__ import annotations

import logging
from pathlib import Path

from ..device import check_device
from ..errors import RecipeError
from .base import Embedder

log = logging.getLogger(__name__)

EMBEDDERS = ("auto", "facenet-vggface2", "dlib-resnet")


def make_embedder(
    name: str = "auto",
    device: str = "auto",
    weights: str | Path | None = None,
    batch_size: int = 64,
) -> Embedder:
    """An embedder, model files loaded once.

    ``auto`` picks facenet-vggface2 when its weights are found (``weights``,
    ``$MASKFORGE_FACENET_WEIGHTS`` or torch hub's cache) and dlib-resnet otherwise.
    ``facenet-vggface2`` without weights raises ModelNotFoundError saying where to put the file.
    ``weights`` is the facenet state dict, or for dlib-resnet the ``.dat`` model file.
    """
    check_device(device)
    if name == "auto":
        from .facenet import find_weights

        if find_weights(weights) is not None:
            name = "facenet-vggface2"
        else:
            log.info("facenet-vggface2 weights not found; using dlib-resnet")
            return make_embedder("dlib-resnet", device=device, batch_size=batch_size)
    if name == "facenet-vggface2":
        from .facenet import FacenetEmbedder

        return FacenetEmbedder(weights=weights, device=device, batch_size=batch_size)
    if name == "dlib-resnet":
        from .dlib_resnet import DlibResnetEmbedder

        return DlibResnetEmbedder(model_path=weights, batch_size=batch_size)
    raise RecipeError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
