"""dlib's face recognition ResNet (``dnn_face_recognition_ex``) as a ``torch.nn.Module``.

The network (29 conv layers, 150x150 RGB in, 128-d out), as dlib's C++ type defines it:

- input: ``(pixel - mean_rgb) / 256`` per channel (dlib's ``input_rgb_image_sized<150>``);
- stem: conv 7x7/2 (32, no padding), affine, relu, max-pool 3x3/2 (no padding);
- 14 residual blocks: conv 3x3/s, affine, relu, conv 3x3/1, affine, plus the block's input
  (average-pooled 2x2/2 in the 4 down-sampling blocks, whose first conv has stride 2 and no
  padding), relu. dlib's ``add_prev`` adds tensors of different sizes by treating the missing
  channels, rows and columns of the smaller one as zeros, so :func:`padded_add` does the same;
- head: global average pool, fully connected 256 -> 128 without bias.

dlib stores the batch-norm layers already folded into ``affine`` layers (scale and shift per
channel); here each affine is folded into the conv before it (an exact rewrite up to float
rounding). The weights come from the ``.dat`` file (:mod:`maskforge.embed.dlib_format`) and are
converted once, then cached as a torch file under the user cache folder, named by the ``.dat``'s
SHA-256 (:func:`load_dlib_resnet`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..io.weights_cache import load_or_convert
from ..models import user_cache_dir
from .base import sha256_file
from .dlib_format import DlibFormatError, DlibNetwork, Layer, read_dlib_network

#: Bumped when the converted file's layout changes (part of the cache file name).
CONVERTER_VERSION = 1


def _torch():
    import torch

    return torch


def padded_add(a, b):  # noqa: ANN001, ANN201 - torch tensors
    """``a + b`` for NCHW tensors of possibly different C, H, W: the smaller one is zero-padded at
    the end of each axis (dlib's ``add_prev`` semantics)."""
    if a.shape == b.shape:
        return a + b
    import torch.nn.functional as F

    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def pad(t):  # noqa: ANN001, ANN202
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


def _block_class():  # noqa: ANN202 - a torch.nn.Module subclass
    from torch import nn
    from torch.nn import functional as F

    class ResBlock(nn.Module):
        """conv-relu-conv (affines folded in) plus the (pooled) input, then relu."""

        def __init__(self, cin: int, cout: int, stride: int, pad1: int, pad2: int) -> None:
            super().__init__()
            self.down = stride != 1
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=pad1)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=pad2)

        def forward(self, x):  # noqa: ANN001, ANN202
            y = self.conv2(F.relu(self.conv1(x)))
            skip = F.avg_pool2d(x, 2, 2) if self.down else x
            return F.relu(padded_add(y, skip))

    return ResBlock


def build_module(spec: dict[str, Any]):  # noqa: ANN201 - DlibResNet (torch.nn.Module)
    """An untrained module of the architecture ``spec`` (see :func:`spec_from_network`)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    ResBlock = _block_class()

    class DlibResNet(nn.Module):
        """Input: float ``[N, 3, 150, 150]`` RGB in 0..255 (NCHW). Output: ``[N, 128]``,
        dlib's raw (not normalised) descriptors."""

        def __init__(self) -> None:
            super().__init__()
            stem = spec["stem"]
            self.register_buffer("mean", torch.tensor(spec["mean_rgb"]).view(1, 3, 1, 1))
            self.stem = nn.Conv2d(3, stem["filters"], stem["kernel"], stem["stride"], stem["padding"])
            self.pool = tuple(spec["pool"])  # (window, stride, padding)
            self.blocks = nn.ModuleList(ResBlock(*b) for b in spec["blocks"])
            self.fc = nn.Linear(spec["fc"][0], spec["fc"][1], bias=False)

        def normalise(self, x):  # noqa: ANN001, ANN202
            """RGB 0..255 -> dlib's network input ``(x - mean_rgb) / 256`` (x's dtype)."""
            return (x - self.mean.to(x.dtype)) * (1.0 / 256.0)

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.features(self.normalise(x))

        def features(self, x):  # noqa: ANN001, ANN202
            """The network on an already normalised input."""
            x = F.relu(self.stem(x))
            window, stride, padding = self.pool
            x = F.max_pool2d(x, window, stride, padding)
            for block in self.blocks:
                x = block(x)
            return self.fc(x.mean(dim=(2, 3)))

    return DlibResNet()


class _Ops:
    """Cursor over the flat layer list, checking each record's kind."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self.i = 0

    def peek(self) -> str | None:
        return self.layers[self.i].kind if self.i < len(self.layers) else None

    def take(self, *kinds: str) -> list[Layer]:
        out = []
        for kind in kinds:
            if self.peek() != kind:
                raise DlibFormatError(
                    f"unexpected dlib layer {self.peek()!r} at position {self.i} (expected "
                    f"{kind!r}): not dlib's face recognition ResNet"
                )
            out.append(self.layers[self.i])
            self.i += 1
        return out


def _fold(con: Layer, affine: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Conv weights and bias with the following per-channel affine folded in."""
    g, b = affine.tensors["gamma"], affine.tensors["beta"]
    w = con.tensors["weight"] * g[:, None, None, None]
    bias = con.tensors.get("bias", np.zeros_like(g)) * g + b
    return w.astype(np.float32), bias.astype(np.float32)


def spec_from_network(net: DlibNetwork) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The architecture and the folded weights (a state dict of numpy arrays) of a dlib face
    recognition network. Raises DlibFormatError when the layers are not that ResNet."""
    ops = _Ops(net.layers)
    con, aff, _, pool = ops.take("con", "affine", "relu", "max_pool")
    state: dict[str, np.ndarray] = {}
    state["stem.weight"], state["stem.bias"] = _fold(con, aff)
    stem = {k: con.params[k] for k in ("filters", "kernel", "stride", "padding")}
    pool_spec = (pool.params["window"], pool.params["stride"], pool.params["padding"])
    blocks: list[tuple[int, int, int, int, int]] = []
    while ops.peek() == "tag":
        _, c1, a1, _, c2, a2 = ops.take("tag", "con", "affine", "relu", "con", "affine")
        down = ops.peek() == "tag"
        if down:
            _, _, avg = ops.take("tag", "tag", "avg_pool")
            if avg.params["window"] != (2, 2) or avg.params["stride"] != (2, 2):
                raise DlibFormatError("unexpected skip pooling in dlib's face ResNet")
        ops.take("add_prev", "relu")
        stride = c1.params["stride"][0]
        if down != (stride != 1):
            raise DlibFormatError("a residual block's stride does not match its skip path")
        n = len(blocks)
        state[f"blocks.{n}.conv1.weight"], state[f"blocks.{n}.conv1.bias"] = _fold(c1, a1)
        state[f"blocks.{n}.conv2.weight"], state[f"blocks.{n}.conv2.bias"] = _fold(c2, a2)
        cin = c1.tensors["weight"].shape[1]
        blocks.append((cin, c1.params["filters"], stride, c1.params["padding"][0], c2.params["padding"][0]))
    avg, fc = ops.take("avg_pool", "fc")
    if avg.params["window"] != (0, 0) or "bias" in fc.tensors or ops.peek() is not None:
        raise DlibFormatError("unexpected head in dlib's face ResNet")
    state["fc.weight"] = np.ascontiguousarray(fc.tensors["weight"].T)
    spec = {
        "mean_rgb": [float(v) for v in net.input_params["mean_rgb"]],
        "input_size": list(net.input_params.get("size", (150, 150))),
        "stem": stem,
        "pool": pool_spec,
        "blocks": blocks,
        "fc": (fc.params["inputs"], fc.params["outputs"]),
    }
    return spec, state


def converted_path(sha256: str) -> Path:
    """Where the converted weights of the ``.dat`` with this SHA-256 are cached."""
    return user_cache_dir() / f"dlib-resnet-{sha256[:16]}-v{CONVERTER_VERSION}.pt"


def convert(dat: str | Path) -> dict[str, Any]:
    """Read the ``.dat`` and return ``{"spec", "state", "sha256"}`` (state: torch tensors)."""
    torch = _torch()
    spec, state = spec_from_network(read_dlib_network(dat))
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    return {"spec": spec, "state": tensors, "sha256": sha256_file(dat)}


def load_converted(dat: str | Path, cache: bool = True) -> dict[str, Any]:
    """The converted weights of ``dat``: from the user cache when present (keyed by the file's
    SHA-256), else converted now and cached (:func:`maskforge.io.weights_cache.load_or_convert`)."""
    sha = sha256_file(dat)
    return load_or_convert(converted_path(sha), sha, lambda: convert(dat), cache)


def load_dlib_resnet(dat: str | Path, cache: bool = True):  # noqa: ANN201 - torch.nn.Module
    """dlib's face ResNet with the weights of ``dat``, in eval mode on the CPU (float32)."""
    obj = load_converted(dat, cache=cache)
    spec = obj["spec"]
    spec = {**spec, "blocks": [tuple(b) for b in spec["blocks"]]}
    module = build_module(spec)
    module.load_state_dict({**obj["state"], "mean": module.mean}, strict=True)
    return module.eval()
