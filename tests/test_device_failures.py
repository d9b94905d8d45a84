"""Device failures stop the run with one message; they never become per-image rejects."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from maskforge.device import device_failure
from maskforge.errors import DeviceError
from maskforge.pipeline.detect_task import DetectTask


class FakeStage:
    """A detect stage whose detector builds fine and whose calls fail as told."""

    def __init__(self, error: Exception, only_first: bool = False) -> None:
        self.error = error
        self.only_first = only_first
        self.detector = object()

    def load_models(self) -> None:
        """As DetectStage.load_models: building the detector is where a model failure shows."""
        _ = self.detector

    def __call__(self, images, hints=None):
        if self.only_first and len(images) == 1 and images[0][0, 0, 0] != 0:
            return [SimpleNamespace(ok=True)]
        raise self.error


def _task(stage) -> DetectTask:
    task = DetectTask.__new__(DetectTask)
    task._stage = stage
    return task


def _chunk(n: int):
    return [
        SimpleNamespace(pixels=np.full((8, 8, 3), i, np.uint8), sample=SimpleNamespace(hints=None))
        for i in range(n)
    ]


def test_cuda_failure_fails_the_shard_instead_of_rejecting_every_image():
    """Before: every image became a `detect:error` reject and the run 'succeeded' with 0 samples."""
    task = _task(FakeStage(RuntimeError("CUDA error: an illegal memory access was encountered")))
    with pytest.raises(DeviceError, match="the GPU failed: CUDA error"):
        task._detect(_chunk(3))


def test_ordinary_image_errors_stay_per_image_rejects():
    task = _task(FakeStage(ValueError("odd image"), only_first=True))
    out = task._detect(_chunk(3))
    assert out[0] == ("error", "ValueError: odd image")
    assert all(getattr(r, "ok", False) for r in out[1:])


def test_model_build_failures_are_not_caught_per_image():
    class Broken(FakeStage):
        @property
        def detector(self):
            raise DeviceError("no GPU")

        @detector.setter
        def detector(self, _):
            pass

    with pytest.raises(DeviceError, match="no GPU"):
        _task(Broken(ValueError("never reached")))._detect(_chunk(2))


def test_device_failure_classification():
    assert device_failure(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")) is not None
    assert device_failure(RuntimeError("cuDNN error: CUDNN_STATUS_NOT_INITIALIZED")) is not None
    assert device_failure(RuntimeError("shape mismatch")) is None
    assert device_failure(ValueError("CUDA")) is None
