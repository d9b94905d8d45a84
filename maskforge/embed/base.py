"""The embedder interface shared by every face embedder.

An embedder turns aligned face crops into identity vectors:

- input: a sequence of aligned face crops, each RGB ``uint8`` ``(H, W, 3)`` (for example the
  112x112 ArcFace-aligned crops of :mod:`maskforge.detect`), and optionally their five landmarks
  (``float32 (5, 2)``, ``(x, y)`` in pixels of the crop, ArcFace order);
- output: ``float32 [N, D]``, every row L2-normalised (unit length), so the Euclidean distance
  between two rows lies in ``[0, 2]`` and equals ``sqrt(2 - 2 cos)``.

Model files are loaded once, when the embedder is built, never per call.
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DeviceError, RecipeError


class Embedder(ABC):
    """Base class of embedders. Subclasses set :attr:`name` and :attr:`dim`."""

    name: str = ""
    dim: int = 0
    #: True when :meth:`embed` wants the source image and source-frame landmarks5 (it cuts its
    #: own chips); False when it wants the pipeline's aligned crops.
    wants_source: bool = False

    @abstractmethod
    def embed(
        self,
        faces: Sequence[np.ndarray],
        landmarks5: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Embed aligned RGB uint8 face crops.

        Args:
            faces: N crops, each ``(H, W, 3)`` uint8 RGB.
            landmarks5: optional N arrays ``(5, 2)`` of crop-pixel landmarks (ArcFace order).

        Returns:
            ``float32 [N, dim]`` with unit-length rows (``[0, dim]`` when ``faces`` is empty).
        """

    @property
    @abstractmethod
    def info(self) -> dict[str, Any]:
        """What the run manifest records: ``name``, ``dim``, ``weights`` (path or None),
        ``sha256`` (of the weights file, or None), ``device``."""

    def __call__(
        self, faces: Sequence[np.ndarray], landmarks5: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        return self.embed(faces, landmarks5)


def l2_normalise(vectors: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 length, as float32 (zero rows stay zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(norms, eps)).astype(np.float32, copy=False)


def check_faces(faces: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate crops (uint8, ``(H, W, 3)``) and return them as C-contiguous arrays."""
    out = []
    for i, face in enumerate(faces):
        arr = np.asarray(face)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(
                f"face {i}: expected an RGB uint8 (H, W, 3) crop, got {arr.dtype} {arr.shape}"
            )
        out.append(np.ascontiguousarray(arr))
    return out


_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """Validate a device string: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``. Raises RecipeError."""
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise RecipeError(f"device must be auto, cpu, cuda or cuda:N (N a GPU index), not {device!r}")
    return device


def resolve_device(device: str = "auto", require_cuda: bool = False) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; ``cpu``/``cuda``/``cuda:N``
    pass through after validation.

    With ``require_cuda`` (a GPU worker), ``auto`` and ``cuda`` without a usable GPU raise
    DeviceError instead of running on the CPU behind the user's back (an explicit ``cpu`` stays
    ``cpu``); ``cuda:N`` must name a visible GPU.
    """
    check_device(device)
    if device == "cpu":  # an explicit choice, also in a GPU worker (tests run the GPU pool so)
        return device
    import torch

    available = torch.cuda.is_available()
    if device == "auto" and not require_cuda:
        return "cuda" if available else "cpu"
    if not available:
        raise DeviceError(
            f"device {device!r} needs CUDA but torch sees no GPU (torch {torch.__version__}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); check the driver "
            "with nvidia-smi, or set embed.device = \"cpu\""
        )
    if device == "auto":
        return "cuda"
    if ":" in device and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise DeviceError(
            f"device {device!r}: only {torch.cuda.device_count()} GPU(s) visible here (inside a "
            "Ray GPU worker the assigned GPU is always cuda:0); use device = \"cuda\""
        )
    return device


_DEVICE_WORDS = ("CUDA", "cuDNN", "CUBLAS", "cublas", "NCCL", "device-side assert", "out of memory")


def device_failure(exc: BaseException) -> DeviceError | None:
    """A DeviceError for an exception that means the compute device failed (no driver, out of
    memory, a sticky CUDA error), else None. Such failures stop the run with one message; they
    are never turned into per-image rejects."""
    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, (RuntimeError, MemoryError)) and any(w in str(exc) for w in _DEVICE_WORDS):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DeviceError(
            f"the GPU failed: {first}. Check nvidia-smi; lower detect.batch_size or "
            "embed.batch_size if it ran out of memory, or set device = \"cpu\""
        )
    return None


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (cached per path, size and modification time)."""
    p = Path(path)
    st = p.stat()
    return _sha256_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)
