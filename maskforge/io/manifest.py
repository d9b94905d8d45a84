"""The run manifest: ``OUT/manifest.json``.

It records what is needed to reproduce and audit a run: the resolved recipe, the seed, package
versions, the models used, counts per stage, timings per stage, and the identity-to-label map.

``status`` is ``"running"`` from the start of a run until its end, then ``"complete"``;
``dataset_files`` lists, relative to ``OUT``, exactly the shard files of the finished run: the
files readers read, and ``files`` their size and hash (:mod:`.integrity`). ``generation`` counts
the runs that have written ``OUT``: each run's start increments it, so a reader that fixed its
files at generation N knows, by reading N+1, that the folder changed under it.

:func:`load_manifest` tells a missing manifest from a damaged one (truncated, empty, not a JSON
object, not maskforge's): a damaged manifest is rebuilt by rerunning the same ``maskforge run``,
which reuses every shard whose stats and hash still match.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import DamagedManifestError
from .names import printable
from .writer import write_json_atomic

MANIFEST = "manifest.json"


def load_manifest(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``OUT/manifest.json`` as a dict, or None when there is none.

    Raises:
        DamagedManifestError: the file exists but is unreadable, not JSON, or not an object;
            the message says how to rebuild it.
    """
    path = Path(out) / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DamagedManifestError(_damaged(path, exc.strerror or str(exc))) from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DamagedManifestError(_damaged(path, f"not JSON ({len(raw)} bytes)")) from None
    if not isinstance(data, dict):
        raise DamagedManifestError(_damaged(path, f"a JSON {type(data).__name__}, not an object"))
    return data


def _damaged(path: Path, why: str) -> str:
    return (
        f"{printable(str(path))!r} is damaged: {why}; rerun the same `maskforge run` command "
        "with this --output: it rebuilds the manifest from the shards' stats, reusing every "
        "intact shard"
    )


def generation_of(out: str | os.PathLike[str]) -> int:
    """The generation of ``OUT`` (0 for a folder no run has written, or a damaged manifest)."""
    try:
        data = load_manifest(out) or {}
    except DamagedManifestError:
        return 0
    gen = data.get("generation", 0)
    return gen if isinstance(gen, int) else 0

#: Distributions whose versions are recorded.
VERSIONED = (
    "maskforge",
    "numpy",
    "pillow",
    "opencv-python-headless",
    "pyarrow",
    "ray",
    "torch",
    "torchvision",
    "facenet-pytorch",
    "dlib-bin",
    "face_recognition_models",
)


def versions_of(names: tuple[str, ...]) -> dict[str, str | None]:
    """Installed versions of the distributions ``names`` (None when absent)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (None when absent)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    out.update(versions_of(VERSIONED))
    return out


def build_manifest(
    *,
    recipe: dict[str, Any],
    input_path: str,
    output_path: str,
    labels: dict[str, int],
    counts: dict[str, Any],
    timings: dict[str, float],
    models: dict[str, Any],
    shards: dict[str, Any],
    dataset_files: list[str] | None = None,
    file_records: dict[str, Any] | None = None,
    generation: int = 0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of a finished run; ``file_records``: size and hash of each dataset file
    (relative path -> record), ``generation``: the one :func:`mark_running` gave the run."""
    manifest = {
        "maskforge_manifest": 1,
        "status": COMPLETE,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": input_path,
        "output": output_path,
        "seed": recipe.get("seed"),
        "recipe": recipe,
        "versions": package_versions(),
        "models": models,
        "counts": counts,
        "timings_s": timings,
        "shards": shards,
        "labels": labels,
        "dataset_files": sorted(dataset_files or []),
        "files": dict(sorted((file_records or {}).items())),
        "generation": generation,
    }
    if extra:
        manifest.update(extra)
    return manifest


#: ``manifest["status"]`` while a run is under way and once it has finished.
RUNNING = "running"
COMPLETE = "complete"


def mark_running(out: Path, recipe: dict[str, Any]) -> int:
    """Replace any earlier manifest by one saying a run is under way (readers then refuse the
    folder until the run ends, unless asked for a partial read); returns the run's generation
    (the previous one plus one)."""
    generation = generation_of(out) + 1
    manifest = {
        "maskforge_manifest": 1,
        "status": RUNNING,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipe": recipe,
        "generation": generation,
    }
    write_manifest(manifest, out)
    return generation


def write_manifest(manifest: dict[str, Any], out: Path) -> Path:
    path = Path(out) / "manifest.json"
    write_json_atomic(manifest, path)
    return path
