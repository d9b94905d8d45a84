"""Torch device names: the one place that checks and resolves them.

A device is ``auto`` (``cuda`` when torch sees a GPU, else ``cpu``), ``cpu``, ``cuda`` or
``cuda:N`` (GPU number N). Anything else is a :class:`maskforge.errors.DeviceError`.
"""

from __future__ import annotations

import re

from .errors import DeviceError

#: The device names accepted, as the user reads them.
DEVICE_FORMS = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(device: str) -> str:
    """Return ``device`` when it is one of :data:`DEVICE_FORMS`; raise DeviceError otherwise."""
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise DeviceError(f"unknown device {device!r}: use {DEVICE_FORMS}")
    return device


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; other valid names pass through
    (see :func:`check_device`). torch is imported only for ``auto``."""
    if check_device(device) != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
