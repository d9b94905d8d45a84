"""The user cache of converted model weights: one file per source file's SHA-256.

Weights read from another format (dlib's ``.dat``, MediaPipe's ``.tflite``) are converted once and
kept as a torch file in ``~/.cache/maskforge`` (:func:`maskforge.models.user_cache_dir`), keyed by
the source's content, so an edited or replaced source is converted again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .writer import atomic_path


def load_or_convert(
    target: Path, sha256: str, convert: Callable[[], dict[str, Any]], cache: bool = True
) -> dict[str, Any]:
    """The converted weights cached at ``target`` when that file holds ``sha256``; else
    ``convert()`` now and cache the result (written atomically; it must hold ``"sha256"``).

    A damaged cache file is converted again, and a cache folder that cannot be written only costs
    the conversion next time."""
    import torch

    if cache and target.is_file():
        try:
            obj = torch.load(target, map_location="cpu", weights_only=True)
            if isinstance(obj, dict) and obj.get("sha256") == sha256:
                return obj
        except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt
            pass
    obj = convert()
    if cache:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp, open(tmp, "wb") as fh:
                torch.save(obj, fh)
        except OSError:
            pass
    return obj
