"""The embedder is resolved when the run is planned; its identity keys the embed cache (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from maskforge.errors import DeviceError, RecipeError
from maskforge.models import dlib_model_path

RECIPE = """
seed = 1
[detect]
[embed]
{embed}
[clean]
"""


@pytest.fixture()
def tiny_input(tmp_path: Path) -> Path:
    root = tmp_path / "in" / "someone"
    root.mkdir(parents=True)
    (root / "a.jpg").write_bytes(b"not decoded at planning")
    return root.parent


def _plan(tmp_path: Path, inp: Path, embed: str = "", name: str = "r"):
    from maskforge.pipeline import plan_run

    f = tmp_path / f"{name}.toml"
    f.write_text(RECIPE.format(embed=embed))
    return plan_run(f, input=inp, output=tmp_path / f"out-{name}")


def test_auto_resolves_at_planning(tmp_path, tiny_input, monkeypatch):
    from maskforge.embed.base import sha256_file

    monkeypatch.delenv("MASKFORGE_FACENET_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-torch-home"))
    plan = _plan(tmp_path, tiny_input)
    ident = plan.embed_identity
    assert ident["name"] == "dlib-resnet" and ident["requested"] == "auto"
    assert ident["sha256"] == sha256_file(dlib_model_path("resnet_embedder"))


def test_facenet_weights_appearing_change_the_embed_key(tmp_path, tiny_input, monkeypatch):
    """A run cached dlib vectors; facenet weights appear: `auto` now means facenet, so the embed
    cache key differs and the dlib vectors are never judged by facenet's threshold."""
    monkeypatch.delenv("MASKFORGE_FACENET_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    before = _plan(tmp_path, tiny_input, name="before")
    weights = tmp_path / "torch" / "checkpoints" / "20180402-114759-vggface2.pt"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"facenet weights appeared")
    with pytest.warns(UserWarning, match="not calibrated"):
        after = _plan(tmp_path, tiny_input, name="after")
    assert after.embed_identity["name"] == "facenet-vggface2"
    assert after.stage_keys["embed"] != before.stage_keys["embed"]
    assert after.stage_keys["dataset"] != before.stage_keys["dataset"]  # cleaning redone too
    assert after.stage_keys["detect"] == before.stage_keys["detect"]


def test_key_covers_weights_content_not_device_or_batch(tmp_path, tiny_input):
    dat = dlib_model_path("resnet_embedder")
    copy = tmp_path / "copy.dat"
    shutil.copy(dat, copy)
    base = _plan(tmp_path, tiny_input, 'embedder = "dlib-resnet"', "base")
    same = _plan(tmp_path, tiny_input, f'embedder = "dlib-resnet"\nweights = "{copy}"', "same")
    fast = _plan(tmp_path, tiny_input, 'embedder = "dlib-resnet"\ndevice = "cpu"\nbatch_size = 7', "fast")
    assert base.stage_keys["embed"] == same.stage_keys["embed"] == fast.stage_keys["embed"]
    with open(copy, "ab") as fh:
        fh.write(b"\0")
    changed = _plan(tmp_path, tiny_input, f'embedder = "dlib-resnet"\nweights = "{copy}"', "changed")
    assert changed.stage_keys["embed"] != base.stage_keys["embed"]
    native = _plan(tmp_path, tiny_input, 'embedder = "dlib-resnet-native"', "native")
    assert native.stage_keys["embed"] != base.stage_keys["embed"]


def test_finish_takes_the_embedder_from_the_embed_cache(tmp_path, tiny_input):
    """The threshold follows the vectors: the name comes from the cached stats, and no model is
    loaded to learn it."""
    from maskforge.clean.calibrate import default_threshold
    from maskforge.pipeline.finish_task import FinishTask

    plan = _plan(tmp_path, tiny_input)
    task = FinishTask(plan)
    assert task._embedder_name(0) == "dlib-resnet"  # nothing cached: the plan's resolution
    table = pa.table({"sample_id": ["x"], "embedding": [[0.0] * 128]})
    stats = {"shard": 0, "key": task.embed.cache_key(0), "model": {"name": "dlib-resnet-native"}}
    task.embed.cache.write(0, table, [], stats)
    assert task._embedder_name(0) == "dlib-resnet-native"
    assert task.embed._embedder is None
    assert default_threshold("robust", "dlib-resnet-native") == default_threshold("robust", "dlib-resnet")


def test_device_strings_are_validated(monkeypatch):
    import torch

    from maskforge.embed import make_embedder, resolve_device

    for bad in ("gpu", "cuda:x", "CUDA", ""):
        with pytest.raises(RecipeError, match="device"):
            resolve_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu", require_cuda=True) == "cpu"
    for dev in ("auto", "cuda", "cuda:1"):
        with pytest.raises(DeviceError, match="nvidia-smi"):
            resolve_device(dev, require_cuda=True)
    with pytest.raises(DeviceError):
        make_embedder("dlib-resnet", device="cuda")
    with pytest.raises(RecipeError, match="CUDA"):
        make_embedder("dlib-resnet", device="cpu", dtype="float16")
    with pytest.raises(RecipeError, match="CPU only"):
        make_embedder("dlib-resnet-native", device="cuda")


def test_flip_average_is_mirror_symmetric():
    """flip=True embeds a chip and its mirror image identically (the average is symmetric)."""
    from maskforge.embed import make_embedder

    rng = np.random.default_rng(3)
    chip = rng.integers(0, 256, (1, 150, 150, 3), dtype=np.uint8)
    emb = make_embedder("dlib-resnet", device="cpu", flip=True)
    a = emb.embed_chips(chip)
    b = emb.embed_chips(np.ascontiguousarray(chip[:, :, ::-1]))
    np.testing.assert_allclose(a, b, atol=1e-5)
    plain = make_embedder("dlib-resnet", device="cpu").embed_chips(chip)
    assert np.abs(plain - a).max() > 1e-3
