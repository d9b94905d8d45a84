"""The embed task cuts dlib chips from the source images (crop fallback), and records the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

RECIPE = """
seed = 2
[source]
shard_size = 10
[detect]
[embed]
embedder = "dlib-resnet"
device = "cpu"
"""


@pytest.fixture()
def three_faces(lfw_dir: Path, tmp_path: Path) -> Path:
    name = next(p.name for p in sorted(lfw_dir.iterdir()) if len(list(p.glob("*.jpg"))) >= 3)
    dst = tmp_path / "in" / name
    dst.mkdir(parents=True)
    for f in sorted((lfw_dir / name).glob("*.jpg"))[:3]:
        shutil.copy(f, dst / f.name)
    return dst.parent


def test_source_chips_and_crop_fallback(three_faces: Path, tmp_path: Path):
    from maskforge.embed.base import sha256_file
    from maskforge.models import dlib_model_path
    from maskforge.pipeline import plan_run
    from maskforge.pipeline.detect_task import DetectTask
    from maskforge.pipeline.embed_task import EmbedTask

    recipe = tmp_path / "r.toml"
    recipe.write_text(RECIPE)
    plan = plan_run(recipe, input=three_faces, output=tmp_path / "out")
    DetectTask(plan)(0)
    task = EmbedTask(plan)
    stats = task(0)
    assert stats["faces"] == 3 and stats["chips_from_crop"] == 0
    model = stats["model"]
    assert model["name"] == "dlib-resnet" and model["requested"] == "dlib-resnet"
    assert model["sha256"] == sha256_file(dlib_model_path("resnet_embedder"))
    first = np.array(task.cache.read(0).column("embedding").to_pylist())
    assert task(0)["skipped"] is True  # cached under the same key

    # a source image that no longer decodes: that face is embedded from its crop
    victim = sorted(three_faces.glob("*/*.jpg"))[0]
    victim.write_bytes(b"gone")
    again = EmbedTask(plan)(0, resume=False)
    assert again["chips_from_crop"] == 1
    second = np.array(EmbedTask(plan).cache.read(0).column("embedding").to_pylist())
    np.testing.assert_allclose(second[1:], first[1:], atol=1e-6)
    assert 0.0 < np.linalg.norm(second[0] - first[0]) < 0.3  # same face, another route
