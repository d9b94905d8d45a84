"""dlib's 128-d face ResNet: ``dlib-resnet`` (the network in PyTorch) and ``dlib-resnet-native``
(dlib's own ``compute_face_descriptor``, kept for comparison and tests).

Both cut the same 150x150 chips, the way dlib's own pipeline does: dlib's 5-point shape predictor
runs on the image inside a dlib-HOG-like box built from the face's landmarks5
(:func:`maskforge.detect.landmarks.box_from_landmarks5`), and :func:`maskforge.embed.chips.cut_chip`
applies ``dlib.get_face_chip``'s geometry (150 px, padding 0.25). The image can be the source image
with source-frame landmarks (what the pipeline does: embeddings then match dlib's pipeline on the
same image) or an aligned crop with crop-frame landmarks (without landmarks, the ArcFace template
scaled to the crop is assumed).

Outputs are L2-normalised (dlib's raw descriptors are close to, not exactly, unit length).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..detect.align import ARCFACE_112 as _ARCFACE_112
from ..detect.landmarks import Landmarker68, box_from_landmarks5
from ..models import dlib_model_path
from .base import Embedder, check_faces, l2_normalise, sha256_file
from .chips import CHIP_PADDING, CHIP_SIZE, cut_chip

#: ArcFace 112x112 template (eye, eye, nose tip, mouth corner, mouth corner), crop pixels.
ARCFACE_112 = _ARCFACE_112.astype(np.float32)


def template_landmarks(height: int, width: int) -> np.ndarray:
    """The ArcFace template scaled to a crop of ``height`` x ``width`` pixels."""
    scale = np.array([width / 112.0, height / 112.0], dtype=np.float32)
    return ARCFACE_112 * scale


class DlibChipEmbedder(Embedder):
    """Shared part of the dlib embedders: chips from images + landmarks5, then
    :meth:`embed_chips`. ``model_path`` overrides the packaged ``.dat``."""

    dim = 128
    #: The pipeline gives these embedders the source image and source-frame landmarks.
    wants_source = True

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 64) -> None:
        self.model_path = Path(model_path) if model_path else dlib_model_path("resnet_embedder")
        self.batch_size = max(1, int(batch_size))
        self._sp5 = Landmarker68(dlib_model_path("shape_predictor_5"))

    def chip(self, image: np.ndarray, landmarks5: np.ndarray | None = None) -> np.ndarray:
        """The 150x150 dlib chip (RGB uint8) of the face with ``landmarks5`` (ArcFace order,
        pixels of ``image``) in ``image``."""
        h, w = image.shape[:2]
        pts = template_landmarks(h, w) if landmarks5 is None else np.asarray(landmarks5)
        points5 = self._sp5(image, box_from_landmarks5(pts))
        return cut_chip(image, points5, CHIP_SIZE, CHIP_PADDING)

    def chips(
        self, faces: Sequence[np.ndarray], landmarks5: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Chips ``uint8 [N, 150, 150, 3]`` of validated images."""
        images = check_faces(faces)
        if landmarks5 is not None and len(landmarks5) != len(images):
            raise ValueError(f"{len(images)} faces but {len(landmarks5)} landmark sets")
        out = np.zeros((len(images), CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
        for i, img in enumerate(images):
            out[i] = self.chip(img, None if landmarks5 is None else landmarks5[i])
        return out

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """dlib's raw descriptors ``float32 [N, 128]`` (not normalised) of 150x150 chips."""
        raise NotImplementedError

    def embed(
        self,
        faces: Sequence[np.ndarray],
        landmarks5: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Unit vectors ``float32 [N, 128]`` of the faces in ``faces`` (source images or crops,
        uint8 RGB) located by ``landmarks5`` (pixels of each image, ArcFace order)."""
        chips = self.chips(faces, landmarks5)
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self.embed_chips(chips))

    def base_info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": str(self.model_path),
            "sha256": sha256_file(self.model_path),
        }


class DlibNativeEmbedder(DlibChipEmbedder):
    """``dlib-resnet-native``: dlib's ``face_recognition_model_v1`` on the CPU (~70-110 ms per
    face with the dlib-bin wheel, which has no BLAS)."""

    name = "dlib-resnet-native"

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 64) -> None:
        import dlib

        super().__init__(model_path, batch_size)
        self._rec = dlib.face_recognition_model_v1(str(self.model_path))

    @property
    def info(self) -> dict[str, Any]:
        return {**self.base_info(), "device": "cpu", "dtype": "float32"}

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        out = np.empty((len(chips), self.dim), dtype=np.float32)
        for start in range(0, len(chips), self.batch_size):
            part = [np.ascontiguousarray(c) for c in chips[start : start + self.batch_size]]
            vecs = self._rec.compute_face_descriptor(part)
            out[start : start + len(part)] = np.asarray([np.asarray(v) for v in vecs], np.float32)
        return out
