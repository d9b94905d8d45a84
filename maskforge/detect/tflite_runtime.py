"""Which runtime runs MediaPipe's ``.tflite`` models, and the LiteRT one (Google's TensorFlow Lite
runtime, ``ai-edge-litert``: XNNPACK kernels, no TensorFlow).

BlazeFace, Face Mesh, the palm detector and the hand landmark model run either as torch graphs
(:mod:`maskforge.detect.tflite_torch`: batched, on the CPU or CUDA) or, on the CPU, through LiteRT,
whose kernels are 2.5-4x faster than torch's for these small networks on one core (measured under
load, docs/detection.md). The two agree to ~1e-4 of the outputs' range, not bit for bit, so the
resolved runtime is part of the cache keys that depend on these models.

The setting (``[detect] runtime``; the hand check of the occluders follows it) is one of
:data:`RUNTIMES`, resolved by :func:`resolve_runtime`: ``auto`` is ``litert`` when the models run on
the CPU and ``ai_edge_litert`` imports, else ``torch``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError, RecipeError
from ..vocab import RUNTIMES


def litert_available() -> bool:
    """Whether ``ai_edge_litert`` is installed (found without importing it)."""
    try:
        return importlib.util.find_spec("ai_edge_litert") is not None
    except (ImportError, ValueError):
        return False


def resolve_runtime(runtime: str, device: str) -> str:
    """``torch`` or ``litert`` for the setting ``runtime`` and a *resolved* torch ``device``
    (``cpu``, ``cuda``, ``cuda:N``): ``auto`` is ``litert`` on the CPU when ``ai_edge_litert`` is
    installed, else ``torch``; ``litert`` needs both (ModelNotFoundError without the package,
    RecipeError with a GPU device); ``torch`` is kept. RecipeError for another name."""
    if runtime not in RUNTIMES:
        raise RecipeError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    on_cpu = device == "cpu"
    if runtime == "auto":
        return "litert" if on_cpu and litert_available() else "torch"
    if runtime == "litert":
        if not on_cpu:
            raise RecipeError(f"runtime litert runs on the CPU only, not on device {device!r}; "
                              "set detect.device = \"cpu\" or detect.runtime = \"torch\"")  # fmt: skip
        if not litert_available():
            raise ModelNotFoundError(
                "runtime litert needs the ai-edge-litert package: install maskforge's "
                "dependencies (`uv sync`), or set runtime = \"torch\""
            )
    return runtime


def thread_limit() -> int:
    """This process's compute threads: ``OMP_NUM_THREADS`` when set (the worker pools set it to
    their CPU share, :func:`maskforge.pipeline.ray_actor.limit_threads`), else 1."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else 1


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """File descriptor 2 sent to the null device meanwhile: LiteRT's native code prints an INFO
    line there on its first interpreter of a process, which would break a CLI's progress bar."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_graph(path: str, side: int, device: str, runtime: str) -> Any:
    """The ``.tflite`` at ``path`` ready to run for a resolved ``runtime``: a :class:`LiteRTGraph`,
    or the torch graph on ``device``, frozen for a ``side`` x ``side`` input
    (:func:`maskforge.detect.tflite_torch.freeze_graph`; torch is imported only then)."""
    if runtime == "litert":
        return LiteRTGraph(path)
    import torch

    from .tflite_torch import build_graph, freeze_graph
    from .tflite_weights import load_spec

    graph = build_graph(load_spec(path)).to(device, memory_format=torch.channels_last)
    return freeze_graph(graph, side, device)  # channels last: 3x faster on the CPU


def run_loaded(
    model: Any,
    batch: np.ndarray,
    runtime: str,
    device: str,
    divisor: float,
    offset: float = 0.0,
    micro_batch: int | None = None,
    profiled: bool = True,
) -> list[np.ndarray]:
    """The outputs (float32 numpy, file order) of a graph from :func:`load_graph` for ``(N, S,
    S, 3)`` uint8 RGB inputs, scaled as the model expects: ``pixel / divisor - offset``.

    torch only: ``micro_batch`` images per CPU pass (:func:`~.tflite_torch.run_graph`; 0: the
    whole batch at once); ``profiled=False`` runs without TorchScript's profiling executor,
    which re-optimises a frozen graph for every new batch size (the hand models' batches vary
    with the palms found)."""
    if runtime == "litert":
        return list(model(np.asarray(batch, np.float32) / np.float32(divisor) - np.float32(offset)))
    import torch

    from .tflite_torch import run_graph

    executor = contextlib.nullcontext() if profiled else torch.jit.optimized_execution(False)
    with torch.inference_mode(), executor:
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(device)
        x = (x.permute(0, 3, 1, 2).float() / divisor - offset).contiguous(
            memory_format=torch.channels_last
        )
        outs = model(x) if micro_batch == 0 else run_graph(model, x, micro_batch)
        return [y.float().cpu().numpy() for y in outs]


class LiteRTGraph:
    """One ``.tflite`` file run by LiteRT's interpreter (XNNPACK, ``threads`` CPU threads, default
    :func:`thread_limit`).

    ``graph(x)`` takes a float32 ``(N, H, W, C)`` batch, normalised as the model expects (the torch
    graph's input, NHWC), and returns the file's outputs in file order, each ``(N, ...)`` float32
    with the layout the torch graph returns (4-D outputs NHWC): the callers decode both alike.
    Items run one at a time (the file's batch is 1; resizing the input to the batch was no
    faster). The interpreter is made on first use in each process: one made before a ``fork``
    is not carried into the children (each child makes its own)."""

    def __init__(self, path: str, threads: int | None = None) -> None:
        self.path = str(path)
        self.threads = threads
        self._interp: Any = None
        self._pid = -1

    def _interpreter(self):  # noqa: ANN202 - ai_edge_litert.interpreter.Interpreter
        if self._interp is None or self._pid != os.getpid():
            from ai_edge_litert.interpreter import Interpreter

            interp = Interpreter(model_path=self.path, num_threads=self.threads or thread_limit())
            with _quiet_native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
                interp.allocate_tensors()
            self._interp, self._pid = interp, os.getpid()
        return self._interp

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        interp = self._interpreter()
        inp = interp.get_input_details()[0]["index"]
        outs = [d["index"] for d in interp.get_output_details()]
        rows = []
        for item in np.asarray(x, np.float32):
            interp.set_tensor(inp, item[None])
            interp.invoke()
            rows.append([interp.get_tensor(o)[0] for o in outs])
        if not rows:
            shapes = [tuple(d["shape"][1:]) for d in interp.get_output_details()]
            return [np.zeros((0, *s), np.float32) for s in shapes]
        return [np.stack(r) for r in zip(*rows, strict=True)]

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path, "threads": self.threads, "_interp": None, "_pid": -1}
