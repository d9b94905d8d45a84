"""facenet-pytorch MTCNN, batched, on CUDA when available.

MTCNN runs a whole batch through its three networks at once, but only for images of one size. So
each image is letterboxed onto a canvas whose sides are its own rounded up to a multiple of
:data:`CANVAS_STEP` (black padding at the bottom and right only, so boxes and points need no
mapping back), images are grouped by canvas, and each group is sent in chunks of ``batch_size``:
a dataset of similar sizes runs at full batches instead of batch ~1. The padding changes MTCNN's
pyramid sizes a little: on lfw-dev (250x250 onto 256x256) points move by 1.5 px (median of the
largest of the 5) against the unpadded image; ``letterbox=False`` keeps exact-size groups. Its five
points are already in the ``landmarks5`` order (image-left eye first); its box is MTCNN's own (taller
than dlib's); the stage rebuilds a HOG-like box from the 5 points before predicting 68 points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ..embed.base import resolve_device
from .faces import Face

#: Canvas sides are multiples of this many pixels.
CANVAS_STEP = 64


def canvas_size(h: int, w: int, step: int = CANVAS_STEP) -> tuple[int, int]:
    """The letterbox canvas ``(H, W)`` of an ``h`` x ``w`` image."""
    return (-(-h // step) * step, -(-w // step) * step)


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at the top-left of a black canvas of ``size`` (same pixel coordinates)."""
    h, w = image.shape[:2]
    if (h, w) == size:
        return image
    out = np.zeros((size[0], size[1], image.shape[2]), dtype=image.dtype)
    out[:h, :w] = image
    return out


class MtcnnDetector:
    """facenet-pytorch MTCNN (weights ship inside the facenet-pytorch package).

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        min_face_size: smallest face searched for, in pixels (MTCNN's pyramid starts there).
        thresholds: P-, R-, O-net score thresholds.
        factor: scale step of the image pyramid.
        batch_size: images per forward pass (within one canvas size).
        batched: ``False`` sends images one by one (same as ``batch_size=1``).
        letterbox: pad images onto canvases of a few sizes so mixed sizes batch together.
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
        letterbox: bool = True,
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
        self.letterbox = bool(letterbox)
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
                groups[canvas_size(h, w) if self.letterbox else (h, w)].append(i)
        for size, idx in groups.items():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                found = self._detect_same_size([letterbox(images[i], size) for i in chunk])
                for i, faces in zip(chunk, found, strict=True):
                    result[i] = faces
        return result
