"""Write a run's samples as identity folders of image files.

Two layouts:

- ``identity`` (``maskforge export``): ``DST/<identity>/<file stem>_<variant>.<ext>`` — the way
  earlier masked CASIA / VGGFace2 sets were shared;
- ``source`` (``maskforge detect --export-images``): ``DST/<source_path>`` with the extension of
  the stored encoding, mirroring the input folders (one variant per sample expected).

File names contain only the sample's own path parts, so exports are deterministic.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import pyarrow.dataset as ds

from ..io.reader import read_shards

_EXT = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}


def _safe(part: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in part)


def export_folders(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    layout: str = "identity",
    variants: Sequence[str] | None = None,
    split: str | None = None,
) -> int:
    """Write images of run ``out`` under ``dst``; returns the number of files written."""
    if layout not in ("identity", "source"):
        raise ValueError("layout must be 'identity' or 'source'")
    dset = read_shards(out)
    flt = None
    if variants:
        flt = ds.field("variant").isin(list(variants))
    if split:
        f2 = ds.field("split") == split
        flt = f2 if flt is None else (flt & f2)
    dst = Path(dst)
    n = 0
    cols = ["identity", "source_path", "variant", "image", "image_format"]
    for batch in dset.to_batches(columns=cols, filter=flt, batch_size=256):
        for row in batch.to_pylist():
            ext = _EXT.get(row["image_format"] or "", ".img")
            src = PurePosixPath(row["source_path"])
            if layout == "identity":
                name = f"{_safe(src.stem)}_{_safe(row['variant'])}{ext}"
                target = dst / _safe(row["identity"]) / name
            else:
                target = dst / src.with_suffix(ext)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(row["image"])
            n += 1
    return n
