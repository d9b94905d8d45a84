"""Where model files live.

dlib's model files come from the PyPI package ``face_recognition_models``. Importing that
package needs ``pkg_resources`` (absent from modern environments), so its folder is located
with :func:`importlib.util.find_spec` instead of being imported.

Licence note: ``shape_predictor_68_face_landmarks.dat`` was trained on the iBUG 300-W data set,
whose licence excludes commercial use. Anything built with the 68-point landmarks inherits that
restriction; see docs/models.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import cache, lru_cache
from pathlib import Path

from .errors import ModelNotFoundError

DLIB_MODELS = {
    "shape_predictor_68": "shape_predictor_68_face_landmarks.dat",
    "shape_predictor_5": "shape_predictor_5_face_landmarks.dat",
    "mmod_detector": "mmod_human_face_detector.dat",
    "resnet_embedder": "dlib_face_recognition_resnet_model_v1.dat",
}

#: Environment variable naming a folder that holds dlib model files (overrides the package).
DLIB_MODELS_ENV = "MASKFORGE_DLIB_MODELS"


@cache
def face_recognition_models_dir() -> Path | None:
    """Folder of the ``face_recognition_models`` package's ``models/`` directory, or None."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "models"
    return folder if folder.is_dir() else None


def dlib_model_path(key: str) -> Path:
    """Path of a dlib model file by key (see :data:`DLIB_MODELS`).

    Looks in ``$MASKFORGE_DLIB_MODELS`` first, then in the ``face_recognition_models`` package.
    Raises :class:`ModelNotFoundError` telling the user how to install it.
    """
    if key not in DLIB_MODELS:
        raise KeyError(f"unknown dlib model {key!r}; known: {sorted(DLIB_MODELS)}")
    name = DLIB_MODELS[key]
    candidates: list[Path] = []
    env = os.environ.get(DLIB_MODELS_ENV)
    if env:
        candidates.append(Path(env) / name)
    pkg = face_recognition_models_dir()
    if pkg is not None:
        candidates.append(pkg / name)
    for path in candidates:
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"dlib model file {name} not found (looked in: {', '.join(map(str, candidates)) or 'nowhere'}). "
        f"Install it with `pip install face_recognition_models`, or put it in a folder and set "
        f"{DLIB_MODELS_ENV}=/that/folder."
    )


def user_cache_dir() -> Path:
    """maskforge's per-user cache folder: ``$XDG_CACHE_HOME/maskforge``, else
    ``~/.cache/maskforge`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(os.path.expanduser(base)) / "maskforge"


@lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a model file (cached per resolved path, size and modification time)."""
    p = Path(path).resolve()
    st = p.stat()
    return _sha256_cached(str(p), st.st_size, st.st_mtime_ns)
