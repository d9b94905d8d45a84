"""MediaPipe's palm detector and hand landmark model: hands inside a region of an image.

Both models are Apache-2.0 ``.tflite`` files shipped by the ``mediapipe`` wheel
(:func:`maskforge.models.mediapipe_model_path`), converted once and cached
(:mod:`maskforge.detect.tflite_weights`) and run by torch (:mod:`maskforge.detect.tflite_torch`) or,
on the CPU, by LiteRT (:mod:`maskforge.detect.tflite_runtime`).

- **Palm detector** (``palm-full`` or ``palm-lite``, 192x192 input, pixels in ``[0, 1]``): an SSD
  like BlazeFace's (:mod:`.blazeface`: same anchor grids as its short range, 24x24 with 2 anchors
  per cell and 12x12 with 6; offsets in input pixels), 7 key points per palm (0 wrist, 1 index
  finger base, 2 middle finger base, 3 ring finger base, 4 little finger base, 5 and 6 thumb);
  scores ``sigmoid(logit)`` kept from 0.5, merged by weighted NMS at IoU 0.3 as MediaPipe does.
  It runs on a square *region* of the image (for occluders: around the lower face), resampled to
  192x192 with black outside the image, so a hand is found wherever the image is large.
- **Hand landmarks** (``hand-landmark-lite``, 224x224 input, ``[0, 1]``): 21 points and a
  hand-presence probability, on MediaPipe's crop of each palm: the palm box's longer side x 2.6,
  moved half a box height towards the fingers and turned so the wrist -> middle-finger base line
  points up.

Frames: every point is in source pixels (pixel centres, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..device import resolve_device
from .blazeface import anchors, weighted_nms
from .facemesh import roi_transform, to_source
from .tflite_runtime import load_graph, resolve_runtime, run_loaded

PALM_SIDE = 192
PALM_GRIDS = ((8, 2), (16, 6))
PALM_THRESHOLD = 0.5
HAND_SIDE = 224
#: MediaPipe's palm -> hand crop: scale of the box's longer side, shift along the hand (box heights).
HAND_ROI_SCALE = 2.6
HAND_ROI_SHIFT = -0.5
#: The hand landmark model's presence probability from which its 21 points are trusted.
PRESENCE_THRESHOLD = 0.5


@dataclass
class Hand:
    """One hand in source pixels.

    Attributes:
        box: ``(4,)`` float32 palm box x1, y1, x2, y2.
        score: the palm detector's probability.
        keypoints: ``(7, 2)`` float32 palm key points (see the module doc).
        points: ``(21, 2)`` float32 hand landmarks (MediaPipe's order: wrist, then 4 per finger
            from the thumb), or None when the landmark model did not confirm the hand.
        presence: the landmark model's hand-presence probability (0 when not run).
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray
    points: np.ndarray | None = None
    presence: float = 0.0


def region_transform(centre: np.ndarray, side: float, out: int) -> np.ndarray:
    """2x3 source -> input matrix (pixel centres) of an axis-aligned square region."""
    return roi_transform(np.asarray(centre, np.float64), float(side), 0.0, out)


def hand_roi(box: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(centre (2,), side, angle)`` of the landmark crop of one palm (source pixels; ``angle``
    in radians, clockwise, 0 for a hand whose fingers point up)."""
    x0, y0 = keypoints[0]
    x1, y1 = keypoints[2]
    angle = np.pi / 2 - np.arctan2(-(y1 - y0), x1 - x0)
    angle = float((angle + np.pi) % (2 * np.pi) - np.pi)
    w, h = float(box[2] - box[0]), float(box[3] - box[1])
    centre = (np.asarray(box[:2], np.float64) + np.asarray(box[2:], np.float64)) / 2.0
    shift = HAND_ROI_SHIFT * h
    centre = centre + np.array([-shift * np.sin(angle), shift * np.cos(angle)])
    return centre, HAND_ROI_SCALE * max(w, h), angle


class HandDetector:
    """Palm detector + hand landmark model, run by torch or LiteRT.

    Args:
        palm: ``full`` or ``lite`` palm model (``full``: fewer false palms on faces, see
            docs/occluders.md).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: crops per forward pass.
        score_threshold: smallest kept palm probability.
        runtime: ``auto``, ``torch`` or ``litert`` (:func:`~.tflite_runtime.resolve_runtime`);
            :attr:`runtime` is the resolved one.
    """

    def __init__(
        self,
        palm: str = "full",
        device: str = "auto",
        batch_size: int = 32,
        score_threshold: float = PALM_THRESHOLD,
        runtime: str = "auto",
    ) -> None:
        from ..models import mediapipe_model_path

        if palm not in ("full", "lite"):
            raise ValueError(f"palm must be full or lite, not {palm!r}")
        self.device = resolve_device(device)
        self.runtime = resolve_runtime(runtime, self.device)
        self.batch_size = max(1, int(batch_size))
        self.score_threshold = float(score_threshold)
        self.model_paths = (
            str(mediapipe_model_path(f"palm-{palm}")),
            str(mediapipe_model_path("hand-landmark-lite")),
        )
        self._palm, self._hand = (
            load_graph(path, side, self.device, self.runtime)
            for path, side in zip(self.model_paths, (PALM_SIDE, HAND_SIDE), strict=True)
        )

    def _run(self, model, batch: np.ndarray) -> list[np.ndarray]:  # noqa: ANN001
        """The outputs of ``model`` for ``(N, S, S, 3)`` uint8 inputs (pixels scaled to [0, 1])."""
        return run_loaded(
            model, batch, self.runtime, self.device, 255.0, micro_batch=0, profiled=False
        )

    def palm_raw(self, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(regressors (N, 2016, 18), logits (N, 2016))`` of ``(N, 192, 192, 3)`` uint8."""
        reg, cls = self._run(self._palm, squares)
        return reg, cls[..., 0]

    def hand_raw(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(points (N, 21, 3) crop pixels, presence probabilities (N,))`` of
        ``(N, 224, 224, 3)`` uint8 crops."""
        pts, presence, _, _ = self._run(self._hand, crops)
        return pts.reshape(-1, 21, 3), presence.reshape(-1)

    def decode(
        self, reg: np.ndarray, logits: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Palms of one input in input-fraction coordinates: ``[(box xyxy, points (7, 2),
        score)]`` after thresholding and weighted NMS."""
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = np.flatnonzero(scores >= self.score_threshold)
        if keep.size == 0:
            return []
        anc = anchors(PALM_SIDE, PALM_GRIDS)[keep]
        r = reg[keep] / PALM_SIDE
        centre = anc + r[:, 0:2]
        half = r[:, 2:4] / 2.0
        boxes = np.concatenate([centre - half, centre + half], 1)
        points = r[:, 4:18].reshape(-1, 7, 2) + anc[:, None, :]
        return weighted_nms(boxes, points, scores[keep])

    def palms(
        self, images: Sequence[np.ndarray], regions: Sequence[tuple[np.ndarray, float]]
    ) -> list[list[Hand]]:
        """Palms in ``regions[i] = (centre (2,), side)`` (a square, source pixels) of
        ``images[i]`` ((H, W, 3) uint8 RGB), without landmarks."""
        out: list[list[Hand]] = []
        for start in range(0, len(images), self.batch_size):
            ms, squares = [], []
            for im, (centre, side) in zip(
                images[start : start + self.batch_size],
                regions[start : start + self.batch_size],
                strict=True,
            ):
                m = region_transform(centre, side, PALM_SIDE)
                ms.append(m)
                squares.append(
                    cv2.warpAffine(im, m, (PALM_SIDE, PALM_SIDE), flags=cv2.INTER_LINEAR)
                )
            reg, logits = self.palm_raw(np.stack(squares))
            for k, m in enumerate(ms):
                found = []
                for box, pts, score in self.decode(reg[k], logits[k]):
                    corners = to_source(
                        np.hstack([box.reshape(2, 2) * PALM_SIDE, np.zeros((2, 1))]), m
                    )
                    kps = to_source(np.hstack([pts * PALM_SIDE, np.zeros((7, 1))]), m)
                    found.append(Hand(corners[:, :2].reshape(4), score, kps[:, :2]))
                out.append(found)
        return out

    def landmarks(self, images: Sequence[np.ndarray], hands: Sequence[Hand]) -> None:
        """Fill ``points`` and ``presence`` of ``hands[i]`` (found in ``images[i]``) in place;
        ``points`` stays None below :data:`PRESENCE_THRESHOLD`."""
        for start in range(0, len(hands), self.batch_size):
            chunk = list(hands[start : start + self.batch_size])
            ms, crops = [], []
            for im, hand in zip(images[start : start + self.batch_size], chunk, strict=True):
                m = roi_transform(*hand_roi(hand.box, hand.keypoints), HAND_SIDE)
                ms.append(m)
                crops.append(cv2.warpAffine(im, m, (HAND_SIDE, HAND_SIDE), flags=cv2.INTER_LINEAR))
            pts, presence = self.hand_raw(np.stack(crops))
            for hand, p, prob, m in zip(chunk, pts, presence, ms, strict=True):
                hand.presence = float(prob)
                if prob >= PRESENCE_THRESHOLD:
                    hand.points = to_source(p, m)[:, :2]
