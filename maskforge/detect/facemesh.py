"""``mesh``: MediaPipe Face Mesh (468 3D points) in torch or LiteRT, batched, CPU or CUDA.

The model (``face_landmark.tflite``, Apache-2.0) takes a 192x192 crop of the face, rotated so the
eyes are level, pixels in ``[0, 1]``, and returns 468 ``(x, y, z)`` points in crop pixels plus a
face-presence logit. The crop (the *region of interest*) is MediaPipe's: a square of 1.5x the
detection box's longer side, centred on the box, rotated by the image angle of the eye line. For
detectors without BlazeFace's box (dlib, MTCNN, hints) the square is built from the 5 points: the
HOG-like box of :func:`~maskforge.detect.landmarks.box_from_landmarks5`, scaled by
:data:`HOG_TO_ROI` (measured on lfw-dev so that both give the same square on average).

Frames: points come back in *source* pixels (pixel centres, see docs/architecture.md); ``z`` is
scaled like ``x`` (source pixels), smaller is nearer the camera.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..device import resolve_device
from .faces import Face
from .landmarks import box_from_landmarks5
from .tflite_runtime import load_graph, resolve_runtime, run_loaded

SIDE = 192
ROI_SCALE = 1.5
#: Crops per forward pass on the CPU (:func:`~maskforge.detect.tflite_torch.run_graph`).
CPU_PASS = 8
#: ROI side / HOG-like box side for faces without a BlazeFace box (lfw-dev median, see
#: docs/detection.md).
HOG_TO_ROI = 1.59


def face_roi(face: Face) -> tuple[np.ndarray, float, float]:
    """``(centre (2,), side, angle)`` of the mesh crop in source pixels; ``angle`` in radians is
    the image angle of the eye line (image-left eye -> image-right eye, clockwise positive)."""
    lm5 = np.asarray(face.landmarks5, np.float64)
    if face.keypoints is not None:
        box = np.asarray(face.box, np.float64)
        side = ROI_SCALE * max(box[2] - box[0], box[3] - box[1])
        eyes = np.asarray(face.keypoints[:2], np.float64)
    else:
        box = box_from_landmarks5(lm5).astype(np.float64)
        side = HOG_TO_ROI * (box[2] - box[0])
        eyes = lm5[:2]
    centre = (box[:2] + box[2:]) / 2.0
    d = eyes[1] - eyes[0]
    return centre, float(side), float(np.arctan2(d[1], d[0]))


def roi_transform(centre: np.ndarray, side: float, angle: float, out: int = SIDE) -> np.ndarray:
    """2x3 source -> crop matrix (pixel centres): the ROI square (``side`` source pixels, turned
    by ``angle`` radians clockwise) onto ``out x out``, upright (for faces: eyes level)."""
    s = out / side
    c, n = np.cos(angle) * s, np.sin(angle) * s
    rot = np.array([[c, n], [-n, c]])
    mid = (out - 1) / 2.0
    return np.hstack([rot, (mid - rot @ centre)[:, None]])


class FaceMesh:
    """MediaPipe Face Mesh, run by torch or LiteRT.

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: crops per forward pass.
        model_path: a ``.tflite`` file instead of the packaged one.
        runtime: ``auto``, ``torch`` or ``litert`` (:func:`~.tflite_runtime.resolve_runtime`);
            :attr:`runtime` is the resolved one.
    """

    name = "mesh"

    def __init__(
        self,
        device: str = "auto",
        batch_size: int = 64,
        model_path: str | None = None,
        runtime: str = "auto",
    ) -> None:
        from ..models import mediapipe_model_path

        self.device = resolve_device(device)
        self.runtime = resolve_runtime(runtime, self.device)
        self.batch_size = max(1, int(batch_size))
        self.model_path = str(model_path or mediapipe_model_path("face-mesh"))
        self.model = load_graph(self.model_path, SIDE, self.device, self.runtime)

    def raw(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(points (N, 468, 3) crop pixels, presence logits (N,))`` of ``(N, 192, 192, 3)``
        uint8 crops."""
        pts, logit = run_loaded(
            self.model, crops, self.runtime, self.device, 255.0, micro_batch=CPU_PASS
        )
        return pts.reshape(-1, 468, 3), logit.reshape(-1)

    def crop(self, image: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
        """``(crop (192, 192, 3) uint8, 2x3 source -> crop matrix)`` for one face."""
        m = roi_transform(*face_roi(face))
        crop = cv2.warpAffine(
            image, m, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        return crop, m

    def __call__(
        self, images: Sequence[np.ndarray], faces: Sequence[Face]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Mesh of ``faces[i]`` in ``images[i]``: ``([(468, 3) float32 source pixels], presence
        probabilities (N,))``."""
        meshes: list[np.ndarray] = []
        presence = []
        for start in range(0, len(faces), self.batch_size):
            cut = [
                self.crop(im, f)
                for im, f in zip(
                    images[start : start + self.batch_size],
                    faces[start : start + self.batch_size],
                    strict=True,
                )
            ]
            pts, logits = self.raw(np.stack([c for c, _ in cut]))
            presence.append(1.0 / (1.0 + np.exp(-logits)))
            for (_, m), p in zip(cut, pts, strict=True):
                meshes.append(to_source(p, m))
        prob = np.concatenate(presence) if presence else np.zeros(0)
        return meshes, prob.astype(np.float32)


def to_source(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Crop-frame mesh output (continuous pixels) -> ``(468, 3)`` float32 source pixels; ``z``
    divided by the crop's scale."""
    a = m[:, :2]
    inv = np.linalg.inv(a)
    xy = (points[:, :2] - 0.5 - m[:, 2]) @ inv.T
    scale = float(np.sqrt(abs(np.linalg.det(a))))
    return np.hstack([xy, points[:, 2:3] / scale]).astype(np.float32)
