"""``blazeface``: MediaPipe's face detector (BlazeFace), batched, on the CPU or CUDA.

Two published models (Apache-2.0): ``short`` range (128x128 input, faces that fill a good part of
the picture, within ~2 m of a phone camera) and ``full`` range (192x192 input, smaller faces in
wider pictures). Weights come from the ``.tflite`` files (:func:`maskforge.models.mediapipe_model_path`),
converted once and cached (:mod:`maskforge.detect.tflite_weights`) for torch; on the CPU, LiteRT runs
the file itself (:mod:`maskforge.detect.tflite_runtime`).

Per image: letterbox into a square (image centred, black borders, aspect kept), resize to the
input side (bilinear down to half size, pixel areas below: :func:`letterbox`), scale pixels to
``[-1, 1]``; one forward pass per batch. Decoding follows MediaPipe's SSD scheme: fixed-size
anchors on 16x16 (2 per cell) and 8x8 (6 per cell) grids for short range, 48x48 (1 per cell) for
full range; box centre and size, and six key points, are offsets in input pixels from the anchor
centre; scores are ``sigmoid(clip(logit, -100, 100))``. Candidates above ``score_threshold`` are
merged by *weighted* non-maximum suppression (each cluster of boxes overlapping the best remaining
one at IoU >= 0.3 is replaced by their score-weighted mean box and key points, with the best
score), as MediaPipe does.

Key points (source pixels): image-left eye (the subject's right), image-right eye, nose tip, mouth
centre, image-left ear tragion, image-right ear tragion. BlazeFace has no mouth corners, so
``Face.landmarks5`` puts them on the line through the mouth centre parallel to the eyes, at
``0.415`` eye distances on either side (the ArcFace template's ratio of mouth width to eye
distance, 29.2 / 35.2, halved): good enough for a crop box; ``landmarks = "mesh"`` replaces them by
measured points.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import cv2
import numpy as np

from ..device import resolve_device
from .faces import Face
from .tflite_runtime import load_graph, resolve_runtime, run_loaded

#: range -> (model key, input side, score threshold, (stride, anchors per cell) per grid)
RANGES = {
    "short": ("blazeface-short", 128, 0.5, ((8, 2), (16, 6))),
    "full": ("blazeface-full", 192, 0.6, ((4, 1),)),
}
NMS_IOU = 0.3
MOUTH_HALF_WIDTH = 0.415  # mouth half-width in eye distances (ArcFace template)


@cache
def anchors(side: int, grids: tuple[tuple[int, int], ...]) -> np.ndarray:
    """``(A, 2)`` float32 anchor centres as fractions of the input side, in the model's output
    order (grid by grid, row by row, column by column, anchor by anchor)."""
    out = []
    for stride, per_cell in grids:
        n = -(-side // stride)
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], 1)
        out.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with ``(K, 4)`` boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(
    boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, threshold: float = NMS_IOU
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted NMS: ``[(box (4,), points (K, 2), score)]``, best first."""
    order = np.argsort(-scores, kind="stable")
    boxes, points, scores = boxes[order], points[order], scores[order]
    alive = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        cluster = alive & (iou(boxes[i], boxes) >= threshold)
        cluster[i] = True
        w = scores[cluster][:, None]
        box = (boxes[cluster] * w).sum(0) / w.sum()
        pts = (points[cluster] * w[:, :, None]).sum(0) / w.sum()
        out.append((box.astype(np.float32), pts.astype(np.float32), float(scores[i])))
        alive &= ~cluster
    return out


def letterbox(image: np.ndarray, side: int) -> tuple[np.ndarray, float, float, float]:
    """``(square, scale, dx, dy)``: ``image`` resized by ``scale`` and centred on a black
    ``side`` x ``side`` canvas at offset ``(dx, dy)`` pixels (source = (canvas - d) / scale).

    Bilinear down to half size (MediaPipe's own CPU input conversion is bilinear; at exactly half
    size it averages 2x2 pixels; 4x faster than pixel-area averaging for a 250 px LFW image),
    pixel-area averaging below half size (no aliasing on large photos)."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR  # noqa: PLR2004
    small = cv2.resize(image, (nw, nh), interpolation=interp)
    canvas = np.zeros((side, side, 3), np.uint8)
    dx, dy = (side - nw) // 2, (side - nh) // 2
    canvas[dy : dy + nh, dx : dx + nw] = small
    return canvas, nw / w, float(dx), float(dy)


def five_points(keypoints: np.ndarray) -> np.ndarray:
    """``landmarks5`` from BlazeFace's 6 key points (mouth corners estimated, see module doc)."""
    eye_l, eye_r, nose, mouth = keypoints[:4]
    half = MOUTH_HALF_WIDTH * (eye_r - eye_l)
    return np.stack([eye_l, eye_r, nose, mouth - half, mouth + half]).astype(np.float32)


class BlazeFaceDetector:
    """MediaPipe BlazeFace (``range`` ``short`` or ``full``), run by torch or LiteRT.

    Args:
        range: ``short`` (128 px input) or ``full`` (192 px input).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: images per forward pass.
        score_threshold: smallest kept score (MediaPipe's: 0.5 short, 0.6 full), a probability.
        model_path: a ``.tflite`` file instead of the packaged one.
        fallback_full: short range only: images where it finds nothing are searched again by the
            full-range model (like dlib's upsample fallback). On rwmfd-dev the short range misses
            the small faces of crowd photos and the full range some close-ups: together they find
            more than either (docs/detection.md).
        runtime: ``auto``, ``torch`` or ``litert`` (:func:`~.tflite_runtime.resolve_runtime`);
            :attr:`runtime` is the resolved one.
    """

    def __init__(
        self,
        range: str = "short",  # noqa: A002 - MediaPipe's word
        device: str = "auto",
        batch_size: int = 64,
        score_threshold: float | None = None,
        model_path: str | None = None,
        fallback_full: bool = False,
        runtime: str = "auto",
    ) -> None:
        from ..models import mediapipe_model_path

        if range not in RANGES:
            raise ValueError(f"range must be one of {', '.join(RANGES)}, not {range!r}")
        key, self.side, default_threshold, self._grids = RANGES[range]
        self.name = "blazeface" if range == "short" else "blazeface-full"
        self.range = range
        self.device = resolve_device(device)
        self.runtime = resolve_runtime(runtime, self.device)
        self.batch_size = max(1, int(batch_size))
        self.score_threshold = default_threshold if score_threshold is None else score_threshold
        self.model_path = str(model_path or mediapipe_model_path(key))
        self.model = load_graph(self.model_path, self.side, self.device, self.runtime)
        self.fallback: BlazeFaceDetector | None = None
        if fallback_full and range == "short":
            self.fallback = BlazeFaceDetector("full", device, batch_size, runtime=self.runtime)

    def raw(self, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(regressors (N, A, 16), logits (N, A))`` of ``(N, S, S, 3)`` uint8 inputs."""
        reg, cls = run_loaded(self.model, squares, self.runtime, self.device, 127.5, 1.0)
        return reg, cls[..., 0]

    def decode(
        self, reg: np.ndarray, logits: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Detections of one image in input-fraction coordinates: ``[(box xyxy, points (6, 2),
        score)]`` after thresholding and weighted NMS."""
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))  # MediaPipe clips at 100
        keep = np.flatnonzero(scores >= self.score_threshold)
        if keep.size == 0:
            return []
        anc = anchors(self.side, self._grids)[keep]
        r = reg[keep] / self.side
        centre = anc + r[:, 0:2]
        half = r[:, 2:4] / 2.0
        boxes = np.concatenate([centre - half, centre + half], 1)
        points = r[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
        return weighted_nms(boxes, points, scores[keep])

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """Faces per image for ``(H, W, 3)`` uint8 RGB images of any sizes (source pixels)."""
        out: list[list[Face]] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            boxed = [letterbox(im, self.side) for im in chunk]
            reg, logits = self.raw(np.stack([b[0] for b in boxed]))
            for k, (_, scale, dx, dy) in enumerate(boxed):
                faces = []
                for box, pts, score in self.decode(reg[k], logits[k]):
                    # input fractions -> canvas pixels (continuous) -> source pixel centres
                    b = ((box.reshape(2, 2) * self.side - (dx, dy)) / scale).reshape(4)
                    p = (pts * self.side - (dx, dy)) / scale - 0.5
                    faces.append(Face(b.astype(np.float32), score, five_points(p), keypoints=p))
                out.append(faces)
        if self.fallback is not None:
            missed = [k for k, faces in enumerate(out) if not faces]
            if missed:
                again = self.fallback.detect([images[k] for k in missed])
                for k, faces in zip(missed, again, strict=True):
                    out[k] = faces
        return out
