"""Your own ONNX face detector (``detector = "onnx:PATH"``): SCRFD and RetinaFace-style models
with insightface's output layouts, run by onnxruntime.

**Input.** The RGB image is letterboxed into the network's input (its static ``H x W``, else
``input_size`` squared, 640 by default): scaled to fit with its aspect ratio kept, placed at the
top-left of a black canvas; pixels become ``(x - 127.5) / 128``, NCHW float32, RGB (insightface
feeds its BGR images with the channels swapped, i.e. RGB).

**Outputs.** Per feature level of stride ``s`` (8, 16, 32; or 8 .. 128 for 5-level models), a
score per anchor ``(A, 1)``, box distances ``(A, 4)`` and, with key points, point offsets
``(A, 10)``, where ``A = (H / s) x (W / s) x anchors``. The layouts: 9 outputs (3 levels with
points: SCRFD 10g, 2.5g, 500m, ``*_bnkps``), 6 (3 levels, no points), 15 and 10 (5 levels, with
and without points). Outputs are matched to their role by their last dimension (1, 4, 10) and to
their level by their row count, so their order in the graph does not matter; a leading batch
dimension of 1 is dropped.

**Decoding.** Anchor centres are ``(x, y) = (column, row) x s``, each repeated once per anchor of
the location. A box is ``(cx - d0, cy - d1, cx + d2, cy + d3)`` and point ``k`` is
``(cx + o_2k, cy + o_2k+1)``, with the distances and offsets multiplied by ``s``. Anchors scoring
``>= threshold`` are kept, sorted by score and thinned by greedy non-maximum suppression
(IoU ``> nms_iou`` with a better box removes a box), then mapped back to source pixels.

**Points.** The 5 points are in the ``landmarks5`` order (image-left eye first). Models without
points get them from the 68-point predictor run on the box (twice: on the box, then on the dlib-like
box rebuilt from the first points), as for a box given as a hint.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..errors import RecipeError
from ..models import sha256_file
from ..onnxrt import OnnxModel
from .faces import Face
from .landmarks import Landmarker68, box_from_landmarks5, landmarks5_from_68

#: Output counts of the layouts understood, and their (strides, has points).
LAYOUTS: dict[int, tuple[tuple[int, ...], bool]] = {
    6: ((8, 16, 32), False),
    9: ((8, 16, 32), True),
    10: ((8, 16, 32, 64, 128), False),
    15: ((8, 16, 32, 64, 128), True),
}


def anchor_centres(height: int, width: int, stride: int, anchors: int) -> np.ndarray:
    """``(height x width x anchors, 2)`` float32 ``(x, y)`` centres in network-input pixels,
    row-major over the feature map, each location's anchors consecutive."""
    ys, xs = np.mgrid[:height, :width]
    centres = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centres, anchors, axis=0)


def distance_boxes(centres: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Boxes ``(N, 4)`` ``(x1, y1, x2, y2)`` from centres ``(N, 2)`` and distances ``(N, 4)``
    (left, top, right, bottom; already in pixels)."""
    return np.concatenate([centres - distances[:, :2], centres + distances[:, 2:4]], axis=1)


def distance_points(centres: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Points ``(N, K, 2)`` from centres ``(N, 2)`` and offsets ``(N, 2K)`` (pixels)."""
    return centres[:, None, :] + offsets.reshape(len(offsets), offsets.shape[1] // 2, 2)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first: a box is
    dropped when its IoU with a kept, better box exceeds ``iou``."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float64) for i in range(4))
    area = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-12)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def letterbox(image: np.ndarray, height: int, width: int) -> tuple[np.ndarray, float, float]:
    """``image`` scaled to fit ``height x width`` (aspect kept) at the top-left of a black canvas;
    returns ``(canvas, sx, sy)``: canvas pixel = source pixel x ``(sx, sy)``."""
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    nh, nw = max(1, min(height, round(h * scale))), max(1, min(width, round(w * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, nw / w, nh / h


def to_blob(canvas: np.ndarray) -> np.ndarray:
    """``(1, 3, H, W)`` float32 ``(x - 127.5) / 128`` of an RGB uint8 canvas."""
    x = (canvas.astype(np.float32) - 127.5) / 128.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def split_outputs(
    outputs: Sequence[np.ndarray], strides: Sequence[int], points: bool
) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Per level ``(stride, scores (A,), distances (A, 4), offsets (A, 10) or None)``: outputs
    matched by last dimension (role) and row count (level, most rows = stride 8)."""
    arrays = [np.asarray(o, np.float32) for o in outputs]
    arrays = [a[0] if a.ndim == 3 and a.shape[0] == 1 else a for a in arrays]
    roles: dict[int, list[np.ndarray]] = {1: [], 4: [], 10: []}
    for a in arrays:
        if a.ndim != 2 or a.shape[1] not in roles:
            raise ValueError(f"unexpected detector output of shape {a.shape}")
        roles[a.shape[1]].append(a)
    n = len(strides)
    if len(roles[1]) != n or len(roles[4]) != n or len(roles[10]) != (n if points else 0):
        shapes = [a.shape for a in arrays]
        raise ValueError(f"detector outputs {shapes} do not form a {n}-level layout")
    for k in roles:
        roles[k].sort(key=lambda a: -a.shape[0])
    kps = roles[10] if points else [None] * n
    return [(s, sc[:, 0], bx, kp) for s, sc, bx, kp in zip(strides, roles[1], roles[4], kps, strict=True)]


def decode(
    levels: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]],
    height: int,
    width: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(boxes (N, 4), scores (N,), points (N, 5, 2) or None)`` in network-input pixels of
    every anchor scoring ``>= threshold``, from :func:`split_outputs` levels."""
    boxes, scores, pts = [], [], []
    for stride, sc, dist, off in levels:
        fh, fw = height // stride, width // stride
        anchors = max(1, len(sc) // max(fh * fw, 1))
        if fh * fw * anchors != len(sc):
            raise ValueError(f"stride {stride}: {len(sc)} scores for a {fw}x{fh} feature map")
        centres = anchor_centres(fh, fw, stride, anchors)
        hit = np.flatnonzero(sc >= threshold)
        boxes.append(distance_boxes(centres[hit], dist[hit] * stride))
        scores.append(sc[hit])
        if off is not None:
            pts.append(distance_points(centres[hit], off[hit] * stride))
    points = np.concatenate(pts).reshape(-1, 5, 2) if pts else None
    return np.concatenate(boxes).reshape(-1, 4), np.concatenate(scores), points


class OnnxFaceDetector:
    """An SCRFD / RetinaFace-style ONNX detector (module doc).

    Args:
        path: the ``.onnx`` file.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (see :mod:`maskforge.onnxrt`).
        input_size: network input side when the model's input size is symbolic.
        threshold: smallest anchor score kept (a probability in ``[0, 1]``).
        nms_iou: IoU above which the weaker of two boxes is dropped.
        landmarker: 68-point predictor for models without points (loaded when needed).
        threads: onnxruntime intra-op threads.
    """

    name = "onnx"

    def __init__(
        self,
        path: str,
        device: str = "auto",
        input_size: int = 640,
        threshold: float = 0.5,
        nms_iou: float = 0.4,
        landmarker: Landmarker68 | None = None,
        threads: int | None = None,
    ) -> None:
        self.model = OnnxModel(path, device, threads, "ONNX detector", '[detect] detector = "onnx:PATH"')
        count = len(self.model.outputs)
        if count not in LAYOUTS or len(self.model.inputs) != 1:
            raise RecipeError(
                f"{path}: {len(self.model.inputs)} input(s) and {count} outputs; an SCRFD or "
                f"RetinaFace-style detector has 1 input and {', '.join(map(str, LAYOUTS))} outputs"
            )
        self.strides, self.has_points = LAYOUTS[count]
        shape = self.model.inputs[0].shape
        h, w = (shape[2], shape[3]) if len(shape) == 4 else (None, None)
        self.input_hw = (h or int(input_size), w or int(input_size))
        if any(v % self.strides[-1] for v in self.input_hw):
            raise RecipeError(
                f"{path}: input size {self.input_hw} must be a multiple of {self.strides[-1]}"
            )
        self.threshold, self.nms_iou = float(threshold), float(nms_iou)
        self._landmarker = landmarker

    @property
    def info(self) -> dict[str, object]:
        """What the manifest records: name, weights, sha256, device, input size, layout."""
        return {
            "name": self.name,
            "weights": str(self.model.path),
            "sha256": sha256_file(self.model.path),
            "device": self.model.device,
            "input_size": list(self.input_hw),
            "levels": len(self.strides),
            "points": self.has_points,
        }

    def detect_one(self, image: np.ndarray) -> list[Face]:
        """Faces in one ``(H, W, 3)`` uint8 RGB image, source pixels, best score first."""
        h, w = self.input_hw
        canvas, sx, sy = letterbox(np.ascontiguousarray(image), h, w)
        levels = split_outputs(self.model.run(to_blob(canvas)), self.strides, self.has_points)
        boxes, scores, points = decode(levels, h, w, self.threshold)
        keep = nms(boxes, scores, self.nms_iou)
        scale = np.array([sx, sy], np.float32)
        faces = []
        for i in keep:
            box = (boxes[i].reshape(2, 2) / scale).reshape(4).astype(np.float32)
            if points is not None:
                faces.append(Face(box, float(scores[i]), (points[i] / scale).astype(np.float32)))
            else:
                faces.append(self._with_points(image, box, float(scores[i])))
        return faces

    def _with_points(self, image: np.ndarray, box: np.ndarray, score: float) -> Face:
        if self._landmarker is None:
            self._landmarker = Landmarker68()
        first = self._landmarker(image, box)
        lm68 = self._landmarker(image, box_from_landmarks5(landmarks5_from_68(first)))
        return Face(box, score, landmarks5_from_68(lm68), lm68)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """Faces per image for a batch of ``(H, W, 3)`` uint8 RGB images (any sizes)."""
        return [self.detect_one(image) for image in images]
