"""Choosing one face per image.

Policies (``select_face(..., policy=...)``):

- ``largest``: the box with the largest area;
- ``center``: the box whose centre is closest to the image centre (CASIA, VGGFace2 and LFW photos
  are centred on the labelled person);
- ``best``: the highest detector score;
- ``center-weighted`` (default): the largest ``side - 2 * offset``, where ``side`` is the geometric
  mean of the box's width and height and ``offset`` the distance of its centre from the image
  centre (pixels): a face off-centre by ``d`` pixels must be ``2 d`` pixels larger to win.

Filters run before choosing: faces under ``min_score`` go first (reason ``low_score`` if none is
left), then boxes whose smaller side is under ``min_size`` pixels (``face_too_small``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from .faces import Face

#: Which face is kept when an image has several (:data:`POLICIES` is derived from it).
Policy = Literal["center-weighted", "center", "largest", "best"]
POLICIES: tuple[Policy, ...] = get_args(Policy)
CENTER_WEIGHT = 2.0


def _offset(face: Face, image_shape: tuple[int, int]) -> float:
    h, w = image_shape[:2]
    cx = (face.box[0] + face.box[2]) / 2.0
    cy = (face.box[1] + face.box[3]) / 2.0
    return float(np.hypot(cx - (w - 1) / 2.0, cy - (h - 1) / 2.0))


def _side(face: Face) -> float:
    return float(np.sqrt(max(face.width, 0.0) * max(face.height, 0.0)))


def select_face(
    faces: Sequence[Face],
    image_shape: tuple[int, int],
    policy: str = "center-weighted",
    min_size: float = 0.0,
    min_score: float | None = None,
) -> tuple[Face | None, str | None]:
    """Pick one face.

    Args:
        faces: candidates in source pixels.
        image_shape: ``(H, W)`` (or ``(H, W, C)``) of the source image.
        policy: one of :data:`POLICIES`.
        min_size: smallest accepted box side (the smaller of width and height), pixels.
        min_score: smallest accepted detector score (``None``: no limit).

    Returns:
        ``(face, None)``, or ``(None, reason)`` with reason ``no_face``, ``low_score`` or
        ``face_too_small``.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown selection policy {policy!r}; known: {POLICIES}")
    if not faces:
        return None, "no_face"
    cands = list(faces)
    if min_score is not None:
        cands = [f for f in cands if f.score >= min_score]
        if not cands:
            return None, "low_score"
    cands = [f for f in cands if min(f.width, f.height) >= min_size]
    if not cands:
        return None, "face_too_small"
    if policy == "largest":
        return max(cands, key=_side), None
    if policy == "best":
        return max(cands, key=lambda f: f.score), None
    if policy == "center":
        return max(cands, key=lambda f: -_offset(f, image_shape)), None
    return max(cands, key=lambda f: _side(f) - CENTER_WEIGHT * _offset(f, image_shape)), None
