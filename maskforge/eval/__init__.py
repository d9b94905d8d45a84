"""Masked-face evaluation: verification pairs (LFW protocol, ROC, TAR@FAR) and 1:N identification.

Public API::

    from maskforge.eval import verify, identify, make_pairs, read_pairs, write_pairs
    res = verify("pairs.txt", "/data/lfw", embed_fn, mask="one", occluder="surgical-blue")
    res.metrics["accuracy"], res.metrics["tar_at_far"]["0.001"]
    ident = identify("/data/faces", embed_fn, gallery_per_identity=1)

``embed_fn`` maps aligned crops ``(N, H, W, 3)`` uint8 RGB to an ``(N, D)`` array (a user's
PyTorch model, say), or is a :class:`maskforge.embed.Embedder`. See docs/evaluation.md.
"""

from .faces import Failure, Masker, load_model, make_masker
from .identify import IdentifyResult, identify
from .make_pairs import MadePairs, make_pairs
from .pairs import Pair, read_pairs, write_pairs
from .protocol import FAR_TARGETS, verification_metrics
from .verify import MASK_MODES, VerifyResult, verify

__all__ = [
    "FAR_TARGETS",
    "MASK_MODES",
    "Failure",
    "IdentifyResult",
    "MadePairs",
    "Masker",
    "Pair",
    "VerifyResult",
    "identify",
    "load_model",
    "make_masker",
    "make_pairs",
    "read_pairs",
    "verification_metrics",
    "verify",
    "write_pairs",
]
