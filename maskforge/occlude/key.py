"""The occluder assets' part of the dataset key."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def cache_key(asset_dirs: Sequence[str | Path] | None) -> str:
    """The digest of every occluder asset file a run with these extra ``asset_dirs`` would read
    (see :func:`maskforge.occlude.assets.asset_fingerprint`)."""
    from .assets import asset_fingerprint

    return asset_fingerprint(list(asset_dirs) if asset_dirs is not None else None)
