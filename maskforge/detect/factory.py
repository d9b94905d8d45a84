"""``make_detector``: one constructor for every detector name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..models import sha256_file
from ..onnxrt import onnx_path, require_file
from .faces import Face
from .landmarks import Landmarker68


class Detector(Protocol):
    """What every detector offers: ``detect(images) -> faces per image`` (source pixels)."""

    name: str

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]: ...


def make_detector(name: str, landmarker: Landmarker68 | None = None, **kwargs: Any) -> Detector:
    """Build a detector by name.

    - ``dlib-hog``: ``upsample=0, upsample_fallback=1, adjust_threshold=0.0``;
    - ``mtcnn``: ``device="auto", min_face_size=20, thresholds=(0.6, 0.7, 0.7), factor=0.709,
      batch_size=32, batched=True, letterbox=True`` (mixed sizes are letterboxed onto a few
      canvas sizes and batched per canvas);
    - ``dlib-cnn``: ``upsample=0, upsample_fallback=1, model_path=None``;
    - ``blazeface`` / ``blazeface-full``: MediaPipe's short range detector with the full range
      one for images where it finds nothing (``fallback_full=True``) / the full range alone;
      ``device="auto", batch_size=64, score_threshold=None, model_path=None, runtime="auto"``
      (torch or LiteRT: :func:`~.tflite_runtime.resolve_runtime`).
    - ``onnx:PATH``: ``device="auto", input_size=640, threshold=0.5, nms_iou=0.4, threads=None``
      (SCRFD / RetinaFace-style, :mod:`maskforge.detect.scrfd`).

    ``landmarker`` shares one loaded 68-point model with the dlib detectors and the ONNX models
    without points (ignored by MTCNN). Raises ValueError for an unknown name or bad arguments,
    ModelFileMissingError for a missing ONNX file.
    """
    path = onnx_path(name)
    if path is not None:
        from .scrfd import OnnxFaceDetector

        return OnnxFaceDetector(str(path), landmarker=landmarker, **kwargs)
    if name == "dlib-hog":
        from .dlib_hog import DlibHogDetector

        return DlibHogDetector(landmarker=landmarker, **kwargs)
    if name == "mtcnn":
        from .mtcnn import MtcnnDetector

        return MtcnnDetector(**kwargs)
    if name == "dlib-cnn":
        from .dlib_cnn import DlibCnnDetector

        return DlibCnnDetector(landmarker=landmarker, **kwargs)
    if name in ("blazeface", "blazeface-full"):
        from .blazeface import BlazeFaceDetector

        if name == "blazeface":
            return BlazeFaceDetector("short", **{"fallback_full": True, **kwargs})
        return BlazeFaceDetector("full", **kwargs)
    raise ValueError(
        f"unknown detector {name!r}; known: dlib-hog, mtcnn, dlib-cnn, blazeface, blazeface-full, "
        "onnx:PATH"
    )


def detector_identity(name: str) -> dict[str, Any]:
    """What identifies a detector's output, without loading it: ``name`` (``onnx`` for an ONNX
    file), and for ONNX files ``weights`` (path) and ``sha256`` (for cache keys and the
    manifest; the path itself belongs in neither key). ModelFileMissingError for a missing file."""
    path = onnx_path(name)
    if path is None:
        return {"name": name}
    path = require_file(path, "ONNX detector", '[detect] detector = "onnx:PATH"')
    return {"name": "onnx", "weights": str(path), "sha256": sha256_file(path)}
