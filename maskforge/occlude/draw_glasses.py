"""Procedural drawing of glasses and sunglasses (template frame: see :mod:`.canvas`)."""

from __future__ import annotations

import numpy as np

from .canvas import GLASSES_IOD, GLASSES_ORIGIN, GLASSES_SIZE, Canvas, Drawing, ridge, smooth_step


def _rounded_rect_sdf(x, y, cx, cy, hw, hh, r):
    """Signed distance (positive inside) to a rounded rectangle, in the units of x/y."""
    qx = np.abs(x - cx) - (hw - r)
    qy = np.abs(y - cy) - (hh - r)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
    return -(outside - r)


def draw_glasses(family: str) -> Drawing:
    cv = Canvas(GLASSES_SIZE, GLASSES_IOD, GLASSES_ORIGIN)
    iod = cv.iod
    sun = family == "sunglasses"
    lens_hw, lens_hh, lens_r = (0.36, 0.29, 0.13) if sun else (0.30, 0.21, 0.09)
    cy = 0.03 if sun else 0.015
    frame_w = 0.045 if sun else 0.028
    lens_cover = np.zeros(cv.a.shape, np.float32)
    frame_cover = np.zeros(cv.a.shape, np.float32)
    for cx in (-0.5, 0.5):
        # slightly wider towards the temple for a natural shape
        sdf = _rounded_rect_sdf(cv.x, cv.y, cx + 0.02 * np.sign(cx), cy, lens_hw, lens_hh, lens_r)
        lens_cover = np.maximum(lens_cover, smooth_step(sdf * iod, 1.0))
        frame_cover = np.maximum(frame_cover, smooth_step((frame_w / 2 - np.abs(sdf)) * iod, 1.0))
    # bridge: an arc between the lenses
    inner = 0.5 - lens_hw + 0.02
    bx = np.clip(cv.x / inner, -1, 1)
    bridge_y = cy - lens_hh * 0.55 - 0.05 * (1 - bx**2)
    bridge = (np.abs(cv.x) < inner + 0.01) * smooth_step(
        (frame_w / 2 - np.abs(cv.y - bridge_y)) * iod, 1.0
    )
    frame_cover = np.maximum(frame_cover, bridge)
    # temples: from the lens's outer top corner towards the ear (stop inside the face edge)
    temple_y0 = cy - lens_hh * 0.7
    for sign in (-1.0, 1.0):
        x0 = sign * (0.5 + 0.02 + lens_hw - 0.01)
        x1 = sign * 1.06
        t = np.clip((cv.x - x0) / (x1 - x0), 0, 1)
        ty = temple_y0 + 0.02 * t
        on = ((cv.x - x0) * sign >= 0) & ((cv.x - x1) * sign <= 0)
        tcov = on * smooth_step((frame_w * 0.45 - np.abs(cv.y - ty)) * iod, 1.0)
        tcov = tcov * smooth_step((x1 - cv.x) * sign * iod, 1.0)
        frame_cover = np.maximum(frame_cover, tcov)
    if sun:
        grad = 0.06 + 0.10 * np.clip((cv.y - cy + lens_hh) / (2 * lens_hh), 0, 1)
        cv.paint(lens_cover, grad[..., None].repeat(3, 2), 0.86, colorw=0.0)
        glint = ridge(
            (cv.x + 0.25 * cv.y) * iod - np.where(cv.x < 0, -0.62, 0.38) * iod, 0.0, 0.03 * iod
        )
        cv.paint(lens_cover * glint, (1.0, 1.0, 1.0), 0.18, colorw=0.0)
        parts = ["frame", "dark lenses (fixed)"]
    else:
        cv.paint(lens_cover, (0.80, 0.86, 0.92), 0.10, colorw=0.0)
        glint = ridge(
            (cv.x + 0.35 * cv.y) * iod - np.where(cv.x < 0, -0.62, 0.38) * iod, 0.0, 0.025 * iod
        )
        cv.paint(lens_cover * glint, (1.0, 1.0, 1.0), 0.22, colorw=0.0)
        parts = ["frame", "clear tinted lenses (fixed)"]
    fshade = 0.85 + 0.15 * np.clip(-(cv.y - cy) / lens_hh, -1, 1)
    cv.paint(frame_cover, fshade[..., None].repeat(3, 2), 1.0, colorw=1.0)
    return cv.result(parts)
