"""dlib's 128-d ResNet face embedder (``dlib-resnet``), offline and CPU-only.

dlib's network expects 150x150 chips aligned the way ``dlib.get_face_chip`` aligns them (from its
own 5-point landmarks, padding 0.25). Our crops are aligned differently (ArcFace template), so each
crop is re-aligned: dlib's 5-point shape predictor runs on the crop inside a face box derived from
the crop's landmarks5 (or, without them, from the ArcFace template scaled to the crop), and
``dlib.get_face_chip(crop, shape, 150, 0.25)`` cuts the chip. On lfw-dev, embeddings from 112x112
ArcFace crops lie at a median L2 distance of 0.12 (raw dlib scale) from embeddings computed on the
original 250x250 images, against ~0.6 for dlib's same/different-person boundary.

Cost: ~70 ms per face with the ``dlib-bin`` wheel (no BLAS); dlib built from source against OpenBLAS
is roughly 8x faster. Descriptors are L2-normalised (dlib's raw ones are close to, not exactly, unit
length).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..detect.align import ARCFACE_112 as _ARCFACE_112
from ..models import dlib_model_path
from .base import Embedder, check_faces, l2_normalise, sha256_file

#: ArcFace 112x112 template (eye, eye, nose tip, mouth corner, mouth corner), crop pixels.
ARCFACE_112 = _ARCFACE_112.astype(np.float32)

#: dlib HOG box relative to the face, measured on lfw-dev (median of 123 faces): box centre =
#: eye midpoint + a * s along the eye line + b * s perpendicular (downwards), box side = c * s,
#: where s = distance between the eye midpoint and the mouth midpoint.
BOX_FROM_LANDMARKS = (-0.083, 0.431, 2.365)

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def face_box(landmarks5: np.ndarray) -> tuple[float, float, float, float]:
    """The box (x1, y1, x2, y2) dlib's HOG detector would give for a face with these landmarks."""
    pts = np.asarray(landmarks5, dtype=np.float64).reshape(5, 2)
    eyes = (pts[0] + pts[1]) / 2
    mouth = (pts[3] + pts[4]) / 2
    ex = pts[1] - pts[0]
    ex /= max(np.linalg.norm(ex), 1e-6)
    ey = np.array([-ex[1], ex[0]])
    s = float(np.linalg.norm(mouth - eyes))
    a, b, c = BOX_FROM_LANDMARKS
    centre = eyes + a * s * ex + b * s * ey
    half = c * s / 2
    return (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)


def template_landmarks(height: int, width: int) -> np.ndarray:
    """The ArcFace template scaled to a crop of ``height`` x ``width`` pixels."""
    scale = np.array([width / 112.0, height / 112.0], dtype=np.float32)
    return ARCFACE_112 * scale


class DlibResnetEmbedder(Embedder):
    """dlib ``face_recognition_model_v1`` (128-d). ``model_path`` overrides the packaged file."""

    name = "dlib-resnet"
    dim = 128

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 64) -> None:
        import dlib

        self._dlib = dlib
        self.model_path = Path(model_path) if model_path else dlib_model_path("resnet_embedder")
        self.batch_size = max(1, int(batch_size))
        self._rec = dlib.face_recognition_model_v1(str(self.model_path))
        self._sp5 = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": str(self.model_path),
            "sha256": sha256_file(self.model_path),
            "device": "cpu",
        }

    def chip(self, face: np.ndarray, landmarks5: np.ndarray | None = None) -> np.ndarray:
        """The 150x150 dlib-aligned chip of one crop (RGB uint8)."""
        dlib = self._dlib
        h, w = face.shape[:2]
        pts = template_landmarks(h, w) if landmarks5 is None else landmarks5
        x1, y1, x2, y2 = face_box(pts)
        rect = dlib.rectangle(int(round(x1)), int(round(y1)), int(round(x2)), int(round(y2)))
        shape = self._sp5(face, rect)
        return dlib.get_face_chip(face, shape, CHIP_SIZE, CHIP_PADDING)

    def embed(
        self,
        faces: Sequence[np.ndarray],
        landmarks5: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        crops = check_faces(faces)
        if landmarks5 is not None and len(landmarks5) != len(crops):
            raise ValueError(f"{len(crops)} faces but {len(landmarks5)} landmark sets")
        if not crops:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(crops), self.dim), dtype=np.float32)
        for start in range(0, len(crops), self.batch_size):
            stop = min(start + self.batch_size, len(crops))
            chips = [
                self.chip(crops[i], None if landmarks5 is None else landmarks5[i])
                for i in range(start, stop)
            ]
            vecs = self._rec.compute_face_descriptor(chips)
            out[start:stop] = np.asarray([np.asarray(v) for v in vecs], dtype=np.float32)
        return l2_normalise(out)
