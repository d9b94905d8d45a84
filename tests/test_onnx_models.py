"""Issue 22 (4): your own ONNX detector and embedder, through onnxruntime (a real dependency):
tiny models with SCRFD's and ArcFace's exact signatures and known outputs run through the real
loading, anchor decoding, NMS, alignment and embedding code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.detect import DetectConfig, DetectStage, make_detector
from maskforge.detect.align import ARCFACE_112, align_face
from maskforge.detect.factory import detector_identity
from maskforge.detect.scrfd import anchor_centres, decode, letterbox, nms, split_outputs
from maskforge.embed import embedder_identity, make_embedder
from maskforge.errors import DeviceError, ModelFileMissingError, RecipeError
from maskforge.onnxrt import CPU, CUDA, model_pack, providers_for

from .onnx_builders import Anchor, arcface_model, other_model, scrfd_model

#: Five points that are an exact similarity image of the ArcFace template (network pixels).
FACE_POINTS = (ARCFACE_112 * 0.2 + np.array([21.0, 10.0])).astype(np.float32)


def _anchors() -> list[Anchor]:
    def at(stride: int, row: int, col: int, k: int, score: float, box, pts=None) -> Anchor:
        c = np.array([col, row], np.float32) * stride
        x1, y1, x2, y2 = box
        dist = ((c[0] - x1) / stride, (c[1] - y1) / stride, (x2 - c[0]) / stride, (y2 - c[1]) / stride)
        pts = FACE_POINTS if pts is None else pts
        return Anchor(stride, row, col, k, score, dist, (np.asarray(pts) - c) / stride)

    return [
        at(8, 3, 4, 1, 0.9, (16, 6, 48, 46)),  # the face
        at(8, 3, 4, 0, 0.7, (17, 7, 47, 45)),  # the same face, weaker: NMS drops it
        at(16, 1, 3, 0, 0.3, (40, 8, 56, 24)),  # below the 0.5 threshold
        at(8, 1, 1, 0, 0.8, (4, 4, 12, 12), pts=np.full((5, 2), 8.0)),  # a second, small face
    ]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx")
    pack = root / "buffalo_tiny"
    pack.mkdir()
    w = np.zeros((3, 8), np.float32)
    w[0, 0], w[1, 1], w[2, 2], w[:, 3] = 1.0, 2.0, 3.0, 0.5
    return {
        "det": scrfd_model(pack / "det_10g.onnx", _anchors()),
        "det_level": scrfd_model(root / "det_level.onnx", _anchors(), order="level", batch_dim=True),
        "det_nokps": scrfd_model(root / "det_nokps.onnx", _anchors(), points=False, symbolic=False),
        "emb": arcface_model(pack / "w600k_r50.onnx", w),
        "emb_one": arcface_model(root / "w_one.onnx", w, fixed_batch=True),
        "other": other_model(pack / "2d106det.onnx"),
        "pack": pack,
    }


def _image(h: int = 96, w: int = 128) -> np.ndarray:
    g = np.random.default_rng(0)
    return g.integers(0, 256, (h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------ decoding pieces


def test_anchor_centres_are_row_major_with_anchors_consecutive() -> None:
    c = anchor_centres(2, 3, 8, 2)
    assert c.shape == (12, 2)
    assert c[:6].tolist() == [[0, 0], [0, 0], [8, 0], [8, 0], [16, 0], [16, 0]]
    assert c[6].tolist() == [0, 8]


@settings(max_examples=50, deadline=None)
@given(
    boxes=st.lists(
        st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(1, 40), st.floats(1, 40), st.floats(0, 1)),
        min_size=1, max_size=20,
    ),
    iou=st.floats(0.1, 0.9),
)
def test_nms_keeps_the_best_and_no_two_overlapping(boxes: list, iou: float) -> None:
    arr = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in boxes], np.float32)
    scores = np.array([s for *_, s in boxes], np.float32)
    keep = nms(arr, scores, iou)
    assert keep[0] == int(np.argmax(scores)) or scores[keep[0]] == scores.max()
    kept = arr[keep]
    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            a, b = kept[i], kept[j]
            inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            assert inter / union <= iou + 1e-6
    dropped = set(range(len(arr))) - set(keep.tolist())
    for d in dropped:  # every dropped box overlaps a kept box that scores at least as well
        assert any(scores[k] >= scores[d] for k in keep)


def test_letterbox_keeps_the_aspect_at_the_top_left() -> None:
    canvas, sx, sy = letterbox(np.full((96, 128, 3), 200, np.uint8), 64, 64)
    assert (sx, sy) == (0.5, 0.5) and canvas.shape == (64, 64, 3)
    assert (canvas[:48] == 200).all() and (canvas[48:] == 0).all()


def test_outputs_are_matched_by_shape_not_order(models: dict[str, Path]) -> None:
    import onnxruntime

    blob = np.zeros((1, 3, 64, 64), np.float32)
    decoded = []
    for key in ("det", "det_level"):
        sess = onnxruntime.InferenceSession(str(models[key]), providers=[CPU])
        outs = sess.run(None, {"input.1": blob})
        decoded.append(decode(split_outputs(outs, (8, 16, 32), True), 64, 64, 0.5))
    for a, b in zip(decoded[0], decoded[1], strict=True):
        np.testing.assert_array_equal(a, b)
    boxes, scores, points = decoded[0]
    assert sorted(round(float(s), 3) for s in scores) == [0.7, 0.8, 0.9]


# ------------------------------------------------------------------ the detector


def test_scrfd_detector_decodes_the_known_faces(models: dict[str, Path]) -> None:
    det = make_detector(f"onnx:{models['det']}", device="cpu", input_size=64)
    faces = det.detect([_image()])[0]
    assert [round(f.score, 3) for f in faces] == [0.9, 0.8]  # 0.7 suppressed, 0.3 below threshold
    face = faces[0]
    np.testing.assert_allclose(face.box, np.array([16, 6, 48, 46]) * 2, atol=1e-4)  # letterbox x0.5
    np.testing.assert_allclose(face.landmarks5, FACE_POINTS * 2, atol=1e-4)
    assert face.landmarks68 is None and det.info["points"] is True and det.info["levels"] == 3
    assert det.model.session.get_providers() == [CPU]


def test_detector_without_points_takes_them_from_the_68_point_model(models: dict[str, Path]) -> None:
    det = make_detector(f"onnx:{models['det_nokps']}", device="cpu", input_size=320)  # fixed 64 wins
    assert det.input_hw == (64, 64) and det.info["points"] is False
    face = det.detect([_image()])[0][0]
    np.testing.assert_allclose(face.box, np.array([16, 6, 48, 46]) * 2, atol=1e-4)
    assert face.landmarks68 is not None and face.landmarks5.shape == (5, 2)


def test_detect_stage_aligns_the_onnx_face(models: dict[str, Path]) -> None:
    """The real stage: selection, 68 points, ArcFace alignment of the decoded 5 points."""
    stage = DetectStage(DetectConfig(detector=f"onnx:{models['det']}", device="cpu", input_size=64))
    (res,) = stage([_image()])
    assert not hasattr(res, "reason"), res
    np.testing.assert_allclose(res.source_bbox, np.array([16, 6, 48, 46]) * 2, atol=1e-4)
    np.testing.assert_allclose(res.landmarks5, ARCFACE_112, atol=1e-3)  # exact similarity image
    assert res.image.shape == (112, 112, 3) and abs(res.det_score - 0.9) < 1e-6
    assert stage.detector.name == "onnx"


def test_detector_config_accepts_onnx_names_only() -> None:
    assert DetectConfig(detector="onnx:/models/det_10g.onnx").detector == "onnx:/models/det_10g.onnx"
    with pytest.raises(RecipeError, match="detect.detector must be dlib-hog, mtcnn, dlib-cnn, blazeface, blazeface-full or onnx:PATH"):
        DetectConfig.parse({"detector": "scrfd"})
    with pytest.raises(RecipeError, match="input_size"):
        DetectConfig.parse({"input_size": 100})


# ------------------------------------------------------------------ the embedder


def test_arcface_embedder_aligns_normalises_and_keeps_rgb(models: dict[str, Path]) -> None:
    emb = make_embedder(f"onnx:{models['emb']}", device="cpu", batch_size=2)
    assert emb.dim == 8 and emb.wants_source and emb.size == 112
    g = np.random.default_rng(1)
    crops = [np.clip(g.normal(m, 20, (112, 112, 3)), 0, 255).astype(np.uint8) for m in (60, 120, 200)]
    crops[1][..., 0] = 250  # a red crop: a channel swap would show
    lm = [ARCFACE_112.astype(np.float32)] * 3  # already aligned: the chip is the crop itself
    out = emb.embed(crops, lm)
    w = np.zeros((3, 8), np.float32)
    w[0, 0], w[1, 1], w[2, 2], w[:, 3] = 1.0, 2.0, 3.0, 0.5
    means = np.stack([((c.astype(np.float32) - 127.5) / 127.5).mean(axis=(0, 1)) for c in crops])
    want = means @ w
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(out, want, atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_arcface_embedder_cuts_its_chip_from_the_source(models: dict[str, Path]) -> None:
    """Source image + source points give the chip of the existing ArcFace alignment."""
    emb = make_embedder(f"onnx:{models['emb_one']}", device="cpu", batch_size=16)
    assert emb.batch_size == 1  # the model's batch dimension is fixed at 1
    image = _image(200, 240)
    pts = (ARCFACE_112 * 1.4 + np.array([50.0, 20.0])).astype(np.float32)
    chip, _ = align_face(image, pts, 112, 0.0, "arcface")
    np.testing.assert_allclose(emb.embed([image], [pts]), emb.embed([chip], [ARCFACE_112]), atol=1e-5)


# ------------------------------------------------------------------ identity, errors, providers


def test_sha256_identifies_the_weights(models: dict[str, Path]) -> None:
    digest = hashlib.sha256(models["det"].read_bytes()).hexdigest()
    ident = detector_identity(f"onnx:{models['det']}")
    assert ident == {"name": "onnx", "weights": str(models["det"]), "sha256": digest}
    assert detector_identity("dlib-hog") == {"name": "dlib-hog"}
    e = embedder_identity(f"onnx:{models['emb']}")
    assert e["name"] == f"onnx:{models['emb']}" and e["sha256"] == hashlib.sha256(models["emb"].read_bytes()).hexdigest()
    emb = make_embedder(f"onnx:{models['emb']}", device="cpu")
    assert emb.info["sha256"] == e["sha256"] and emb.info["device"] == "cpu"


def test_a_missing_file_says_where_to_put_it(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "det_10g.onnx"
    with pytest.raises(ModelFileMissingError, match="never downloads weights") as err:
        detector_identity(f"onnx:{missing}")
    assert str(missing) in str(err.value) and '[detect] detector = "onnx:PATH"' in str(err.value)
    with pytest.raises(ModelFileMissingError, match="ONNX embedder"):
        make_embedder(f"onnx:{tmp_path / 'w600k_r50.onnx'}", device="cpu")
    with pytest.raises(ModelFileMissingError, match="ONNX detector"):
        make_detector(f"onnx:{missing}", device="cpu")
    with pytest.raises(ModelFileMissingError, match="model folder .* does not exist"):
        model_pack(tmp_path / "buffalo_l")


def test_execution_providers() -> None:
    assert providers_for("cpu") == [CPU]
    assert providers_for("auto", available=[CPU]) == [CPU]
    assert providers_for("auto", available=[CUDA, CPU]) == [(CUDA, {"device_id": 0}), CPU]
    assert providers_for("cuda:1", available=[CUDA, CPU]) == [(CUDA, {"device_id": 1}), CPU]
    assert providers_for("cpu", available=[CUDA, CPU]) == [CPU]
    with pytest.raises(DeviceError, match="onnxruntime-gpu"):
        providers_for("cuda", available=[CPU])
    with pytest.raises(RecipeError):
        providers_for("gpu", available=[CPU])


def test_model_pack_resolves_detector_and_embedder(models: dict[str, Path], tmp_path: Path) -> None:
    pack = model_pack(models["pack"])
    assert pack.detector == f"onnx:{models['det']}" and pack.embedder == f"onnx:{models['emb']}"
    assert pack.overrides() == {"detect.detector": pack.detector, "embed.embedder": pack.embedder}
    (tmp_path / "det_a.onnx").write_bytes(models["det"].read_bytes())
    (tmp_path / "det_b.onnx").write_bytes(models["det_level"].read_bytes())
    with pytest.raises(RecipeError, match="2 ONNX detectors"):
        model_pack(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileMissingError, match="no ONNX face detector"):
        model_pack(empty)


def test_detect_key_config_holds_the_sha256_not_the_path(models: dict[str, Path], tmp_path: Path) -> None:
    """What the detect stage key is made from: the weights' content for ONNX (a copy elsewhere
    gives the same key), and no ONNX-only keys for the built-in detectors (their keys stay as
    they were before ONNX detectors existed)."""
    copy = tmp_path / "elsewhere.onnx"
    copy.write_bytes(models["det"].read_bytes())
    a = DetectConfig(detector=f"onnx:{models['det']}").key_config()
    assert a == DetectConfig(detector=f"onnx:{copy}").key_config()
    assert a["detector"] == {"name": "onnx", "sha256": hashlib.sha256(copy.read_bytes()).hexdigest()}
    assert a["input_size"] == 640
    hog = DetectConfig().key_config()
    assert hog["detector"] == "dlib-hog" and not {"input_size", "det_threshold", "nms_iou"} & set(hog)
    assert DetectConfig(input_size=320).key_config() == hog


# ------------------------------------------------------------------ maskforge eval --embedder onnx:PATH


@pytest.fixture(scope="module")
def four_faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 identities x 2 real faces, copied to a temporary folder."""
    root = tmp_path_factory.mktemp("faces")
    for name in ("Ann_Veneman", "Bill_McBride"):
        (root / name).mkdir()
        for k in (1, 2):
            src = lfw_dir / name / f"{name}_000{k}.jpg"
            (root / name / src.name).write_bytes(src.read_bytes())
    return root


def test_eval_with_the_onnx_embedder(models: dict[str, Path], four_faces: Path, tmp_path: Path) -> None:
    """`maskforge eval pairs / identify --embedder onnx:PATH`: the ONNX embedder's name, weights
    and SHA-256 reach metrics.json."""
    import json

    from click.testing import CliRunner

    from maskforge.cli import main

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "path_a,path_b,same,fold\n"
        "Ann_Veneman/Ann_Veneman_0001.jpg,Ann_Veneman/Ann_Veneman_0002.jpg,1,0\n"
        "Ann_Veneman/Ann_Veneman_0001.jpg,Bill_McBride/Bill_McBride_0001.jpg,0,0\n"
        "Bill_McBride/Bill_McBride_0001.jpg,Bill_McBride/Bill_McBride_0002.jpg,1,1\n"
        "Ann_Veneman/Ann_Veneman_0002.jpg,Bill_McBride/Bill_McBride_0002.jpg,0,1\n"
    )
    digest = hashlib.sha256(models["emb"].read_bytes()).hexdigest()
    common = ["--images", str(four_faces), "--embedder", f"onnx:{models['emb']}", "--quiet"]
    res = CliRunner().invoke(main, ["eval", "pairs", str(pairs), "--output", str(tmp_path / "p"), *common])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "p" / "metrics.json").read_text())
    assert (m["embedder"], m["weights"], m["sha256"]) == ("onnx", str(models["emb"]), digest)
    assert m["pairs"] == 4 and m["failures"]["images"] == 0
    res = CliRunner().invoke(main, ["eval", "identify", "--output", str(tmp_path / "i"), *common])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "i" / "metrics.json").read_text())
    assert m["sha256"] == digest and m["probes"] == 2 and m["gallery_identities"] == 2
    missing = tmp_path / "nowhere" / "w600k_r50.onnx"
    res = CliRunner().invoke(main, ["eval", "identify", "--output", str(tmp_path / "x"), "--images",
                                    str(four_faces), "--embedder", f"onnx:{missing}"])  # fmt: skip
    assert res.exit_code == 2 and "never downloads weights" in res.output and "Traceback" not in res.output


def test_a_model_of_the_wrong_kind_is_refused(models: dict[str, Path]) -> None:
    with pytest.raises(RecipeError, match="SCRFD or RetinaFace-style detector has 1 input and 6, 9, 10, 15"):
        make_detector(f"onnx:{models['emb']}", device="cpu")
    with pytest.raises(RecipeError, match="one \\(N, 3, H, W\\) input and one \\(N, D\\) output"):
        make_embedder(f"onnx:{models['det']}", device="cpu")
    with pytest.raises(RecipeError, match="input 192x192; an ArcFace-style embedder takes 112x112"):
        make_embedder(f"onnx:{models['other']}", device="cpu")  # a landmark model of the pack


def test_relative_onnx_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in the driver, a relative onnx:PATH names the same file in every worker."""
    from maskforge.embed.config import EmbedConfig

    monkeypatch.chdir(tmp_path)
    assert DetectConfig(detector="onnx:m/det.onnx").detector == f"onnx:{tmp_path}/m/det.onnx"
    assert EmbedConfig(embedder="onnx:w.onnx").embedder == f"onnx:{tmp_path}/w.onnx"
    assert EmbedConfig(embedder="dlib-resnet").embedder == "dlib-resnet"


def test_five_level_layout(tmp_path: Path) -> None:
    """The 15-output layout (strides 8 .. 128, one anchor per location) decodes a face found at
    stride 64, and the 10-output one (no points) too."""
    face = Anchor(64, 1, 0, 0, 0.95, (0.25, 0.5, 0.75, 1.0), (FACE_POINTS - np.array([0.0, 64.0])) / 64)
    for points in (True, False):
        path = scrfd_model(tmp_path / f"five{points}.onnx", [face], size=128, points=points,
                           strides=(8, 16, 32, 64, 128), anchors_per_location=1, order="level")  # fmt: skip
        det = make_detector(f"onnx:{path}", device="cpu", input_size=128)
        assert len(det.model.outputs) == (15 if points else 10) and det.strides == (8, 16, 32, 64, 128)
        (found,) = det.detect([_image(128, 128)])[0]
        np.testing.assert_allclose(found.box, [-16, 32, 48, 128], atol=1e-4)
        if points:
            np.testing.assert_allclose(found.landmarks5, FACE_POINTS, atol=1e-4)
