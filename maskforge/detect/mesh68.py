"""The 68 iBUG points (dlib numbering), the 5 alignment points and head pose from Face Mesh.

:data:`MESH68` gives, for each of dlib's 68 points in order, the Face Mesh index (or the two
indices whose midpoint is used) that lands nearest it on average. It was derived on the even half
of lfw-dev's identities and validated on the odd half by ``benchmarks/derive_mesh68.py`` (the table,
its method and the per-region errors are in docs/models.md). The jaw is the weakest region by
nature: dlib's jaw points follow the face's silhouette, which slides over the skin as the head
turns, while a mesh point stays on the skin.

The 5 points are :func:`~maskforge.detect.landmarks.landmarks5_from_68` of these 68 (eye centres
as the mean of the six eye-contour points, nose tip, mouth corners), so they mean what dlib's mean.

Head pose fits the 3D face of :mod:`maskforge.detect.pose` to the mesh's own 3D points at the same
12 landmarks (a scaled rotation, least squares), so yaw, pitch and roll follow that module's
conventions without a camera model (pitch shifted by :data:`PITCH_OFFSET`). On lfw-dev the fit
agrees with the 68-point pose to 2.7 deg yaw, 4.7 deg pitch and 1.4 deg roll (mean absolute
difference; docs/models.md).
"""

from __future__ import annotations

import numpy as np

from .landmarks import landmarks5_from_68
from .pose import MODEL_3D, POSE_INDICES, angles_from_rotation

#: Face Mesh index, or index pair (midpoint), per dlib point 0..67 (benchmarks/derive_mesh68.py).
MESH68: tuple[tuple[int, ...], ...] = (
    # jaw 0..16
    (127,), (234, 93), (132, 93), (215, 58), (172,), (136, 150), (149,), (148, 176), (152,),
    (377, 400), (378,), (365, 379), (397,), (435,), (361, 366), (454, 366), (356,),
    # brows 17..26
    (70, 124), (53, 63), (105, 65), (65, 107), (9, 56), (8, 295), (336, 282), (296, 293),
    (300, 334), (300, 383),
    # nose 27..35
    (168, 6), (195, 6), (281, 3), (275, 44), (60, 98), (20, 167), (164, 2), (326,), (305, 327),
    # eyes 36..47
    (144, 130), (144, 27), (173, 159), (155, 112), (145, 26), (110, 153),
    (256, 398), (380, 258), (259, 374), (249,), (390, 253), (256, 373),
    # outer lips 48..59
    (185, 43), (42, 39), (0, 73), (38, 267), (269, 0), (269, 415), (307, 287), (406, 321),
    (313, 315), (17, 18), (18, 181), (182, 90),
    # inner lips 60..67
    (146, 191), (41, 13), (13,), (310, 13), (308, 375), (316,), (315, 87), (180, 14),
)  # fmt: skip

#: Degrees added to the fitted pitch: the mean pitch difference between the 68-point solvePnP pose
#: and this fit on lfw-dev (the generic 3D face and the mesh's depth disagree on where "level" is),
#: so both landmark sources report pitch on one scale (benchmarks/derive_mesh68.py prints it).
PITCH_OFFSET = 7.45

_FIRST = np.array([idx[0] for idx in MESH68])
_SECOND = np.array([idx[-1] for idx in MESH68])


def mesh_to_68(mesh: np.ndarray) -> np.ndarray:
    """``(68, 2)`` float32 points (dlib numbering) from a ``(468, 2 or 3)`` mesh, same frame."""
    xy = np.asarray(mesh, np.float32)[:, :2]
    return ((xy[_FIRST] + xy[_SECOND]) / 2.0).astype(np.float32)


def mesh_to_68_3d(mesh: np.ndarray) -> np.ndarray:
    """``(68, 3)`` float64 mapped points with their depth (mesh frame)."""
    m = np.asarray(mesh, np.float64)
    return (m[_FIRST] + m[_SECOND]) / 2.0


def landmarks5_from_mesh(mesh: np.ndarray) -> np.ndarray:
    """``(5, 2)`` float32 ``landmarks5`` (order of docs/architecture.md) from a mesh."""
    return landmarks5_from_68(mesh_to_68(mesh))


def pose_from_mesh(mesh: np.ndarray) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` degrees (:mod:`maskforge.detect.pose` conventions) from a
    ``(468, 3)`` mesh whose ``x, y`` are image pixels (y down) and ``z`` depth in the same scale
    (larger is further). NaNs for a degenerate or non-finite mesh."""
    m = np.asarray(mesh, np.float64)
    if m.shape != (468, 3) or not np.isfinite(m).all():
        return float("nan"), float("nan"), float("nan")
    target = mesh_to_68_3d(m)[POSE_INDICES]
    src = MODEL_3D - MODEL_3D.mean(0)
    dst = target - target.mean(0)
    u, s, vt = np.linalg.svd(dst.T @ src)
    if s[1] < 1e-9:
        return float("nan"), float("nan"), float("nan")
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, 1.0, d]) @ vt
    yaw, pitch, roll = angles_from_rotation(rot)
    return yaw, pitch + PITCH_OFFSET, roll
