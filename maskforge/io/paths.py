"""Path checks that keep maskforge inside the folders it was given.

- :func:`is_within` — is a path (after resolving links) a folder or inside it;
- :func:`contained_part` — the parts of a recorded path that can be joined under a folder
  without leaving it (an absolute path loses its anchor, ``..`` and ``.`` parts are dropped);
- :func:`recorded_input_root` — the input folder a finished run recorded in its manifest.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def is_within(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """True when ``path`` is ``folder`` or lies inside it, both resolved (links followed;
    neither needs to exist)."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def contained_part(recorded: str) -> PurePosixPath:
    """A relative POSIX path made of the named parts of ``recorded`` (POSIX or Windows
    separators): ``/data/a/../b.jpg`` -> ``data/a/b.jpg``. Joined under a folder, it stays in it.
    Raises ValueError when nothing is left (``""``, ``/``, ``..``)."""
    parts = [p for p in recorded.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":  # a Windows drive, e.g. "C:"
        parts = parts[1:]
    if not parts:
        raise ValueError(f"{recorded!r} names no file")
    return PurePosixPath(*parts)


def recorded_input_root(out: str | os.PathLike[str]) -> Path | None:
    """The folder a finished run read its images from, from ``OUT/manifest.json``'s ``input``
    (a list file's folder for a list); None when the manifest does not say."""
    import json

    try:
        manifest = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    recorded = manifest.get("input") if isinstance(manifest, dict) else None
    if not recorded:
        return None
    root = Path(recorded)
    return root.parent if root.suffix.lower() in (".csv", ".parquet") else root
