"""The occluder assets' part of the dataset key."""

from __future__ import annotations

from pathlib import Path


def cache_key(asset_dirs: list[str | Path] | None) -> str:
    """The digest of every occluder asset file a run with these extra ``asset_dirs`` would read
    (see :func:`maskforge.occlude.assets.asset_fingerprint`)."""
    from .assets import asset_fingerprint

    return asset_fingerprint(asset_dirs)
