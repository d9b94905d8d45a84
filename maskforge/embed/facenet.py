"""facenet-pytorch's InceptionResnetV1 with VGGFace2 weights (``facenet-vggface2``), 512-d.

Weights are never downloaded here: the state dict is read from an explicit path, from
``$MASKFORGE_FACENET_WEIGHTS``, or from torch hub's cache, where facenet-pytorch itself saves it
when online (``$TORCH_HOME/checkpoints/20180402-114759-vggface2.pt``, ``$TORCH_HOME`` defaulting to
``~/.cache/torch``). The classifier head (``logits.*``) in that file is ignored.

Preprocessing follows facenet-pytorch: the crop is resized to 160x160 (bilinear) and standardised as
``(pixel - 127.5) / 128``. On CUDA the model runs in fp16; on CPU in fp32. Batched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError
from .base import Embedder, check_faces, l2_normalise, resolve_device, sha256_file

WEIGHTS_FILE = "20180402-114759-vggface2.pt"
WEIGHTS_ENV = "MASKFORGE_FACENET_WEIGHTS"
INPUT_SIZE = 160


def torch_home() -> Path:
    """torch hub's home as facenet-pytorch computes it ($TORCH_HOME, else $XDG_CACHE_HOME/torch)."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", default)))


def default_weights_path() -> Path:
    """Where facenet-pytorch caches the VGGFace2 state dict."""
    return torch_home() / "checkpoints" / WEIGHTS_FILE


def find_weights(weights: str | Path | None = None) -> Path | None:
    """The weights file to use: ``weights`` if given (must exist), else ``$MASKFORGE_FACENET_WEIGHTS``,
    else torch hub's cache; None when none is found. Raises ModelNotFoundError for a given path
    that does not exist."""
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"facenet weights file {str(path)!r} does not exist")
        return path
    env = os.environ.get(WEIGHTS_ENV)
    for path in ([Path(env).expanduser()] if env else []) + [default_weights_path()]:
        if path.is_file():
            return path
    return None


def missing_weights_message() -> str:
    return (
        f"facenet-vggface2 weights not found: put facenet-pytorch's {WEIGHTS_FILE} at "
        f"{default_weights_path()} (torch hub's cache; set TORCH_HOME to move it), or point "
        f"{WEIGHTS_ENV} or `weights` at the file, or use --embedder dlib-resnet (works offline). "
        f"Download: https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/{WEIGHTS_FILE}"
    )


class FacenetEmbedder(Embedder):
    """InceptionResnetV1 (VGGFace2) embedder. Raises ModelNotFoundError without weights."""

    name = "facenet-vggface2"
    dim = 512

    def __init__(
        self,
        weights: str | Path | None = None,
        device: str = "auto",
        batch_size: int = 64,
        require_cuda: bool = False,
    ) -> None:
        import torch
        from facenet_pytorch import InceptionResnetV1

        path = find_weights(weights)
        if path is None:
            raise ModelNotFoundError(missing_weights_message())
        self.weights = path
        self.device = resolve_device(device, require_cuda=require_cuda)
        self.batch_size = max(1, int(batch_size))
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
            raise ModelNotFoundError(
                f"cannot read facenet weights {str(path)!r}: {exc}. {missing_weights_message()}"
            ) from exc
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        state = {k: v for k, v in state.items() if not k.startswith("logits.")}
        model = InceptionResnetV1(pretrained=None, classify=False)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelNotFoundError(
                f"{str(path)!r} is not an InceptionResnetV1 state dict: {exc}"
            ) from exc
        model.eval().to(self.device)
        self.half = self.device.startswith("cuda")
        if self.half:
            model.half()
        self.model = model
        self._torch = torch

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": str(self.weights),
            "sha256": sha256_file(self.weights),
            "device": self.device,
            "dtype": "float16" if self.half else "float32",
        }

    def preprocess(self, crops: Sequence[np.ndarray]):
        """Crops -> float tensor [N, 3, 160, 160] standardised as ``(x - 127.5) / 128``."""
        torch = self._torch
        import torch.nn.functional as F

        batch = torch.from_numpy(np.stack(crops)).to(self.device)
        x = batch.permute(0, 3, 1, 2).float().contiguous()
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(
                x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False
            )
        x = (x - 127.5) / 128.0
        return x.half() if self.half else x

    def embed(
        self,
        faces: Sequence[np.ndarray],
        landmarks5: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Embed crops; ``landmarks5`` is accepted for the common interface and not used."""
        torch = self._torch
        crops = check_faces(faces)
        if not crops:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(crops), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(crops), self.batch_size):
                chunk = crops[start : start + self.batch_size]
                same = {c.shape for c in chunk}
                if len(same) > 1:  # mixed sizes: resize each to the network input first
                    import cv2

                    chunk = [cv2.resize(c, (INPUT_SIZE, INPUT_SIZE)) for c in chunk]
                y = self.model(self.preprocess(chunk))
                out[start : start + len(chunk)] = y.float().cpu().numpy()
        return l2_normalise(out)
