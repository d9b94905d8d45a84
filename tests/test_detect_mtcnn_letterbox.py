"""MTCNN letterboxes mixed image sizes onto a few canvases and batches them (issue 11)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.detect.mtcnn import CANVAS_STEP, MtcnnDetector, canvas_size, letterbox


@given(st.integers(1, 2000), st.integers(1, 2000))
def test_canvas_holds_the_image_with_less_than_a_step_of_padding(h, w):
    ch, cw = canvas_size(h, w)
    assert ch % CANVAS_STEP == 0 and cw % CANVAS_STEP == 0
    assert 0 <= ch - h < CANVAS_STEP and 0 <= cw - w < CANVAS_STEP
    img = np.full((h % 50 + 1, w % 50 + 1, 3), 7, np.uint8)
    out = letterbox(img, canvas_size(*img.shape[:2]))
    assert (out[: img.shape[0], : img.shape[1]] == 7).all() and out.sum() == img.sum()


@pytest.fixture(scope="module")
def mixed(lfw_dir: Path):
    from maskforge.io.decode import decode_image

    paths = sorted(lfw_dir.glob("*/*.jpg"))[::90][:6]
    imgs = [decode_image(p) for p in paths]
    sizes = [(250, 250), (240, 250), (250, 236), (230, 230), (250, 250), (245, 241)]
    return [cv2.resize(im, (w, h)) if (h, w) != im.shape[:2] else im for im, (h, w) in zip(imgs, sizes, strict=True)]


def test_mixed_sizes_run_in_one_batch_with_the_same_faces(mixed, monkeypatch):
    boxed = MtcnnDetector(device="cpu", batch_size=32)
    plain = MtcnnDetector(device="cpu", batch_size=32, letterbox=False)
    calls = []
    original = MtcnnDetector._detect_same_size

    def counting(self, images):
        calls.append(len(images))
        return original(self, images)

    monkeypatch.setattr(MtcnnDetector, "_detect_same_size", counting)
    a = boxed.detect(mixed)
    assert calls == [len(mixed)]  # all six sizes share the 256x256 canvas: one forward batch
    calls.clear()
    b = plain.detect(mixed)
    assert len(calls) == 5  # without letterboxing: one call per distinct size
    # padding changes MTCNN's pyramid sizes a little: points move ~1.5 px (median over lfw-dev)
    moved = []
    for fa, fb in zip(a, b, strict=True):
        assert len(fa) >= 1 and len(fb) >= 1
        width = fb[0].box[2] - fb[0].box[0]
        assert np.abs(fa[0].box - fb[0].box).max() < 0.08 * width
        moved.append(np.abs(fa[0].landmarks5 - fb[0].landmarks5).max())
    assert np.median(moved) < 3.0 and max(moved) < 6.0
