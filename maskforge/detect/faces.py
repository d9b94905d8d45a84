"""Data classes exchanged by the detect stage.

Frames: ``Face`` lives in the *source* image's pixel frame; ``AlignedFace`` holds points and box in
the *output* (aligned crop) frame plus the 2x3 transform that maps source pixels to output pixels
(``cv2.warpAffine`` convention, see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Face:
    """One detected face in a source image.

    Attributes:
        box: ``(4,)`` float32 ``(x1, y1, x2, y2)`` in source pixels.
        score: detector confidence. Its scale depends on the detector: dlib HOG gives an SVM
            margin (about -0.5 .. 3.5, detections start at the detector's threshold), dlib CNN the
            MMOD confidence (about -1 .. 2), MTCNN and ONNX detectors a probability in ``[0, 1]``.
        landmarks5: ``(5, 2)`` float32 source pixels, order: image-left eye centre, image-right
            eye centre, nose tip, image-left mouth corner, image-right mouth corner.
        landmarks68: ``(68, 2)`` float32 source pixels when the detector already computed them
            (the dlib detectors do, since their 5 points come from the 68), else ``None``.
        keypoints: the detector's own key points when they are not the 5 (BlazeFace: ``(6, 2)``
            float32 source pixels: image-left eye, image-right eye, nose tip, mouth centre,
            image-left ear, image-right ear), else ``None``.
        mesh: ``(468, 3)`` float32 Face Mesh points once computed: ``x, y`` source pixels, ``z``
            depth in the same pixel scale (smaller is nearer the camera, 0 near the face's
            centre plane), else ``None``.
    """

    box: np.ndarray
    score: float
    landmarks5: np.ndarray
    landmarks68: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    mesh: np.ndarray | None = None

    @property
    def width(self) -> float:
        """Box width in source pixels."""
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        """Box height in source pixels."""
        return float(self.box[3] - self.box[1])


@dataclass
class AlignedFace:
    """One face cropped (aligned or not) to a square ``S x S`` output image.

    Attributes:
        image: ``(S, S, 3)`` uint8 RGB crop.
        bbox: ``(4,)`` float32 detection box mapped to output pixels (axis-aligned bounds of the
            mapped corners).
        det_score: detector score (1.0 when geometry was supplied as a hint).
        landmarks5: ``(5, 2)`` float32 output pixels.
        landmarks68: ``(68, 2)`` float32 output pixels (dlib iBUG numbering).
        pose: ``(3,)`` float32 ``(yaw, pitch, roll)`` in degrees, estimated in the source frame.
        transform: ``(2, 3)`` float64 source -> output affine matrix.
        source_bbox: ``(4,)`` float32 detection box in source pixels.
        mesh: ``(468, 3)`` float32 Face Mesh points in output pixels (``z`` scaled like ``x``)
            with ``landmarks = "mesh"``, else ``None``.
    """

    image: np.ndarray
    bbox: np.ndarray
    det_score: float
    landmarks5: np.ndarray
    landmarks68: np.ndarray
    pose: np.ndarray
    transform: np.ndarray
    source_bbox: np.ndarray
    mesh: np.ndarray | None = None


@dataclass
class DetectReject:
    """An input the detect stage could not turn into a face.

    ``reason`` is a short code: ``no_face``, ``face_too_small``, ``low_score``, ``bad_image``,
    ``bad_hint``, ``alignment_failed``, ``face_cut`` (too much of the output would lie outside the
    source image); ``detail`` says what was seen.
    """

    reason: str
    detail: str
    stage: str = "detect"
