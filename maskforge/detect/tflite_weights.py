"""Read a ``.tflite`` file into a plain graph spec (ops in order + float32 weights) and cache it.

Only the TensorFlow Lite builtin ops that MediaPipe's face detector (short and full range), Face
Mesh, palm detector and hand landmark model use are read: CONV_2D, DEPTHWISE_CONV_2D, ADD, RELU,
PRELU, MAX_POOL_2D, PAD, RESHAPE, CONCATENATION, RESIZE_BILINEAR, MEAN, FULLY_CONNECTED, LOGISTIC
and DEQUANTIZE. Constant tensors stored as float16 (the detectors
store their weights so, behind DEQUANTIZE ops) are widened to float32 here and their DEQUANTIZE ops
disappear from the graph; int8 constants with a scale and zero point are dequantised the same way.
Any other op raises :class:`~maskforge.errors.ModelNotFoundError` naming it.

The spec is plain data: ``{"inputs", "outputs", "shapes", "ops", "consts", "sha256", "source"}``
with tensor indices as keys, ``shapes`` in the file's NHWC layout and ``consts`` float32 numpy
arrays (torch tensors once cached). It is converted once per file and cached under the user cache
folder, keyed by the file's SHA-256 (like the dlib ResNet conversion), so ``tflite`` is not needed
after the first use. :mod:`maskforge.detect.tflite_torch` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError
from ..io.weights_cache import load_or_convert
from ..models import sha256_file, user_cache_dir

#: Bumped when the cached spec's layout changes (part of the cache file name).
SPEC_VERSION = 1

_OPS = {
    0: "ADD",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    9: "FULLY_CONNECTED",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    19: "RELU",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    34: "PAD",
    40: "MEAN",
    54: "PRELU",
}
_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}
# tflite TensorType codes -> numpy dtypes of constant buffers
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}


def _options(op: Any, cls: Any) -> Any:
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _activation(code: int, name: str) -> str | None:
    if code not in _ACTIVATIONS:
        raise ModelNotFoundError(f"{name}: fused activation {code} is not supported")
    return _ACTIVATIONS[code]


def _op_params(tfl: Any, op: Any, kind: str) -> dict[str, Any]:
    """The options of one op as plain values (padding 'same'/'valid', strides, activation)."""
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        cls = tfl.Conv2DOptions if kind == "CONV_2D" else tfl.DepthwiseConv2DOptions
        o = _options(op, cls)
        if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
            raise ModelNotFoundError(f"{kind} with dilation is not supported")
        return {
            "stride": (o.StrideH(), o.StrideW()),
            "same": o.Padding() == 0,
            "act": _activation(o.FusedActivationFunction(), kind),
        }
    if kind == "MAX_POOL_2D":
        o = _options(op, tfl.Pool2DOptions)
        return {
            "kernel": (o.FilterHeight(), o.FilterWidth()),
            "stride": (o.StrideH(), o.StrideW()),
            "same": o.Padding() == 0,
            "act": _activation(o.FusedActivationFunction(), kind),
        }
    if kind == "ADD":
        o = _options(op, tfl.AddOptions)
        return {"act": _activation(o.FusedActivationFunction(), kind)}
    if kind == "CONCATENATION":
        o = _options(op, tfl.ConcatenationOptions)
        return {"axis": o.Axis(), "act": _activation(o.FusedActivationFunction(), kind)}
    if kind == "MEAN":
        return {"keep_dims": bool(_options(op, tfl.ReducerOptions).KeepDims())}
    if kind == "FULLY_CONNECTED":
        o = _options(op, tfl.FullyConnectedOptions)
        if o.WeightsFormat() != 0:
            raise ModelNotFoundError("FULLY_CONNECTED with shuffled weights is not supported")
        return {"act": _activation(o.FusedActivationFunction(), kind)}
    if kind == "RESIZE_BILINEAR":
        o = _options(op, tfl.ResizeBilinearOptions)
        return {"align_corners": bool(o.AlignCorners()), "half_pixel": bool(o.HalfPixelCenters())}
    return {}


def _constant(tfl: Any, model: Any, tensor: Any) -> np.ndarray | None:
    """A tensor's constant value as float32 (int32 kept), or None for an activation tensor."""
    buf = model.Buffers(tensor.Buffer())
    if buf is None or buf.DataLength() == 0:
        return None
    dtype = _DTYPES.get(tensor.Type())
    if dtype is None:
        raise ModelNotFoundError(f"constant tensor {tensor.Name()!r} of type {tensor.Type()}")
    shape = tuple(int(s) for s in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    arr = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).reshape(shape)
    quant = tensor.Quantization()
    if dtype in (np.int8, np.uint8) and quant is not None and quant.ScaleLength():
        scale = quant.ScaleAsNumpy().astype(np.float32)
        zero = quant.ZeroPointAsNumpy().astype(np.float32)
        axis = quant.QuantizedDimension()
        bshape = [1] * arr.ndim
        if scale.size > 1:
            bshape[axis] = scale.size
        return (arr.astype(np.float32) - zero.reshape(bshape)) * scale.reshape(bshape)
    if dtype == np.int32:
        return arr.copy()
    return arr.astype(np.float32)


def read_tflite(path: str | Path) -> dict[str, Any]:
    """Parse ``path`` into a graph spec (see the module docstring). Raises ModelNotFoundError for a
    missing file or an op this reader does not know."""
    import tflite as tfl

    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"model file {path} not found; install maskforge's dependencies")
    model = tfl.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    shapes: dict[int, tuple[int, ...]] = {}
    consts: dict[int, np.ndarray] = {}
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        shapes[t] = tuple(int(s) for s in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        value = _constant(tfl, model, tensor)
        if value is not None:
            consts[t] = value
    ops: list[dict[str, Any]] = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = _OPS.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        if kind is None:
            raise ModelNotFoundError(
                f"{path.name}: operator {code.BuiltinCode()} is not supported by maskforge's "
                "tflite reader"
            )
        inputs = [int(t) for t in op.InputsAsNumpy() if t >= 0]
        outputs = [int(t) for t in op.OutputsAsNumpy()]
        if kind == "DEQUANTIZE":  # a float16 weight: its float32 value becomes the output
            consts[outputs[0]] = consts.pop(inputs[0])
            continue
        ops.append({"op": kind, "inputs": inputs, "outputs": outputs, **_op_params(tfl, op, kind)})
    return {
        "inputs": [int(t) for t in graph.InputsAsNumpy()],
        "outputs": [int(t) for t in graph.OutputsAsNumpy()],
        "shapes": shapes,
        "ops": ops,
        "consts": consts,
        "source": path.name,
    }


def spec_cache_path(sha256: str, name: str) -> Path:
    """Where the converted spec of the ``.tflite`` with this SHA-256 is cached."""
    return user_cache_dir() / f"tflite-{Path(name).stem}-{sha256[:16]}-v{SPEC_VERSION}.pt"


def load_spec(path: str | Path, cache: bool = True) -> dict[str, Any]:
    """The graph spec of ``path`` with torch tensors as ``consts``: from the user cache when present
    (keyed by the file's SHA-256), else read now and cached
    (:func:`maskforge.io.weights_cache.load_or_convert`)."""
    sha = sha256_file(path)

    def convert() -> dict[str, Any]:
        import torch

        spec = read_tflite(path)
        spec["consts"] = {
            k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in spec["consts"].items()
        }
        spec["sha256"] = sha
        return spec

    return load_or_convert(spec_cache_path(sha, Path(path).name), sha, convert, cache)
