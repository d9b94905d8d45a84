"""The 68 iBUG points (dlib numbering), the 5 alignment points and head pose from Face Mesh.

:data:`MESH68` gives, for each of dlib's 68 points in order, a Face Mesh point or a point on the
line through two of them, the one that lands nearest it on average. It was derived on the even half
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

#: Per dlib point 0..67, ``(a, b, t)``: the point ``mesh[a] + t * (mesh[b] - mesh[a])`` (t = 0: the
#: mesh point ``a``; 0.5: a midpoint; < 0: beyond ``a`` away from ``b``, which reaches dlib's
#: silhouette jaw from the mesh's skin points). From benchmarks/derive_mesh68.py.
MESH68: tuple[tuple[int, int, float], ...] = (
    # jaw 0..16
    (127, 34, -0.5), (234, 127, -0.5), (132, 93, 0.5), (215, 213, -0.5), (138, 192, -0.5),
    (169, 204, -0.5), (176, 171, -1.0), (148, 199, -0.5), (175, 200, -1.0), (377, 199, -0.5),
    (400, 396, -1.0), (394, 424, -0.5), (364, 430, -1.0), (435, 433, -0.5), (401, 433, -0.5),
    (447, 372, -0.5), (264, 372, -1.0),
    # brows 17..26
    (70, 124, 0.5), (53, 63, 0.5), (52, 224, -0.5), (65, 223, -0.5), (55, 221, -0.5),
    (8, 295, 0.5), (336, 282, 0.5), (282, 444, -0.5), (283, 444, -0.5), (300, 383, 0.5),
    # nose 27..35
    (168, 8, -0.5), (195, 6, 0.5), (281, 3, 0.5), (275, 44, 0.5), (60, 98, 0.5), (97, 99, -0.5),
    (164, 2, 0.5), (326, 326, 0.0), (460, 455, -0.5),
    # eyes 36..47
    (144, 130, 0.5), (144, 27, 0.5), (173, 159, 0.5), (155, 112, 0.5), (145, 26, 0.5),
    (110, 153, 0.5), (256, 398, 0.5), (380, 258, 0.5), (259, 374, 0.5), (390, 373, -1.0),
    (390, 253, 0.5), (256, 373, 0.5),
    # outer lips 48..59
    (76, 185, -0.5), (42, 39, 0.5), (0, 73, 0.5), (38, 267, 0.5), (269, 0, 0.5), (269, 415, 0.5),
    (291, 409, -0.5), (406, 321, 0.5), (314, 315, -0.5), (17, 16, -0.5), (84, 85, -0.5),
    (182, 90, 0.5),
    # inner lips 60..67
    (146, 191, 0.5), (38, 72, -0.5), (12, 11, -1.0), (302, 267, -1.0), (292, 409, -0.5),
    (316, 316, 0.0), (315, 87, 0.5), (180, 14, 0.5),
)  # fmt: skip

#: Degrees added to the fitted pitch: the mean pitch difference between the 68-point solvePnP pose
#: and this fit on lfw-dev (the generic 3D face and the mesh's depth disagree on where "level" is),
#: so both landmark sources report pitch on one scale (benchmarks/derive_mesh68.py prints it).
PITCH_OFFSET = 7.45

#: The jaw correction of :func:`mesh_to_68`, in eye-corner distances (36-45 of the mapped points).
#: Calibrated for mask placement on the even half of lfw-dev's identities (reported on the odd half,
#: docs/models.md): the side inset that minimised spill past dlib's outline, then the largest chin
#: drop whose spill stayed at or below the uncorrected table's (``bench_mesh_placement.py --split
#: even --jaw 0:0,0.02:0.06,...``). Zero both for the plain :data:`MESH68` points.
CHIN_DROP = 0.02
JAW_INSET = 0.06

_FIRST = np.array([e[0] for e in MESH68])
_SECOND = np.array([e[1] for e in MESH68])
_STEP = np.array([e[2] for e in MESH68])


def mesh_to_68(
    mesh: np.ndarray, chin_drop: float | None = None, jaw_inset: float | None = None
) -> np.ndarray:
    """``(68, 2)`` float32 points (dlib numbering) from a ``(468, 2 or 3)`` mesh, same frame: the
    :data:`MESH68` points, then the jaw corrected in the frame of the mapped eye corners 36-45
    (unit: their distance; down: perpendicular to them): chin points 6-10 moved down by
    ``chin_drop`` (default :data:`CHIN_DROP`), jaw points 0-5 and 11-16 moved towards the face's
    middle by ``jaw_inset`` (default :data:`JAW_INSET`)."""
    xy = np.asarray(mesh, np.float32)[:, :2]
    out = xy[_FIRST] + _STEP[:, None] * (xy[_SECOND] - xy[_FIRST])
    across = out[45] - out[36]  # image-left eye corner -> image-right, length = the unit
    down = np.array([-across[1], across[0]], np.float32)
    drop = CHIN_DROP if chin_drop is None else chin_drop
    inset = JAW_INSET if jaw_inset is None else jaw_inset
    out[6:11] += np.float32(drop) * down
    out[0:6] += np.float32(inset) * across
    out[11:17] -= np.float32(inset) * across
    return out.astype(np.float32)


def mesh_to_68_3d(mesh: np.ndarray) -> np.ndarray:
    """``(68, 3)`` float64 mapped points with their depth (mesh frame)."""
    m = np.asarray(mesh, np.float64)
    return m[_FIRST] + _STEP[:, None] * (m[_SECOND] - m[_FIRST])


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
