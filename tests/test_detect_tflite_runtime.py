"""The runtime of MediaPipe's models (:mod:`maskforge.detect.tflite_runtime`): how ``runtime``
resolves, the cache keys that name it, the same bytes on every run, and LiteRT interpreters in
forked workers. Parity with torch: tests/test_detect_mediapipe_parity.py and
tests/test_detect_hands_parity.py."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

from maskforge.detect import tflite_runtime
from maskforge.detect.config import DetectConfig
from maskforge.detect.key import cache_key
from maskforge.detect.tflite_runtime import LiteRTGraph, resolve_runtime, thread_limit
from maskforge.errors import ModelNotFoundError, RecipeError
from maskforge.models import mediapipe_model_path

pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert absent")


@pytest.fixture
def no_litert(monkeypatch):
    monkeypatch.setattr(tflite_runtime, "litert_available", lambda: False)


def test_auto_is_litert_on_the_cpu_and_torch_on_a_gpu():
    assert resolve_runtime("auto", "cpu") == "litert"
    assert resolve_runtime("auto", "cuda") == resolve_runtime("auto", "cuda:1") == "torch"
    assert resolve_runtime("torch", "cpu") == "torch"
    assert resolve_runtime("litert", "cpu") == "litert"


def test_auto_falls_back_to_torch_without_litert(no_litert):
    assert resolve_runtime("auto", "cpu") == "torch"
    with pytest.raises(ModelNotFoundError, match="ai-edge-litert"):
        resolve_runtime("litert", "cpu")


def test_bad_runtimes_are_refused():
    with pytest.raises(RecipeError, match="CPU only"):
        resolve_runtime("litert", "cuda")
    with pytest.raises(RecipeError, match="runtime must be one of"):
        resolve_runtime("tflite", "cpu")
    with pytest.raises(RecipeError, match="detect.runtime"):
        DetectConfig.from_dict({"runtime": "tflite"})


def test_config_resolves_only_where_a_mediapipe_model_runs(monkeypatch):
    assert DetectConfig.from_dict({"runtime": "litert"}).resolved_runtime() is None  # dlib
    mesh = {"landmarks": "mesh", "device": "cpu"}
    assert DetectConfig.from_dict(mesh).resolved_runtime() == "litert"
    assert DetectConfig.from_dict({**mesh, "runtime": "torch"}).resolved_runtime() == "torch"
    face = {"detector": "blazeface", "device": "auto"}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU visible: auto is the CPU
    assert DetectConfig.from_dict(face).resolved_runtime() == "litert"
    monkeypatch.setattr(tflite_runtime, "litert_available", lambda: False)
    assert DetectConfig.from_dict(face).resolved_runtime() == "torch"


def test_detect_key_names_the_resolved_runtime(monkeypatch):
    def key(**kw):
        return cache_key(DetectConfig.from_dict({"detector": "blazeface", "device": "cpu", **kw}))

    lite, torch_key, auto = key(runtime="litert"), key(runtime="torch"), key()
    assert lite != torch_key and auto == lite
    assert lite["config"]["runtime"] == "litert" and "ai-edge-litert" in lite["packages"]
    assert "ai-edge-litert" not in torch_key["packages"]
    monkeypatch.setattr(tflite_runtime, "litert_available", lambda: False)
    assert key() == torch_key  # auto without LiteRT is torch, and says so
    # dlib's detector and points: the setting changes nothing, and is not in the key
    dlib = [cache_key(DetectConfig.from_dict({"runtime": r})) for r in ("torch", "litert")]
    assert dlib[0] == dlib[1] and "runtime" not in dlib[0]["config"]


def test_occluder_key_names_the_hand_runtime(no_litert):
    from maskforge.occlude.front import front_key
    from maskforge.occlude.key import cache_key as occluder_key

    assert front_key("keep", "torch").endswith(":torch") and front_key("off", "torch") == "off"
    assert occluder_key(None, None, "keep", "auto") == occluder_key(None, None, "keep", "torch")


def test_occluder_key_differs_by_runtime():
    from maskforge.occlude.key import cache_key as occluder_key
    from maskforge.pipeline.plan import _assets_part
    from maskforge.recipe import Recipe

    keys = {r: occluder_key(None, None, "keep", r) for r in ("torch", "litert")}
    assert keys["torch"] != keys["litert"] and occluder_key(None, None) == keys["litert"]
    assert occluder_key(None, None, "off", "torch") == occluder_key(None, None, "off", "litert")
    variants = [{"name": "mask", "occluder": "surgical-blue"}]
    for runtime in ("torch", "litert"):
        recipe = Recipe.model_validate({"variants": variants, "detect": {"runtime": runtime}})
        assert _assets_part(recipe) == keys[runtime]  # the hand check follows detect.runtime


def test_thread_limit(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_limit() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_limit() == 3


def test_litert_graph_runs_batches_of_any_size():
    graph = LiteRTGraph(str(mediapipe_model_path("blazeface-short")))
    x = np.random.default_rng(0).uniform(-1, 1, (3, 128, 128, 3)).astype(np.float32)
    reg, cls = graph(x)
    assert reg.shape == (3, 896, 16) and cls.shape == (3, 896, 1)
    one = graph(x[1:2])
    assert np.array_equal(one[0][0], reg[1]) and np.array_equal(one[1][0], cls[1])  # no state
    empty = graph(x[:0])
    assert [e.shape for e in empty] == [(0, 896, 16), (0, 896, 1)]


def _child_outputs(graph: LiteRTGraph, x: np.ndarray, out) -> None:  # noqa: ANN001
    out.put([y.tolist() for y in graph(x)])


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_an_interpreter_made_before_a_fork_works_in_the_children():
    """The processes executor forks workers after loading the models: a child makes its own
    interpreter and gets the parent's numbers."""
    graph = LiteRTGraph(str(mediapipe_model_path("face-mesh")))
    x = np.random.default_rng(1).uniform(0, 1, (2, 192, 192, 3)).astype(np.float32)
    parent = graph(x)  # the interpreter exists before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_child_outputs, args=(graph, x, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    for res in results:
        for mine, theirs in zip(res, parent, strict=True):
            assert np.array_equal(np.asarray(mine, np.float32), theirs)


def test_same_bytes_twice_with_either_runtime(lfw_images):
    """Fresh stages, same images: the same crops and points, byte for byte, per runtime."""
    from maskforge.detect.stage import DetectStage
    from maskforge.io.decode import decode_image

    images = [decode_image(p) for p in lfw_images[::150]]
    for runtime in ("litert", "torch"):
        config = {"detector": "blazeface", "landmarks": "mesh", "device": "cpu", "runtime": runtime}
        runs = [DetectStage(config)(images) for _ in range(2)]
        for a, b in zip(*runs, strict=True):
            assert a.image.tobytes() == b.image.tobytes()
            assert np.asarray(a.landmarks68).tobytes() == np.asarray(b.landmarks68).tobytes()


def test_a_run_pins_auto_to_what_this_process_resolves(monkeypatch, tmp_path):
    """Workers run what the driver's key says, even where they would resolve ``auto`` otherwise
    (Ray's CPU actors hide the GPU the driver sees): the planned recipe holds the resolved value."""
    from maskforge.pipeline.plan import hand_runtime, recipe_context
    from maskforge.recipe import Recipe

    def planned(detect):
        return recipe_context(Recipe.model_validate({"detect": detect}), tmp_path, tmp_path / "o")

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    ctx = planned({"detector": "blazeface", "landmarks": "mesh"})
    assert ctx.recipe.detect.runtime == "litert" == hand_runtime(ctx.recipe)
    assert planned({"landmarks": "mesh", "runtime": "torch"}).recipe.detect.runtime == "torch"
    assert planned({}).recipe.detect.runtime == "auto"  # dlib: nothing to resolve
    monkeypatch.setattr(tflite_runtime, "litert_available", lambda: False)
    assert planned({"detector": "blazeface"}).recipe.detect.runtime == "torch"


def test_no_gpu_here_is_decided_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hidden GPUs, or no NVIDIA device file on Linux: ``auto`` is the CPU without importing torch
    (~2 s: a LiteRT or dlib process may never need it); otherwise torch is asked."""
    from maskforge import device

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert device.no_gpu_here() and device.resolve_device("auto") == "cpu"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert device.no_gpu_here()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(device.sys, "platform", "linux")
    monkeypatch.setattr(device.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(device.os.path, "exists", lambda path: False)
    assert device.no_gpu_here()
    monkeypatch.setattr(device.glob, "glob", lambda pattern: ["/dev/nvidia0"])
    assert not device.no_gpu_here()  # a GPU may be there: torch decides
    monkeypatch.setattr(device.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(device.os.path, "exists", lambda path: path == "/dev/dxg")  # WSL2
    assert not device.no_gpu_here()
    monkeypatch.setattr(device.sys, "platform", "darwin")
    assert not device.no_gpu_here()


def test_the_litert_models_load_without_torch() -> None:
    """BlazeFace, Face Mesh and the hand models on LiteRT, in a process whose GPUs are hidden,
    never import torch."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from maskforge.detect import make_detector\n"
        "from maskforge.detect.facemesh import FaceMesh\n"
        "from maskforge.occlude.front import FrontGuard\n"
        "d = make_detector('blazeface'); m = FaceMesh(); g = FrontGuard('keep'); g.hands\n"
        "print(d.runtime, m.runtime, 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["litert", "litert", "False"]
