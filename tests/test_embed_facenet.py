"""facenet-vggface2: the real loading path with a randomly initialised state dict, and fallbacks."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from facenet_pytorch import InceptionResnetV1

from maskforge.embed import make_embedder
from maskforge.embed.facenet import WEIGHTS_ENV, WEIGHTS_FILE, FacenetEmbedder
from maskforge.errors import ModelNotFoundError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A VGGFace2-shaped state dict (classifier head included, as in the real file)."""
    torch.manual_seed(0)
    model = InceptionResnetV1(classify=True, num_classes=7).eval()
    path = tmp_path_factory.mktemp("w") / WEIGHTS_FILE
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture
def no_weights_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)


def faces(n: int, size: int = 112) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def embedder(weights):
    return make_embedder("facenet-vggface2", device="cpu", weights=weights, batch_size=2)


def test_loads_state_dict_and_embeds(embedder, weights):
    vecs = embedder.embed(faces(3))
    assert vecs.shape == (3, 512) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    info = embedder.info
    assert info["name"] == "facenet-vggface2" and info["dim"] == 512 and info["device"] == "cpu"
    assert info["weights"] == str(weights)
    assert info["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert embedder.embed([]).shape == (0, 512)
    # batch boundaries (batch_size=2) do not change a crop's vector
    np.testing.assert_allclose(embedder.embed(faces(3)[2:]), vecs[2:], atol=1e-5)


def test_matches_plain_facenet_forward(embedder, weights):
    """Same numbers as facenet-pytorch fed a 160x160 crop standardised as (x - 127.5) / 128."""
    ref = InceptionResnetV1().eval()
    state = {k: v for k, v in torch.load(weights).items() if not k.startswith("logits.")}
    ref.load_state_dict(state)
    crop = faces(1, 160)[0]
    x = (torch.from_numpy(crop).permute(2, 0, 1)[None].float() - 127.5) / 128.0
    with torch.no_grad():
        want = ref(x).numpy()
    np.testing.assert_allclose(embedder.embed([crop]), want, atol=1e-4)
    pre = embedder.preprocess([faces(1)[0]])
    assert tuple(pre.shape) == (1, 3, 160, 160)
    assert -1.0 <= float(pre.min()) and float(pre.max()) <= 1.0


def test_found_in_torch_hub_cache_and_auto_prefers_it(weights, monkeypatch, tmp_path):
    home = tmp_path / "torch"
    (home / "checkpoints").mkdir(parents=True)
    (home / "checkpoints" / WEIGHTS_FILE).write_bytes(weights.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    emb = make_embedder("auto", device="cpu")
    assert isinstance(emb, FacenetEmbedder)
    assert emb.info["weights"] == str(home / "checkpoints" / WEIGHTS_FILE)


def test_missing_weights(no_weights_env, tmp_path):
    with pytest.raises(ModelNotFoundError, match="checkpoints") as exc:
        make_embedder("facenet-vggface2")
    assert WEIGHTS_FILE in str(exc.value) and "dlib-resnet" in str(exc.value)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        make_embedder("facenet-vggface2", weights=tmp_path / "nope.pt")
    assert make_embedder("auto").info["name"] == "dlib-resnet"


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(ModelNotFoundError, match="not an InceptionResnetV1"):
        make_embedder("facenet-vggface2", weights=bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError, match="cannot read"):
        make_embedder("facenet-vggface2", weights=junk)


def test_unknown_embedder():
    from maskforge.errors import RecipeError

    with pytest.raises(RecipeError, match="unknown embedder"):
        make_embedder("arcface")
