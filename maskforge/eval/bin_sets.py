"""insightface verification sets (``lfw.bin``, ``cfp_fp.bin``, ``agedb_30.bin``) for ``maskforge
eval pairs`` (``maskforge export --format verification-bin`` writes them).

A ``.bin`` holds aligned 112x112 faces (:mod:`maskforge.io.verification_bin`): its images are
keyed ``<file name>#<index>`` (what failures and scores name), pair ``k`` is images ``2k`` and
``2k + 1``, and the folds are arcface_torch's: 10 consecutive blocks of pairs. The faces are
already aligned, so evaluation skips detection (``[detect] aligned = "arcface-112"``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..detect import DetectConfig
from ..errors import SourceError
from ..io.verification_bin import read_bin
from .faces import Images
from .pairs import Pair, read_pairs

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


def load_pair_set(
    pairs: str | os.PathLike[str], images: str | os.PathLike[str] | None
) -> tuple[list[Pair], Images, DetectConfig | None]:
    """What ``maskforge eval pairs`` evaluates: ``(pairs, images, detect settings)``: a ``.bin``
    with its own images and no detection, or a pairs file (:func:`~.pairs.read_pairs`) with the
    ``images`` folder and the default detection (None). Raises SourceError when ``images`` is
    missing for a pairs file or given for a ``.bin``."""
    if is_bin(pairs):
        if images is not None:
            raise SourceError(f"{str(pairs)!r} holds its images: leave out --images")
        pair_list, by_key = bin_pairs(pairs)
        return pair_list, by_key, bin_detect()
    if images is None:
        raise SourceError(f"give --images DIR: the folder the paths of {str(pairs)!r} are relative to")
    return read_pairs(Path(pairs)), Path(images), None
