"""Head pose (yaw, pitch, roll in degrees) from dlib's 68 points with ``cv2.solvePnP``.

A generic 3D face (12 stable points: nose bridge and tip, nostrils, eye corners, mouth corners,
lips, chin; approximate adult proportions in millimetres, built for this project) is fitted to the
2D points (``cv2.SOLVEPNP_SQPNP``) with a pinhole camera of focal length ``max(H, W)`` pixels centred on the image.

Angles, from the fitted rotation ``R`` (model -> camera; camera x right, y down, z forward):

- **yaw** > 0: the face turns towards the image's right (the nose points right, the ear on the
  image's left comes into view);
- **pitch** > 0: the face tilts up (chin up);
- **roll** > 0: the face rotates clockwise in the image (the image-right eye is lower).

yaw and pitch are the horizontal / vertical angles of the face's normal, roll the image angle of its
left-to-right eye axis. A mirrored image gives ``(-yaw, pitch, -roll)``.
"""

from __future__ import annotations

import cv2
import numpy as np

#: dlib indices of the points used, and their 3D position (mm) on a frontal face in camera axes
#: (x to the image's right, y down, z away from the camera), origin at the nose tip.
POSE_INDICES = np.array([27, 30, 31, 33, 35, 36, 39, 42, 45, 48, 54, 8])
MODEL_3D = np.array(
    [
        [0.0, -42.0, 22.0],  # 27 nose bridge top (nasion)
        [0.0, 0.0, 0.0],  # 30 nose tip
        [-14.0, 7.0, 20.0],  # 31 nostril, image-left
        [0.0, 10.0, 17.0],  # 33 below the nose
        [14.0, 7.0, 20.0],  # 35 nostril, image-right
        [-45.0, -34.0, 40.0],  # 36 outer corner, image-left eye
        [-16.0, -35.0, 30.0],  # 39 inner corner, image-left eye
        [16.0, -35.0, 30.0],  # 42 inner corner, image-right eye
        [45.0, -34.0, 40.0],  # 45 outer corner, image-right eye
        [-26.0, 37.0, 30.0],  # 48 mouth corner, image-left
        [26.0, 37.0, 30.0],  # 54 mouth corner, image-right
        [0.0, 75.0, 25.0],  # 8 chin
    ],
    dtype=np.float64,
)


def camera_matrix(image_size: tuple[int, int]) -> np.ndarray:
    """Pinhole intrinsics for an image of ``(H, W)`` pixels: focal ``max(H, W)``, centre pixel."""
    h, w = image_size
    f = float(max(h, w))
    return np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])


def angles_from_rotation(rot: np.ndarray) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` degrees of a model -> camera rotation (conventions above)."""
    normal = rot @ np.array([0.0, 0.0, -1.0])  # points from the face towards the camera
    axis_x = rot @ np.array([1.0, 0.0, 0.0])
    yaw = np.degrees(np.arctan2(normal[0], -normal[2]))
    pitch = np.degrees(np.arctan2(-normal[1], np.hypot(normal[0], normal[2])))
    roll = np.degrees(np.arctan2(axis_x[1], axis_x[0]))
    return float(yaw), float(pitch), float(roll)


def estimate_pose(lm68: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float, float]:
    """Head pose from 68 landmarks.

    Args:
        lm68: ``(68, 2)`` points in pixels of an image of ``image_size``.
        image_size: ``(H, W)`` of that image in pixels.

    Returns:
        ``(yaw, pitch, roll)`` in degrees (conventions in the module docstring); NaNs when the fit
        fails (degenerate points).
    """
    pts = np.asarray(lm68, dtype=np.float64).reshape(-1, 2)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        return float("nan"), float("nan"), float("nan")
    image_pts = np.ascontiguousarray(pts[POSE_INDICES])
    k = camera_matrix(image_size)
    try:  # SQPnP finds the global optimum: no initial guess, no mirrored "behind the camera" fit
        ok, rvec, _ = cv2.solvePnP(MODEL_3D, image_pts, k, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:
        ok = False
    if not ok:
        return float("nan"), float("nan"), float("nan")
    rot, _ = cv2.Rodrigues(rvec)
    return angles_from_rotation(rot)
