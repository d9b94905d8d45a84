"""A generated zoo of good and bad image files, for decoding and rejects tests.

``ZOO`` maps a file name to (bytes factory, expected outcome): an expected outcome is either the
decoded ``(height, width)`` or a reject reason code.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def gradient(w: int = 64, h: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], -1).astype(np.uint8)


def jpeg() -> bytes:
    return _encode(Image.fromarray(gradient()), "JPEG", quality=90)


def truncated_jpeg() -> bytes:
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)), "JPEG")
    return data[: len(data) // 2]


def cmyk_jpeg() -> bytes:
    return _encode(Image.fromarray(gradient()).convert("CMYK"), "JPEG")


def png16() -> bytes:
    arr = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).astype(np.uint16)
    return _encode(Image.fromarray(arr), "PNG")


def rgba_png() -> bytes:
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 0  # fully transparent -> white background
    rgba[:24, :, 3] = 255
    return _encode(Image.fromarray(rgba, "RGBA"), "PNG")


def palette_png() -> bytes:
    return _encode(Image.fromarray(gradient()).convert("P"), "PNG")


def gray_png() -> bytes:
    return _encode(Image.fromarray(gradient()[..., 0]), "PNG")


def exif_rotated_jpeg() -> bytes:
    """A 64x48 (w x h) image whose EXIF says rotate 90 degrees: viewers show it 48x64."""
    img = Image.fromarray(gradient(64, 48))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW for display
    return _encode(img, "JPEG", exif=exif.tobytes())


def one_by_one() -> bytes:
    return _encode(Image.fromarray(np.full((1, 1, 3), 128, np.uint8)), "PNG")


def huge_header_png() -> bytes:
    """A PNG whose header announces 20000x20000 pixels (with next to no data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def webp() -> bytes:
    return _encode(Image.fromarray(gradient()), "WEBP", lossless=True)


def bmp() -> bytes:
    return _encode(Image.fromarray(gradient()), "BMP")


def garbage_with_jpeg_magic() -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


#: name -> (factory, expected): expected is (h, w) for a decodable file or a reject reason.
ZOO: dict[str, tuple[Callable[[], bytes], tuple[int, int] | str]] = {
    "ok.jpg": (jpeg, (48, 64)),
    "zero.jpg": (lambda: b"", "empty_file"),
    "truncated.jpg": (truncated_jpeg, "truncated"),
    "text.jpg": (lambda: b"this is not an image\n" * 10, "not_an_image"),
    "garbage.jpg": (garbage_with_jpeg_magic, "not_an_image"),
    "cmyk.jpg": (cmyk_jpeg, (48, 64)),
    "sixteen.png": (png16, (48, 64)),
    "rgba.png": (rgba_png, (48, 64)),
    "palette.png": (palette_png, (48, 64)),
    "gray.png": (gray_png, (48, 64)),
    "rotated.jpg": (exif_rotated_jpeg, (64, 48)),
    "tiny.png": (one_by_one, (1, 1)),
    "bomb.png": (huge_header_png, "too_many_pixels"),
    "lossless.webp": (webp, (48, 64)),
    "bitmap.BMP": (bmp, (48, 64)),
}

BAD = {name for name, (_, expected) in ZOO.items() if isinstance(expected, str)}


def write_zoo(folder: Path) -> dict[str, tuple[int, int] | str]:
    """Write every zoo file into ``folder``; return name -> expected outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (factory, expected) in ZOO.items():
        (folder / name).write_bytes(factory())
        out[name] = expected
    return out
