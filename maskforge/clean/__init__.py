"""Mislabelled-image cleaning: score each sample against its identity, flag outliers.

>>> res = score_identities(embeddings, identities, CleanConfig(method="robust"))
>>> res.flagged, res.score, res.threshold, res.status
"""

from .calibrate import DEFAULT_THRESHOLDS, default_threshold
from .keep import KeepList, read_keep

_LAZY = {"CleanResult": "stage", "score_identities": "stage", "CleanConfig": "config"}


def __getattr__(name: str):  # noqa: ANN202 - torch (scoring) and pydantic (the config model)
    if name in _LAZY:  # load only when used, so importing the CLI stays fast
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_THRESHOLDS",
    "CleanConfig",
    "CleanResult",
    "KeepList",
    "default_threshold",
    "read_keep",
    "score_identities",
]
