"""Which actor pools a Ray run uses, and what the GPU pool's actors get.

The split layout (detect on CPU actors, embed on GPU actors, finish on CPU actors) pays a hand-off
per shard; it is used only when the resolved embedder would really run on CUDA.
"""

from __future__ import annotations

from ..onnxrt import cuda_available, is_onnx
from .context import RunContext

#: Embedding actors per GPU (each holds a fractional GPU and its own CPU share, so decoding and
#: chip cutting of one overlap the forward passes of the others).
EMBED_ACTORS_PER_GPU = 4


def embeds_on_cuda(plan: RunContext) -> bool:
    """Whether the plan's resolved embedder would run on CUDA given a GPU (the GPU pool is used
    only then; dlib-resnet-native, ``device = "cpu"`` and an ONNX embedder without onnxruntime's
    CUDA provider stay in the CPU layout)."""
    if not plan.needs_embeddings:
        return False
    name = str(plan.embed_identity.get("name"))
    if plan.recipe.embed_config.device == "cpu" or name == "dlib-resnet-native":
        return False
    return cuda_available() if is_onnx(name) else True


def gpu_pool_resources(cpus: int, gpus: int) -> tuple[int, dict[str, float], int]:
    """``(actors, per-actor resources, torch threads)`` of the embedding pool: several
    fractional-GPU actors, each with a CPU share that leaves at least one CPU to the detect
    pool and one to the finish pool."""
    actors = max(1, gpus * EMBED_ACTORS_PER_GPU)
    share = max(0.0, min(2.0, (cpus - 2) / actors))
    res = {"num_gpus": gpus / actors, "num_cpus": share}
    return actors, res, max(1, int(share))
