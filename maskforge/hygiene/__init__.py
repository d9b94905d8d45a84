"""Identity hygiene: duplicate images, one person under two identities, overlap with evaluation
sets (see docs/cleaning.md "Identity hygiene").

>>> inp = HygieneInput(embeddings, identities, source_paths, phashes=hashes)
>>> result = run_hygiene(inp, HygieneConfig(action="remove"))
>>> result.records      # one row per (sample, issue): reason, action, partner, score
>>> result.removed, result.identity   # per sample: leaves? label after merges
"""

from .config import DEFAULTS, ExcludeSpec, HygieneConfig, cache_key
from .exact import bytes_hash, duplicate_groups, pixel_hash
from .phash import hamming, phash

_LAZY = {
    "HygieneInput": "search", "EvalEmbeddings": "search", "HygieneResult": "decide",
    "run_hygiene": "stage", "sample_signature": "stage",
}  # fmt: skip


def __getattr__(name: str):  # noqa: ANN202 - torch loads only when the search is used
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULTS",
    "EvalEmbeddings",
    "ExcludeSpec",
    "HygieneConfig",
    "HygieneInput",
    "HygieneResult",
    "bytes_hash",
    "cache_key",
    "duplicate_groups",
    "hamming",
    "pixel_hash",
    "phash",
    "run_hygiene",
    "sample_signature",
]
