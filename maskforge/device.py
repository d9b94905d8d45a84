"""Torch device names and device failures: the one place that checks, resolves and classifies
them (detect, embed and clean all use it).

A device is ``auto`` (``cuda`` when torch sees a GPU, else ``cpu``), ``cpu``, ``cuda`` or
``cuda:N`` (GPU number N). Any other name is a :class:`maskforge.errors.RecipeError`; a device
that is missing or fails (no driver, out of memory) is a :class:`maskforge.errors.DeviceError`.
"""

from __future__ import annotations

import glob
import os
import re
import sys

from .errors import DeviceError, RecipeError

#: The device names accepted, as the user reads them.
DEVICE_FORMS = "auto, cpu, cuda or cuda:N"
_DEVICE_RE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(device: str) -> str:
    """Validate a device string: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``. Raises RecipeError."""
    if not isinstance(device, str) or not _DEVICE_RE.fullmatch(device):
        raise RecipeError(f"device must be {DEVICE_FORMS} (N a GPU index), not {device!r}")
    return device


def no_gpu_here() -> bool:
    """True where no CUDA device can be visible, decided without importing torch (~2 s): the
    GPUs are hidden (``CUDA_VISIBLE_DEVICES`` empty or ``-1``, as in maskforge's CPU actors), or
    on Linux no NVIDIA device file exists (``/dev/nvidia0``..., or WSL2's ``/dev/dxg``). False
    means "ask torch"; elsewhere (macOS, Windows) always False."""
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return True
    if sys.platform.startswith("linux"):
        return not (glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/dxg"))
    return False


def resolve_device(device: str = "auto", require_cuda: bool = False) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; ``cpu``/``cuda``/``cuda:N``
    pass through after validation.

    With ``require_cuda`` (a GPU worker), ``auto`` and ``cuda`` without a usable GPU raise
    DeviceError instead of running on the CPU behind the user's back (an explicit ``cpu`` stays
    ``cpu``); ``cuda:N`` must name a visible GPU.
    """
    check_device(device)
    if device == "cpu":  # an explicit choice, also in a GPU worker (tests run the GPU pool so)
        return device
    if device == "auto" and not require_cuda and no_gpu_here():
        return "cpu"  # without importing torch: a LiteRT or dlib process may never need it
    import torch

    available = torch.cuda.is_available()
    if device == "auto" and not require_cuda:
        return "cuda" if available else "cpu"
    if not available:
        raise DeviceError(
            f"device {device!r} needs CUDA but torch sees no GPU (torch {torch.__version__}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); check the driver "
            "with nvidia-smi, or set embed.device = \"cpu\""
        )
    if device == "auto":
        return "cuda"
    if ":" in device and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise DeviceError(
            f"device {device!r}: only {torch.cuda.device_count()} GPU(s) visible here (inside a "
            "Ray GPU worker the assigned GPU is always cuda:0); use device = \"cuda\""
        )
    return device


_DEVICE_WORDS = ("CUDA", "cuDNN", "CUBLAS", "cublas", "NCCL", "device-side assert", "out of memory")


def device_failure(exc: BaseException) -> DeviceError | None:
    """A DeviceError for an exception that means the compute device failed (no driver, out of
    memory, a sticky CUDA error), else None. Such failures stop the run with one message; they
    are never turned into per-image rejects."""
    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, (RuntimeError, MemoryError)) and any(w in str(exc) for w in _DEVICE_WORDS):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DeviceError(
            f"the GPU failed: {first}. Check nvidia-smi; lower detect.batch_size or "
            "embed.batch_size if it ran out of memory, or set device = \"cpu\""
        )
    return None
