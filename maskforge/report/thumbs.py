"""Thumbnails for the report: JPEG files named by sample id, from image bytes or source files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DecodeError
from ..io.decode import decode_image
from ..io.writer import write_bytes_atomic

THUMB_SIZE = 128
MISSING = "_missing.png"


def missing_placeholder(folder: Path) -> str:
    """A grey placeholder (so the page still renders) for images that cannot be read."""
    path = folder / MISSING
    if not path.exists():
        img = Image.new("RGB", (THUMB_SIZE, THUMB_SIZE), (200, 200, 200))
        ImageDraw.Draw(img).text((20, 56), "unavailable", fill=(90, 90, 90))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        write_bytes_atomic(buf.getvalue(), path)
    return MISSING


def write_thumbnail(
    folder: Path,
    sample_id: str,
    load: Callable[[], bytes | str | Path | None],
    size: int = THUMB_SIZE,
) -> str:
    """Write ``folder/<sample_id>.jpg`` (longest side ``size``) unless it exists; returns the file
    name, or the placeholder's when the image cannot be loaded or decoded."""
    name = f"{sample_id}.jpg"
    path = folder / name
    if path.exists():
        return name
    try:
        src = load()
        if src is None:
            return missing_placeholder(folder)
        rgb = decode_image(src)
    except (DecodeError, OSError):
        return missing_placeholder(folder)
    img = Image.fromarray(np.ascontiguousarray(rgb))
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    write_bytes_atomic(buf.getvalue(), path)
    return name
