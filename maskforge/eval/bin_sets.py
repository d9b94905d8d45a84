"""insightface verification sets (``lfw.bin``, ``cfp_fp.bin``, ``agedb_30.bin``) for ``maskforge
eval pairs``, and ``.bin`` sets made from a pairs file.

A ``.bin`` holds aligned 112x112 faces (:mod:`maskforge.io.verification_bin`): its images are
keyed ``<file name>#<index>`` (what failures and scores name), pair ``k`` is images ``2k`` and
``2k + 1``, and the folds are arcface_torch's: 10 consecutive blocks of pairs. The faces are
already aligned, so evaluation skips detection (``[detect] aligned = "arcface-112"``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..detect import AlignedFace, DetectConfig, DetectStage
from ..errors import DecodeError
from ..io.decode import decode_image, encode_image
from ..io.verification_bin import read_bin
from .faces import Failure, Masker
from .pairs import Pair

#: Folds of a ``.bin`` set (arcface_torch's 10-fold split over consecutive pairs).
BIN_FOLDS = 10
#: The detect settings of a ``.bin`` set's faces.
BIN_DETECT = {"aligned": "arcface-112", "size": 112, "template": "arcface"}


def is_bin(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a verification ``.bin`` (by its suffix)."""
    return Path(path).suffix.lower() == ".bin"


def bin_pairs(path: str | os.PathLike[str], folds: int = BIN_FOLDS) -> tuple[list[Pair], dict[str, bytes]]:
    """The pairs of a ``.bin`` and its encoded images by key (see the module doc)."""
    bins, issame = read_bin(path)
    name = Path(path).name
    keys = [f"{name}#{i}" for i in range(len(bins))]
    n = len(issame)
    pairs = [Pair(keys[2 * k], keys[2 * k + 1], same, k * folds // n) for k, same in enumerate(issame)]
    return pairs, dict(zip(keys, bins, strict=True))


def bin_detect() -> DetectConfig:
    """The detect settings for a ``.bin`` set's aligned faces (no detector)."""
    return DetectConfig.from_dict(BIN_DETECT)


def pairs_to_bin(
    pairs: Sequence[Pair],
    images: str | os.PathLike[str],
    masker: Masker | None = None,
    detect: DetectStage | None = None,
    quality: int = 95,
) -> tuple[list[bytes], list[bool], list[Failure]]:
    """A ``.bin`` set's content from a pairs file's pairs (``maskforge eval make-pairs``): every
    image detected and aligned to the ArcFace 112 template and stored as JPEG (``quality``);
    with ``masker``, the second image of each pair masked. A pair with an image that has no
    usable face is left out and its image listed in the failures.

    Returns ``(bins, issame, failures)``."""
    stage = detect or DetectStage({"size": 112, "template": "arcface"})
    folder = Path(images)
    faces: dict[str, AlignedFace] = {}
    failures: dict[str, Failure] = {}
    for path in sorted({p for pair in pairs for p in (pair.path_a, pair.path_b)}):
        try:
            res = stage([decode_image(folder / path)])[0]
        except DecodeError as exc:
            failures[path] = Failure(path, exc.reason, exc.detail)
            continue
        if isinstance(res, AlignedFace):
            faces[path] = res
        else:
            failures[path] = Failure(path, res.reason, res.detail)
    bins: list[bytes] = []
    issame: list[bool] = []
    for pair in pairs:
        if pair.path_a in faces and pair.path_b in faces:
            bins += [_encode(faces[pair.path_a], pair.path_a, None, quality),
                     _encode(faces[pair.path_b], pair.path_b, masker, quality)]  # fmt: skip
            issame.append(pair.same)
    return bins, issame, sorted(failures.values(), key=lambda f: f.path)


def _encode(face: AlignedFace, path: str, masker: Masker | None, quality: int) -> bytes:
    crop: Any = face.image
    if masker is not None:
        yaw = float(face.pose[0]) if np.isfinite(face.pose[0]) else None
        crop, _ = masker(crop, face.landmarks68, path, yaw)
    return encode_image(crop, "jpeg", quality)
