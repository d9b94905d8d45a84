"""dlib's face chips (``dlib.get_face_chip`` geometry), cut with OpenCV from any image.

dlib's face ResNet expects 150x150 chips aligned the way ``get_face_chip_details`` aligns a 5-point
shape: a least-squares similarity maps dlib's 5-point template (padded by ``padding``, scaled to
``size``) onto the face's points; the chip is the rectangle of ``size * scale`` source pixels
around the template centre's image, rotated by the similarity's angle, sampled bilinearly with
black outside the image. :func:`chip_transform` reproduces that mapping exactly (dlib's rectangle
spans ``size * scale - 1`` pixels between its first and last sample), :func:`cut_chips` applies
it with ``cv2.warpAffine``.

dlib's 5 points (its ``shape_predictor_5_face_landmarks``) are eye corners and the bottom of the
nose; from 68-point landmarks (iBUG numbering) they are points 45, 42, 36, 39, 33
(:data:`DLIB5_FROM_68`). All points are ``(x, y)`` pixels of the image they are cut from.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..detect.align import apply_transform, invert_transform, similarity_transform, warp

CHIP_SIZE = 150
CHIP_PADDING = 0.25

#: dlib's 5-point template (get_face_chip_details), in units of the unpadded face square.
DLIB5_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)

#: 68-point indices of dlib's 5 points: outer and inner corner of the eye on the image's right,
#: outer and inner corner of the eye on the image's left, bottom of the nose.
DLIB5_FROM_68 = (45, 42, 36, 39, 33)


def dlib5_from_68(landmarks68: np.ndarray) -> np.ndarray:
    """dlib's 5 points ``(5, 2)`` float64 from 68-point landmarks ``(68, 2)``."""
    pts = np.asarray(landmarks68, dtype=np.float64).reshape(68, 2)
    return pts[list(DLIB5_FROM_68)]


def chip_transform(
    points5: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> np.ndarray:
    """2x3 float64 matrix mapping image pixels to chip pixels (``cv2.warpAffine`` convention) for
    a face with dlib's 5 points ``points5`` (image pixels)."""
    template = (padding + DLIB5_TEMPLATE) / (2 * padding + 1) * size
    m = similarity_transform(template, points5)  # chip -> image, dlib's find_similarity_transform
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    rot = m[:, :2] / scale
    centre = m[:, :2] @ np.array([size / 2.0, size / 2.0]) + m[:, 2]
    # dlib: rect = centered_drect(centre, size*scale, size*scale) spans size*scale - 1 pixels
    # between chip pixel 0 and chip pixel size-1, rotated about its centre.
    step = (size * scale - 1.0) / (size - 1)
    half = (size - 1) / 2.0
    lin = rot * step  # chip -> image, linear part
    to_image = np.column_stack([lin, centre - lin @ np.array([half, half])])
    return invert_transform(to_image)


def _pyramid(image: np.ndarray, m: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Halve the image (Gaussian pyramid) while the chip would sample more than 2 source pixels
    per chip pixel, as dlib does, adjusting the transform; return (image, transform)."""
    side = size / max(float(np.hypot(m[0, 0], m[0, 1])), 1e-12)  # source pixels across the chip
    while side / 2 > size and min(image.shape[:2]) > 2:
        image = cv2.pyrDown(image)
        m = m.copy()
        m[:, :2] *= 2.0
        side /= 2
    return image, m


def cut_chip(
    image: np.ndarray, points5: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> np.ndarray:
    """The ``size`` x ``size`` RGB uint8 chip of one face (black outside the image)."""
    m = chip_transform(points5, size, padding)
    src, m = _pyramid(np.ascontiguousarray(image), m, size)
    return warp(src, m, size)


def cut_chips(
    images: Sequence[np.ndarray],
    landmarks68: Sequence[np.ndarray],
    size: int = CHIP_SIZE,
    padding: float = CHIP_PADDING,
) -> np.ndarray:
    """Chips ``uint8 [N, size, size, 3]`` of faces given by their image and 68-point landmarks
    (pixels of that image)."""
    if len(images) != len(landmarks68):
        raise ValueError(f"{len(images)} images but {len(landmarks68)} landmark sets")
    out = np.zeros((len(images), size, size, 3), np.uint8)
    for i, (img, lm) in enumerate(zip(images, landmarks68, strict=True)):
        out[i] = cut_chip(img, dlib5_from_68(lm), size, padding)
    return out


def landmarks_to_source(landmarks: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Points of an output frame mapped back to the source image through the stored 2x3
    source -> output ``transform`` (float32 ``(K, 2)``)."""
    m = np.asarray(transform, np.float64).reshape(2, 3)
    return apply_transform(invert_transform(m), landmarks)
