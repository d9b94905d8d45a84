"""Your own ArcFace-style ONNX recogniser (``embedder = "onnx:PATH"``), run by onnxruntime.

Each face is aligned to the ArcFace template (:func:`maskforge.detect.align_face`, template
``arcface``, no margin) at 112 x 112 (the model's input must be that, or symbolic) from its 5
landmarks; pixels become ``(x - 127.5) / 127.5``, RGB, NCHW float32, as
insightface feeds its recognisers (``w600k_r50``, ``glintr100``, ...). The output of any dimension
``D`` (read from the graph, else from the first batch) is L2-normalised.

Inputs are the source image and its source-frame landmarks in the pipeline (``wants_source``: the
chip is cut once, from the original pixels, whatever the detect stage's size and template), or an
aligned crop with its crop-frame landmarks (``maskforge eval``); without landmarks the crop is
taken as already aligned to the ArcFace template and only resized.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..detect.align import align_face
from ..errors import RecipeError
from ..onnxrt import ONNX_PREFIX, OnnxModel
from .base import Embedder, check_faces, l2_normalise, sha256_file

#: The input side of an ArcFace-style recogniser (the ArcFace template's frame).
INPUT_SIZE = 112


class OnnxArcFaceEmbedder(Embedder):
    """An ArcFace-style ONNX embedder (module doc).

    Args:
        path: the ``.onnx`` file (ModelFileMissingError when absent).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (see :mod:`maskforge.onnxrt`).
        batch_size: faces per forward pass (1 when the model's batch dimension is fixed at 1).
        threads: onnxruntime intra-op threads.
    """

    name = "onnx"
    wants_source = True

    def __init__(
        self,
        path: str | Path,
        device: str = "auto",
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        self.model = OnnxModel(path, device, threads, "ONNX embedder", '[embed] embedder = "onnx:PATH"')
        inputs, outputs = self.model.inputs, self.model.outputs
        shape = inputs[0].shape if len(inputs) == 1 else ()
        if len(shape) != 4 or shape[1] not in (3, None) or len(outputs) != 1 or len(outputs[0].shape) != 2:
            raise RecipeError(
                f"{path}: inputs {[p.shape for p in inputs]}, outputs {[p.shape for p in outputs]}; "
                "an ArcFace-style embedder has one (N, 3, H, W) input and one (N, D) output"
            )
        if any(side not in (None, INPUT_SIZE) for side in shape[2:]):
            raise RecipeError(
                f"{path}: input {shape[3]}x{shape[2]}; an ArcFace-style embedder takes "
                f"{INPUT_SIZE}x{INPUT_SIZE} aligned faces (landmark and attribute models of a "
                "model pack are not embedders)"
            )
        self.size = INPUT_SIZE
        self.batch_size = 1 if shape[0] == 1 else max(1, int(batch_size))
        out = outputs[0].shape
        self.dim = int(out[-1]) if out and out[-1] is not None else 0

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": f"{ONNX_PREFIX}{self.model.path}",
            "dim": self.dim,
            "weights": str(self.model.path),
            "sha256": sha256_file(self.model.path),
            "device": self.model.device,
            "input_size": self.size,
        }

    def chip(self, image: np.ndarray, landmarks5: np.ndarray | None) -> np.ndarray:
        """The ``size x size`` ArcFace-aligned RGB chip of the face with ``landmarks5`` (pixels
        of ``image``); without landmarks, ``image`` resized."""
        if landmarks5 is None:
            if image.shape[:2] == (self.size, self.size):
                return image
            return cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_AREA)
        crop, _ = align_face(image, np.asarray(landmarks5, np.float64), self.size, 0.0, "arcface")
        return crop

    def blob(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, 3, S, S)`` float32 ``(x - 127.5) / 127.5`` of RGB chips."""
        x = (np.stack(chips).astype(np.float32) - 127.5) / 127.5
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(
        self,
        faces: Sequence[np.ndarray],
        landmarks5: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Unit vectors ``float32 [N, dim]`` of the faces (source images or crops, uint8 RGB)
        located by ``landmarks5`` (pixels of each image, ``landmarks5`` order)."""
        images = check_faces(faces)
        if landmarks5 is not None and len(landmarks5) != len(images):
            raise ValueError(f"{len(images)} faces but {len(landmarks5)} landmark sets")
        if not images:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        for start in range(0, len(images), self.batch_size):
            stop = start + self.batch_size
            chips = [
                self.chip(img, None if landmarks5 is None else landmarks5[start + k])
                for k, img in enumerate(images[start:stop])
            ]
            y = np.asarray(self.model.run(self.blob(chips))[0], np.float32)
            parts.append(y.reshape(len(chips), -1))
        out = np.concatenate(parts)
        self.dim = out.shape[1]
        return l2_normalise(out)
