"""Mislabelled-image cleaning: score each sample against its identity, flag outliers.

>>> res = score_identities(embeddings, identities, CleanConfig(method="robust"))
>>> res.flagged, res.score, res.threshold, res.status
"""

from .calibrate import DEFAULT_THRESHOLDS, default_threshold
from .config import CleanConfig
from .keep import KeepList, read_keep
from .stage import CleanResult, score_identities

__all__ = [
    "DEFAULT_THRESHOLDS",
    "CleanConfig",
    "CleanResult",
    "KeepList",
    "default_threshold",
    "read_keep",
    "score_identities",
]
