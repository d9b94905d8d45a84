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

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..models import sha256_file

__all__ = ["Embedder", "check_faces", "l2_normalise", "sha256_file"]


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
