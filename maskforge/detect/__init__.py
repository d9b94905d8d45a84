"""Face detection, selection, alignment, 68-point landmarks and head pose.

Public API::

    from maskforge.detect import (Face, AlignedFace, DetectReject, DetectConfig, DetectStage,
                                  make_detector, select_face, Landmarker68, estimate_pose,
                                  align_face, detector_identity)

See docs/detection.md. Heavy libraries (torch, facenet-pytorch) load only when MTCNN is used; onnxruntime only for
``detector = "onnx:PATH"`` (your own SCRFD / RetinaFace-style model, :mod:`.scrfd`).
"""

from .align import align_face, apply_transform, crop_box, invert_transform, template_points
from .config import DetectConfig
from .faces import AlignedFace, DetectReject, Face
from .factory import detector_identity, make_detector
from .key import DETECT_CODE_VERSION, cache_key
from .landmarks import Landmarker68, box_from_landmarks5, landmarks5_from_68, mirror_points
from .pose import estimate_pose
from .selection import select_face
from .stage import DetectStage

__all__ = [
    "cache_key",
    "DETECT_CODE_VERSION",
    "AlignedFace",
    "DetectConfig",
    "DetectReject",
    "DetectStage",
    "Face",
    "Landmarker68",
    "align_face",
    "apply_transform",
    "box_from_landmarks5",
    "crop_box",
    "detector_identity",
    "estimate_pose",
    "invert_transform",
    "landmarks5_from_68",
    "make_detector",
    "mirror_points",
    "select_face",
    "template_points",
]
