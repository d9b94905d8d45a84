"""insightface verification sets (``lfw.bin``, ``cfp_fp.bin``, ``agedb_30.bin``): reading and
writing.

A ``.bin`` is a pickle of the pair ``(bins, issame_list)``: ``bins`` a list of ``2 * P`` encoded
images (JPEG or PNG bytes of aligned 112x112 faces), images ``2k`` and ``2k + 1`` forming pair
``k``; ``issame_list`` a list of ``P`` bools, True when pair ``k`` shows one person. arcface_torch
reads it with ``pickle.load(f, encoding="bytes")`` and scores it by 10-fold cross-validation over
consecutive blocks of pairs.

Reading never runs code from the file: only lists, tuples, bytes, bools and numbers are accepted
(``pickle`` would otherwise call any class the file names).
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SourceError
from .writer import write_bytes_atomic

#: The pickle protocol of written sets (readable by Python >= 3.4).
PROTOCOL = 4


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"it names {module}.{name}; a .bin holds only lists and bytes")


def read_bin(path: str | os.PathLike[str]) -> tuple[list[bytes], list[bool]]:
    """``(bins, issame_list)`` of a verification ``.bin`` (``SourceError`` when malformed)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = _DataOnly(fh, encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise SourceError(f"cannot read the verification set {str(path)!r}: {exc}") from exc
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise SourceError(f"{str(path)!r} is not a (bins, issame_list) pair of lists")
    bins, issame = list(data[0]), [bool(v) for v in data[1]]
    if len(bins) != 2 * len(issame) or not all(isinstance(b, bytes | bytearray) for b in bins):
        raise SourceError(
            f"{str(path)!r} holds {len(bins)} images for {len(issame)} pairs; a verification set "
            "holds 2 encoded images (bytes) per pair"
        )
    return [bytes(b) for b in bins], issame


def encode_bin(bins: Sequence[bytes], issame: Sequence[bool]) -> bytes:
    """The bytes of a ``.bin`` holding ``bins`` (2 per pair) and ``issame`` (1 per pair)."""
    if len(bins) != 2 * len(issame):
        raise ValueError(f"{len(bins)} images for {len(issame)} pairs; need 2 per pair")
    buf = io.BytesIO()
    pickle.dump(([bytes(b) for b in bins], [bool(s) for s in issame]), buf, protocol=PROTOCOL)
    return buf.getvalue()


def write_bin(path: str | os.PathLike[str], bins: Sequence[bytes], issame: Sequence[bool]) -> None:
    """Write a verification ``.bin`` atomically (temporary file + rename)."""
    write_bytes_atomic(encode_bin(bins, issame), Path(path))
