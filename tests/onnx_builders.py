"""Tiny ONNX models with the exact input and output signatures of insightface's SCRFD detectors
and ArcFace recognisers, built with the onnx helper API, whose outputs are known in advance.

- :func:`scrfd_model`: one ``(1, 3, H, W)`` input; per stride 8, 16, 32 a score ``(A, 1)``, box
  distances ``(A, 4)`` and point offsets ``(A, 10)`` (9 outputs, the 10g / 2.5g / 500m layout,
  2 anchors per location), or without points (6 outputs). The outputs are constants (plus 0 x the
  input's mean, so they are computed from the input), holding the anchors given.
- :func:`arcface_model`: ``(N, 3, 112, 112) -> (N, D)``: the per-channel means of the input times
  a ``(3, D)`` matrix, so an embedding is checkable by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STRIDES = (8, 16, 32)
ANCHORS = 2


@dataclass(frozen=True)
class Anchor:
    """One anchor's outputs: level ``stride``, feature-map ``row``, ``col``, anchor ``k``; its
    score, box distances (left, top, right, bottom) and 5 point offsets, in stride units."""

    stride: int
    row: int
    col: int
    k: int
    score: float
    distances: tuple[float, float, float, float]
    offsets: np.ndarray  # (5, 2)

    def centre(self) -> np.ndarray:
        return np.array([self.col, self.row], np.float32) * self.stride

    def box(self) -> np.ndarray:
        """Expected box in network-input pixels."""
        c, d = self.centre(), np.asarray(self.distances, np.float32) * self.stride
        return np.array([c[0] - d[0], c[1] - d[1], c[0] + d[2], c[1] + d[3]], np.float32)

    def points(self) -> np.ndarray:
        """Expected 5 points in network-input pixels."""
        return self.centre() + np.asarray(self.offsets, np.float32) * self.stride


def _save(nodes: list, inputs: list, outputs: list, inits: list, path: Path) -> Path:
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def scrfd_model(
    path: Path,
    anchors: Sequence[Anchor],
    size: int = 64,
    points: bool = True,
    batch_dim: bool = False,
    order: str = "grouped",
    symbolic: bool = True,
    strides: Sequence[int] = STRIDES,
    anchors_per_location: int = ANCHORS,
) -> Path:
    """An SCRFD-shaped model for a ``size x size`` input (module doc). ``order``: ``grouped``
    (scores, boxes, points: insightface's export) or ``level`` (score, box, points per stride).
    ``symbolic``: the input's H and W are symbolic (as in det_10g), else fixed at ``size``.
    ``strides`` and ``anchors_per_location``: (8, 16, 32) and 2, or the 5-level layout's
    (8, ..., 128) and 1."""
    hw: list = ["height", "width"] if symbolic else [size, size]
    x = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, *hw])
    nodes = [
        helper.make_node("ReduceMean", ["input.1"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    ]
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    outs: dict[tuple[str, int], tuple[str, list[int]]] = {}
    for stride in strides:
        n = (size // stride) ** 2 * anchors_per_location
        arrays = {"score": np.zeros((n, 1), np.float32), "bbox": np.ones((n, 4), np.float32),
                  "kps": np.zeros((n, 10), np.float32)}  # fmt: skip
        for a in anchors:
            if a.stride == stride:
                i = (a.row * (size // stride) + a.col) * anchors_per_location + a.k
                arrays["score"][i, 0] = a.score
                arrays["bbox"][i] = a.distances
                arrays["kps"][i] = np.asarray(a.offsets, np.float32).reshape(10)
        for role, arr in arrays.items():
            if role == "kps" and not points:
                continue
            arr = arr[None] if batch_dim else arr
            name = f"{role}_{stride}"
            inits.append(numpy_helper.from_array(arr, f"{name}_const"))
            nodes.append(helper.make_node("Add", [f"{name}_const", "nothing"], [name]))
            outs[(role, stride)] = (name, list(arr.shape))
    roles = ["score", "bbox", "kps"] if points else ["score", "bbox"]
    if order == "grouped":
        keys = [(r, s) for r in roles for s in strides]
    else:
        keys = [(r, s) for s in strides for r in roles]
    outputs = [helper.make_tensor_value_info(outs[k][0], TensorProto.FLOAT, outs[k][1]) for k in keys]
    return _save(nodes, [x], outputs, inits, path)


def arcface_model(path: Path, weights: np.ndarray, fixed_batch: bool = False) -> Path:
    """``(N, 3, 112, 112) -> (N, D)``: channel means (of the normalised input) @ ``weights``."""
    d = weights.shape[1]
    batch: list = [1] if fixed_batch else ["N"]
    x = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [*batch, 3, 112, 112])
    y = helper.make_tensor_value_info("683", TensorProto.FLOAT, [*batch, d])
    nodes = [
        helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["683"]),
    ]
    inits = [numpy_helper.from_array(weights.astype(np.float32), "w")]
    return _save(nodes, [x], [y], inits, path)


def other_model(path: Path) -> Path:
    """A landmark-like model (``(1, 3, 192, 192) -> (1, 212)``) that a model pack also holds."""
    x = helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 192, 192])
    y = helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 212])
    nodes = [
        helper.make_node("GlobalAveragePool", ["data"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "w"], ["fc1"]),
    ]
    inits = [numpy_helper.from_array(np.ones((3, 212), np.float32), "w")]
    return _save(nodes, [x], [y], inits, path)
