"""The occluder assets' part of the dataset key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from .look import DEFAULT_LOOK, PhotoLook

#: Version of the rendering code: bumped whenever the same assets and options draw other bytes
#: (2: issue 20's per-face exposure, noise level and spreads of the photographic look; 3: noise
#: cut from seeded per-process tiles, the faster photo-look passes and the nose-wire crease; 4: the
#: fabric texture's grain at the face's scale, seen through its blur, option ``weave``; the
#: option ``detail``, off by default, left the default bytes as they were; 5: the JPEG re-applied
#: under the mask is encoded from the right channel order, red and blue were swapped; 6: the
#: occluder fades out over 1.5 px next to something in front of the face).
RENDER_VERSION = 6


def cache_key(
    asset_dirs: Sequence[str | Path] | None,
    look: PhotoLook | None = None,
    in_front: str = "keep",
    runtime: str = "auto",
) -> str:
    """The digest of every occluder asset file a run with these extra ``asset_dirs`` would read
    (see :func:`maskforge.occlude.assets.asset_fingerprint`), of the rendering options ``look``
    (None: the defaults; they determine the output bytes too), of :data:`RENDER_VERSION` and of
    what is done about hands in front of the face (``in_front``, with the hand models' SHA-256 and
    the ``runtime`` that runs them: :func:`maskforge.occlude.front.front_key`)."""
    from .assets import asset_fingerprint
    from .front import front_key

    digest = asset_fingerprint(list(asset_dirs) if asset_dirs is not None else None)
    options = json.dumps((look or DEFAULT_LOOK).model_dump(), sort_keys=True)
    parts = f"{digest}\n{options}\nrender {RENDER_VERSION}\n{front_key(in_front, runtime)}"
    return hashlib.sha256(parts.encode()).hexdigest()
