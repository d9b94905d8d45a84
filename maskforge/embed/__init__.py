"""Face embedders: aligned RGB crops -> L2-normalised float32 identity vectors.

>>> emb = make_embedder("auto")            # facenet-vggface2 if its weights exist, else dlib-resnet
>>> emb = make_embedder("dlib-resnet")     # dlib's ResNet in PyTorch (CPU or CUDA, batched)
>>> emb = make_embedder("onnx:/models/buffalo_l/w600k_r50.onnx")  # your own ArcFace-style ONNX
>>> vecs = emb.embed(crops, landmarks5)    # float32 [N, D], unit rows
>>> emb.info                               # name, dim, weights, sha256, device (for the manifest)
"""

from ..device import resolve_device
from .base import Embedder, l2_normalise
from .factory import EMBEDDERS, embedder_identity, make_embedder, resolve_embedder
from .key import INPUT_VERSION, cache_key, resolve_identity

__all__ = [
    "cache_key",
    "INPUT_VERSION",
    "resolve_identity",
    "EMBEDDERS",
    "Embedder",
    "embedder_identity",
    "l2_normalise",
    "make_embedder",
    "resolve_device",
    "resolve_embedder",
]
