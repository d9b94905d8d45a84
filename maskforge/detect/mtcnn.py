"""facenet-pytorch MTCNN, batched, on CUDA when available.

MTCNN runs a whole batch through its three networks at once, but only for images of one size, so a
mixed batch is grouped by ``(H, W)`` and each group is sent in chunks of ``batch_size``. Its five
points are already in the ``landmarks5`` order (image-left eye first); its box is MTCNN's own (taller
than dlib's); the stage rebuilds a HOG-like box from the 5 points before predicting 68 points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ..device import resolve_device
from .faces import Face


class MtcnnDetector:
    """facenet-pytorch MTCNN (weights ship inside the facenet-pytorch package).

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        min_face_size: smallest face searched for, in pixels (MTCNN's pyramid starts there).
        thresholds: P-, R-, O-net score thresholds.
        factor: scale step of the image pyramid.
        batch_size: images per forward pass (within one image size).
        batched: ``False`` sends images one by one (same as ``batch_size=1``).
    """

    name = "mtcnn"

    def __init__(
        self,
        device: str = "auto",
        min_face_size: int = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        batch_size: int = 32,
        batched: bool = True,
    ) -> None:
        from facenet_pytorch import MTCNN

        if min_face_size < 12:
            raise ValueError(f"min_face_size must be >= 12 pixels for MTCNN, got {min_face_size}")
        if len(thresholds) != 3 or not all(0.0 <= t <= 1.0 for t in thresholds):
            raise ValueError(f"thresholds must be 3 values in [0, 1], got {thresholds!r}")
        self.device = resolve_device(device)
        self.min_face_size = int(min_face_size)
        self.thresholds = [float(t) for t in thresholds]
        self.batch_size = max(1, int(batch_size)) if batched else 1
        self._mtcnn = MTCNN(
            min_face_size=self.min_face_size,
            thresholds=self.thresholds,
            factor=factor,
            keep_all=True,
            select_largest=False,
            device=self.device,
        )
        self._mtcnn.eval()

    def _detect_same_size(self, images: list[np.ndarray]) -> list[list[Face]]:
        batch = np.ascontiguousarray(np.stack(images))
        boxes, probs, points = self._mtcnn.detect(batch, landmarks=True)
        out: list[list[Face]] = []
        for b, p, pts in zip(boxes, probs, points, strict=True):
            if b is None:
                out.append([])
                continue
            out.append(
                [
                    Face(
                        np.asarray(b[k], dtype=np.float32),
                        float(p[k]),
                        np.asarray(pts[k], dtype=np.float32).reshape(5, 2),
                    )
                    for k in range(len(b))
                ]
            )
        return out

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """Faces per image for a batch of ``(H, W, 3)`` uint8 RGB images of any sizes."""
        result: list[list[Face]] = [[] for _ in images]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, image in enumerate(images):
            h, w = image.shape[:2]
            if min(h, w) >= self.min_face_size:  # smaller images cannot hold a searchable face
                groups[(h, w)].append(i)
        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                found = self._detect_same_size([images[i] for i in chunk])
                for i, faces in zip(chunk, found, strict=True):
                    result[i] = faces
        return result
