"""The split CPU/GPU/CPU actor layout really runs, on a logical GPU with device = "cpu"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from maskforge.pipeline.pools import embeds_on_cuda, gpu_pool_resources
from maskforge.pipeline.ray_executor import default_layout, iter_ray

RECIPE = """
seed = 5
[source]
shard_size = 8
[detect]
[embed]
embedder = "dlib-resnet"
device = "{device}"
batch_size = 16
[clean]
method = "mean-distance"
"""


def _plan(tmp_path: Path, faces: Path, device: str):
    from maskforge.pipeline import plan_run

    tmp_path.mkdir(parents=True, exist_ok=True)
    recipe_file = tmp_path / "recipe.toml"
    recipe_file.write_text(RECIPE.format(device=device))
    return plan_run(recipe_file, input=faces, output=tmp_path / "out")


@pytest.fixture(scope="module")
def faces(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces")
    names = sorted(p.name for p in lfw_dir.iterdir() if len(list(p.glob("*.jpg"))) >= 4)[:2]
    for n in names:
        (root / n).mkdir()
        for f in sorted((lfw_dir / n).glob("*.jpg"))[:4]:
            shutil.copy(f, root / n / f.name)
    return root


def test_gpu_pool_resources_leave_cpus_to_the_cpu_pools():
    actors, res, threads = gpu_pool_resources(16, 1)
    assert actors == 4 and res["num_gpus"] == 0.25 and res["num_cpus"] == 2.0 and threads == 2
    actors, res, threads = gpu_pool_resources(2, 1)
    assert res["num_cpus"] == 0.0 and threads == 1  # detect and finish keep their CPU each
    assert gpu_pool_resources(40, 2)[0] == 8


def test_gpu_pool_only_for_an_embedder_on_cuda(faces: Path, tmp_path: Path):
    on_cuda, on_cpu = _plan(tmp_path / "a", faces, "auto"), _plan(tmp_path / "b", faces, "cpu")
    assert embeds_on_cuda(on_cuda) and not embeds_on_cuda(on_cpu)
    # with a GPU: split layout only for the CUDA embedder; without one: a single CPU pool
    assert [p.kind for p in default_layout(on_cuda, 16, 1, 8)] == ["cpu", "gpu", "cpu"]
    assert len(default_layout(on_cpu, 16, 1, 8)) == 1 and len(default_layout(on_cuda, 16, 0, 8)) == 1
    embed_pool = default_layout(on_cuda, 16, 1, 8)[1]
    assert embed_pool.size == 4 and embed_pool.num_gpus == 0.25 and embed_pool.threads == 2


@pytest.mark.slow
def test_split_pools_execute_on_a_logical_gpu(faces: Path, tmp_path: Path):
    import ray

    plan = _plan(tmp_path, faces, "cpu")
    ray.init(address="local", num_cpus=3, num_gpus=1, include_dashboard=False, log_to_driver=False)
    try:
        todo = [s.index for s in plan.shards]
        layout = default_layout(plan, cpus=3, gpus=1, shards=len(todo), gpu_pool=True)
        assert [p.kind for p in layout] == ["cpu", "gpu", "cpu"]
        stats = list(iter_ray(plan, todo, layout=layout))
    finally:
        ray.shutdown()
    assert len(stats) == len(plan.shards) == 1
    for s in stats:
        w = {name: st["worker"] for name, st in s["stages"].items()}
        assert w["detect"]["pool"] == "cpu" and w["finish"]["pool"] == "cpu"
        assert w["embed"]["pool"] == "gpu"
        assert w["embed"]["pid"] not in (w["detect"]["pid"], w["finish"]["pid"])
        # CPU actors hide the GPU from their own process; the GPU actor sees Ray's assignment
        assert w["detect"]["cuda_visible_devices"] == "" == w["finish"]["cuda_visible_devices"]
        assert w["embed"]["cuda_visible_devices"] == "0"
        assert s["stages"]["embed"]["model"]["name"] == "dlib-resnet"
        assert s["stages"]["embed"]["model"]["device"] == "cpu"
        assert s["samples"] > 0
