"""Run a graph spec read from a ``.tflite`` (:mod:`maskforge.detect.tflite_weights`) in PyTorch.

:func:`build_graph` returns a ``torch.nn.Module`` that executes the spec's ops in file order on a
batch: activations are NCHW inside (TensorFlow Lite's NHWC weights are transposed once at build
time), 4-D outputs are returned NHWC like the ``.tflite`` (so raw outputs compare 1:1 with the
reference runtime). TensorFlow's ``SAME`` padding, which puts the odd pixel at the bottom/right, is
reproduced with an explicit pad where it is not symmetric. The batch dimension of the file's shapes
(always 1) becomes the batch size of the input.
"""

from __future__ import annotations

from typing import Any

#: Images per forward pass on the CPU (default of :func:`run_graph`). One pass over 32 images
#: streams every activation through main memory (Face Mesh's first layers hold 0.6 MB per image);
#: a few at a time stay in the caches and run about 2x faster per image on one core (measured
#: under load, docs/detection.md). BlazeFace runs 4 (8 was sometimes 1.6x slower, depending on the
#: process), Face Mesh 8 (~5 % faster than 4). The GPU takes the whole batch.
CPU_MICRO_BATCH = 4

#: NHWC axis -> NCHW axis for 4-D tensors.
_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _prepare(spec: dict[str, Any]) -> list[tuple]:  # noqa: C901 - one branch per op kind
    """Op tuples ``(kind, inputs, outputs, params)`` with NCHW weights and resolved paddings."""
    import torch

    shapes, consts = spec["shapes"], spec["consts"]
    prepared = []
    for op in spec["ops"]:
        kind, ins, outs = op["op"], op["inputs"], op["outputs"]
        p: dict[str, Any] = {"act": op.get("act")}
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = consts[ins[1]].float()
            if kind == "CONV_2D":
                p["weight"] = w.permute(0, 3, 1, 2).contiguous()  # OHWI -> OIHW
                p["groups"] = 1
            else:
                p["weight"] = w.permute(3, 0, 1, 2).contiguous()  # 1HWC -> C1HW
                p["groups"] = shapes[ins[0]][3]
            p["bias"] = consts[ins[2]].float() if len(ins) > 2 else None
            kh, kw = p["weight"].shape[2:]
            p["stride"] = tuple(op["stride"])
            _, h, wd, _ = shapes[ins[0]]
            pads = _pads(op["same"], (h, wd), (kh, kw), p["stride"])
            p["pad"], p["explicit"] = pads
            if kind == "CONV_2D" and (kh, kw) == (1, 1) and p["stride"] == (1, 1):
                p["weight"] = p["weight"][:, :, 0, 0]  # a matrix product on NHWC pixels
                p["pointwise"] = True
            elif kind == "CONV_2D" and (kh, kw) == (h, wd) and not op["same"]:
                p["weight"] = w.reshape(w.shape[0], -1)  # one output pixel: a matrix product
                p["whole"] = True  # on the flattened NHWC input (OHWI weights, same order)
            ins = ins[:1]
        elif kind == "MAX_POOL_2D":
            _, h, wd, _ = shapes[ins[0]]
            p["kernel"], p["stride"] = tuple(op["kernel"]), tuple(op["stride"])
            p["pad"], p["explicit"] = _pads(op["same"], (h, wd), p["kernel"], p["stride"])
        elif kind == "PRELU":
            p["alpha"] = consts[ins[1]].float().reshape(1, -1, 1, 1)
            ins = ins[:1]
        elif kind == "PAD":
            pad = consts[ins[1]].reshape(-1, 2).tolist()
            if len(pad) == 4:  # NHWC -> F.pad's last-dim-first order for NCHW
                pad = [pad[2], pad[1], pad[3], pad[0]]
            else:
                pad = pad[::-1]
            p["pad"] = tuple(v for pair in pad for v in pair)
            ins = ins[:1]
        elif kind == "RESHAPE":
            p["shape"] = shapes[outs[0]]
            p["from4d"] = len(shapes[ins[0]]) == 4
            ins = ins[:1]
        elif kind == "CONCATENATION":
            axis = op["axis"] % len(shapes[outs[0]])
            p["axis"] = _NCHW_AXIS[axis] if len(shapes[outs[0]]) == 4 else axis
        elif kind == "RESIZE_BILINEAR":
            p["size"] = tuple(int(v) for v in consts[ins[1]].tolist())
            p["align_corners"] = op["align_corners"]
            if not (op["half_pixel"] or op["align_corners"]):
                raise ValueError("RESIZE_BILINEAR without half_pixel_centers is not supported")
            ins = ins[:1]
        elif kind == "MEAN":
            axes = [int(a) % len(shapes[ins[0]]) for a in consts[ins[1]].reshape(-1).tolist()]
            four = len(shapes[ins[0]]) == 4
            p["axes"] = tuple(_NCHW_AXIS[a] if four else a for a in axes)
            p["keep_dims"] = op["keep_dims"]
            ins = ins[:1]
        elif kind == "FULLY_CONNECTED":
            p["weight"] = consts[ins[1]].float()  # (out, in)
            p["bias"] = consts[ins[2]].float() if len(ins) > 2 else None
            ins = ins[:1]
        elif kind == "ADD":
            p["const"] = {
                j: (consts[t].float().permute(0, 3, 1, 2) if consts[t].dim() == 4 else consts[t])
                for j, t in enumerate(ins)
                if t in consts
            }
        p = {k: (v.contiguous() if isinstance(v, torch.Tensor) else v) for k, v in p.items()}
        prepared.append((kind, ins, outs, p))
    return _speed_rewrites(prepared, spec)


def _speed_rewrites(prepared: list[tuple], spec: dict[str, Any]) -> list[tuple]:
    """The op list rewritten to run faster with the same numbers (:func:`_fold_uneven_pads`,
    :func:`_fuse_padded_adds`)."""
    return _fuse_padded_adds(_fold_uneven_pads(prepared), spec)


def _fold_uneven_pads(prepared: list[tuple]) -> list[tuple]:
    """A depthwise conv whose SAME padding is one pixel larger at the bottom/right (stride 2) gets a kernel
    one tap larger, the new first row/column zero, and the larger padding on both sides: the
    taps land on the same pixels, and the padded copy of the input disappears."""
    import torch.nn.functional as F  # noqa: N812

    out = []
    for kind, ins, outs, p in prepared:
        if kind == "DEPTHWISE_CONV_2D" and p["explicit"]:  # (a full conv gets slower)
            left, r, t, b = p["pad"]
            if r - left in (0, 1) and b - t in (0, 1):
                weight = F.pad(p["weight"], (r - left, 0, b - t, 0))  # zeros first in W, H
                p = {**p, "weight": weight.contiguous(), "pad": (b, r), "explicit": False}
        out.append((kind, ins, outs, p))
    return out


def _fuse_padded_adds(prepared: list[tuple], spec: dict[str, Any]) -> list[tuple]:
    """Rewrites for speed, same numbers: ``ADD(a, PAD(x))`` where the PAD only appends zero
    channels becomes ``ADD_PADDED(a, x)`` (``a[:, :C] += x``, no padded copy), and an ADD whose
    first operand is used nowhere else adds in place (``inplace``)."""
    uses: dict[int, int] = {}
    for _, ins, _, _ in prepared:
        for t in ins:
            uses[t] = uses.get(t, 0) + 1
    for t in (*spec["outputs"], *spec["inputs"]):
        uses[t] = uses.get(t, 0) + 2  # never written in place, never dropped
    # F.pad's NCHW order (W, H, C, N): only zeros appended to the channels
    channel_pad = {
        outs[0]: ins[0]
        for kind, ins, outs, p in prepared
        if kind == "PAD" and len(p["pad"]) == 8 and uses.get(outs[0]) == 1  # noqa: PLR2004
        and p["pad"][:5] == (0,) * 5 and p["pad"][6:] == (0, 0)
    }
    fresh = {  # tensors that are new memory, not views of another (conv, add outputs)
        outs[0] for kind, _, outs, _ in prepared if kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD")
    }
    out = []
    for kind, ins, outs, p in prepared:
        if kind == "PAD" and outs[0] in channel_pad:
            continue
        if kind == "ADD" and not p["const"]:
            if ins[0] in channel_pad or ins[1] in channel_pad:
                a, b = ins if ins[1] in channel_pad else ins[::-1]
                kind, ins = "ADD_PADDED", [a, channel_pad[b]]
            elif uses.get(ins[1]) == 1 and ins[1] in fresh:
                ins = ins[::-1]  # a + b == b + a exactly: write into the one used only here
            p = {**p, "inplace": uses.get(ins[0]) == 1 and ins[0] in fresh}
        out.append((kind, ins, outs, p))
    return out


def _pads(
    same: bool, size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int]
) -> tuple[Any, bool]:
    """``(padding, explicit)``: conv's symmetric ``(ph, pw)``, or F.pad's 4-tuple when TF's SAME
    padding is uneven."""
    if not same:
        return (0, 0), False
    (t, b), (left, r) = (_same_pad(size[i], kernel[i], stride[i]) for i in (0, 1))
    if t == b and left == r:
        return (t, left), False
    return (left, r, t, b), True


def build_graph(spec: dict[str, Any]):  # noqa: ANN201 - torch.nn.Module
    """A ``torch.nn.Module``: ``module(x)`` with ``x`` a float ``(N, C, H, W)`` tensor (the
    ``.tflite``'s input, already normalised as the model expects) returns the list of the file's
    outputs, 4-D ones in NHWC. Weights are buffers (``.to(device, dtype)`` moves them)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    class TfliteGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ops = []
            for n, (kind, ins, outs, p) in enumerate(_prepare(spec)):
                params: dict[str, Any] = {}
                for key, value in p.items():
                    if isinstance(value, torch.Tensor):
                        self.register_buffer(f"{key}{n}", value.clone())  # a const may feed two ops
                        params[key] = f"{key}{n}"
                    elif key == "const":
                        for j, t in value.items():
                            self.register_buffer(f"const{n}_{j}", t.clone())
                        params[key] = {j: f"const{n}_{j}" for j in value}
                    else:
                        params[key] = value
                self.ops.append((kind, ins, outs, params))
            self.input_index = spec["inputs"][0]
            self.output_index = list(spec["outputs"])

        def _act(self, y, act):  # noqa: ANN001, ANN202 - y: a new tensor of this op, in place
            if act == "relu":
                return F.relu(y, inplace=True)
            if act == "relu6":
                return F.relu6(y, inplace=True)
            return y

        def _run(self, kind, x, p, env, ins):  # noqa: ANN001, ANN202, C901, PLR0911
            if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                pad = p["pad"]
                if p["explicit"]:
                    x, pad = F.pad(x, pad), 0
                bias = getattr(self, p["bias"]) if p.get("bias") else None
                if p.get("pointwise"):  # NCHW channels-last = NHWC in memory: one GEMM
                    y = F.linear(x.permute(0, 2, 3, 1), getattr(self, p["weight"]), bias)
                    return self._act(y.permute(0, 3, 1, 2), p["act"])
                if p.get("whole"):
                    y = F.linear(x.permute(0, 2, 3, 1).flatten(1), getattr(self, p["weight"]), bias)
                    return self._act(y[:, :, None, None], p["act"])
                y = F.conv2d(x, getattr(self, p["weight"]), bias, p["stride"], pad, 1, p["groups"])
                return self._act(y, p["act"])
            if kind == "MAX_POOL_2D":
                pad = p["pad"]
                if p["explicit"]:
                    x, pad = F.pad(x, pad, value=float("-inf")), 0
                return self._act(F.max_pool2d(x, p["kernel"], p["stride"], pad), p["act"])
            if kind == "RELU":
                return F.relu(x)
            if kind == "LOGISTIC":
                return torch.sigmoid(x)
            if kind == "MEAN":
                return x.mean(dim=p["axes"], keepdim=p["keep_dims"])
            if kind == "FULLY_CONNECTED":
                bias = getattr(self, p["bias"]) if p.get("bias") else None
                if x.dim() == 4:  # TensorFlow Lite flattens NHWC
                    x = x.permute(0, 2, 3, 1)
                y = F.linear(x.reshape(x.shape[0], -1), getattr(self, p["weight"]), bias)
                return self._act(y, p["act"])
            if kind == "PRELU":
                return F.prelu(x, getattr(self, p["alpha"]).reshape(-1))
            if kind == "PAD":
                return F.pad(x, p["pad"])
            if kind == "ADD":
                a, b = (
                    getattr(self, p["const"][j]) if j in p["const"] else env[t]
                    for j, t in enumerate(ins)
                )
                return self._act(a.add_(b) if p.get("inplace") else a + b, p["act"])
            if kind == "ADD_PADDED":  # env[ins[0]] + env[ins[1]] zero-padded to its channels
                a, b = env[ins[0]], env[ins[1]]
                a = a if p["inplace"] else a.clone()
                a[:, : b.shape[1]].add_(b)
                return self._act(a, p["act"])
            if kind == "RESHAPE":
                if p["from4d"]:
                    x = x.permute(0, 2, 3, 1)
                return x.reshape((x.shape[0], *p["shape"][1:]))
            if kind == "CONCATENATION":
                return self._act(torch.cat([env[t] for t in ins], p["axis"]), p["act"])
            if kind == "RESIZE_BILINEAR":
                return F.interpolate(
                    x, p["size"], mode="bilinear", align_corners=p["align_corners"]
                )
            raise ValueError(f"unsupported op {kind}")

        def forward(self, x):  # noqa: ANN001, ANN202
            env = {self.input_index: x}
            for kind, ins, outs, p in self.ops:
                env[outs[0]] = self._run(kind, env[ins[0]] if ins[0] in env else None, p, env, ins)
            result = []
            for t in self.output_index:
                y = env[t]
                result.append(y.permute(0, 2, 3, 1) if y.dim() == 4 else y)
            return result

    return TfliteGraph().eval()


def freeze_graph(module, side: int, device: str):  # noqa: ANN001, ANN201 - torch modules
    """``module`` traced on a channels-last ``(2, 3, side, side)`` batch and frozen (TorchScript):
    weights become constants, the op loop disappears; 2-3x faster than eager on one CPU core
    (measured under load, batch 32), same numbers (parity tests run the frozen graph). Any batch
    size runs."""
    import warnings

    import torch

    x = torch.zeros(2, 3, side, side, device=device).contiguous(memory_format=torch.channels_last)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), x, check_trace=False)
        return torch.jit.freeze(traced)


def run_graph(model, x, micro_batch: int | None = None):  # noqa: ANN001, ANN201 - torch objects
    """``model(x)`` (a built or frozen graph, ``x`` an ``(N, C, H, W)`` batch), run on the CPU in
    passes of ``micro_batch`` images (default :data:`CPU_MICRO_BATCH`) and concatenated (same
    numbers, faster), on a GPU at once. Call under ``torch.inference_mode()``."""
    import torch

    step = micro_batch or CPU_MICRO_BATCH
    if x.device.type != "cpu" or x.shape[0] <= step:
        return model(x)
    parts = [model(x[i : i + step]) for i in range(0, x.shape[0], step)]
    return [torch.cat(outs) for outs in zip(*parts, strict=True)]
