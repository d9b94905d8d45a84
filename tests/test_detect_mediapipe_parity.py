"""The torch ports of MediaPipe's face detector and Face Mesh against the reference runtime.

``ai-edge-litert`` (a dev dependency) runs the same ``.tflite`` files on the same input tensors,
built from real crops of lfw-dev and rwmfd-dev. Tolerances (float32 on the CPU): raw detector
outputs within 1e-3 of the largest magnitude (regressors are input pixels, ~100), mesh points
within 0.05 crop pixels (the 0.5 px asked is 10x looser), decoded faces identical in number with
boxes within 0.01 px.
"""

from __future__ import annotations

import numpy as np
import pytest

from maskforge.detect.blazeface import BlazeFaceDetector, letterbox
from maskforge.detect.facemesh import FaceMesh
from maskforge.io.decode import decode_image
from maskforge.models import mediapipe_model_path

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (dev) absent")


def reference(key: str, batch: np.ndarray) -> list[np.ndarray]:
    """Outputs of the reference runtime, one image at a time (its batch is 1), in file order."""
    interp = litert.Interpreter(model_path=str(mediapipe_model_path(key)))
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    outs = sorted(interp.get_output_details(), key=lambda d: d["index"])
    rows = []
    for x in batch:
        interp.set_tensor(inp, x[None].astype(np.float32))
        interp.invoke()
        rows.append([interp.get_tensor(o["index"])[0] for o in outs])
    return [np.stack(r) for r in zip(*rows, strict=True)]


@pytest.fixture(scope="module")
def images(lfw_images, rwmfd_images) -> list[np.ndarray]:
    picks = lfw_images[::90] + rwmfd_images[::75]
    return [decode_image(p) for p in picks]


@pytest.mark.parametrize("rng", ["short", "full"])
def test_blazeface_raw_outputs_match_litert(images, rng):
    det = BlazeFaceDetector(rng, device="cpu")
    squares = np.stack([letterbox(im, det.side)[0] for im in images])
    reg, logits = det.raw(squares)
    key = "blazeface-short" if rng == "short" else "blazeface-full"
    ref = reference(key, squares.astype(np.float32) / 127.5 - 1.0)
    ref_reg = next(r for r in ref if r.shape[-1] == 16)
    ref_cls = next(r for r in ref if r.shape[-1] == 1)[..., 0]
    assert reg.shape == ref_reg.shape and logits.shape == ref_cls.shape
    assert np.abs(reg - ref_reg).max() <= 1e-3 * np.abs(ref_reg).max()
    assert np.abs(logits - ref_cls).max() <= 1e-3 * np.abs(ref_cls).max()
    for k in range(len(images)):  # same decoded faces from both
        mine, theirs = det.decode(reg[k], logits[k]), det.decode(ref_reg[k], ref_cls[k])
        assert len(mine) == len(theirs)
        for (b1, _, s1), (b2, _, s2) in zip(mine, theirs, strict=True):
            assert np.abs(b1 - b2).max() * det.side < 0.01 and abs(s1 - s2) < 1e-4


def test_face_mesh_points_match_litert(images):
    det, mesh = BlazeFaceDetector(device="cpu"), FaceMesh(device="cpu")
    crops = [
        mesh.crop(im, faces[0])[0]
        for im, faces in zip(images, det.detect(images), strict=True)
        if faces
    ]
    assert len(crops) >= len(images) - 3
    crops = np.stack(crops)
    pts, logits = mesh.raw(crops)
    ref = reference("face-mesh", crops.astype(np.float32) / 255.0)
    ref_pts = next(r for r in ref if r.size // len(crops) == 1404).reshape(-1, 468, 3)
    ref_logit = next(r for r in ref if r.size // len(crops) == 1).reshape(-1)
    assert np.abs(pts - ref_pts).max() < 0.05
    assert np.abs(logits - ref_logit).max() < 1e-3
