"""Mislabelled-image cleaning: score each sample against its identity, flag outliers.

>>> res = score_identities(embeddings, identities, CleanConfig(method="robust"))
>>> res.flagged, res.score, res.threshold, res.status
"""

from .calibrate import DEFAULT_THRESHOLDS, default_threshold
from .config import CleanConfig
from .keep import KeepList, read_keep


def __getattr__(name: str):  # noqa: ANN202 - torch is imported only when scoring is used
    if name in ("CleanResult", "score_identities"):
        from . import stage

        return getattr(stage, name)
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
