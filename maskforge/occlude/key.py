"""The occluder assets' part of the dataset key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from .look import DEFAULT_LOOK, PhotoLook

#: Version of the rendering code: bumped whenever the same assets and options draw other bytes
#: (2: issue 20's per-face exposure, noise level and spreads of the photographic look).
RENDER_VERSION = 2


def cache_key(asset_dirs: Sequence[str | Path] | None, look: PhotoLook | None = None) -> str:
    """The digest of every occluder asset file a run with these extra ``asset_dirs`` would read
    (see :func:`maskforge.occlude.assets.asset_fingerprint`), and of the rendering options
    ``look`` (None: the defaults; they determine the output bytes too), and of
    :data:`RENDER_VERSION`."""
    from .assets import asset_fingerprint

    digest = asset_fingerprint(list(asset_dirs) if asset_dirs is not None else None)
    options = json.dumps((look or DEFAULT_LOOK).model_dump(), sort_keys=True)
    return hashlib.sha256(f"{digest}\n{options}\nrender {RENDER_VERSION}".encode()).hexdigest()
