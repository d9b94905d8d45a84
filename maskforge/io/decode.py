"""The one image decoder of maskforge.

:func:`decode_image` turns file bytes into an RGB ``uint8`` array of shape ``(H, W, 3)``:

- EXIF orientation is applied (the pixels come out the way a viewer shows them);
- grayscale, palette, CMYK, RGBA/LA (composited on white), 16-bit and float inputs become RGB uint8;
- a pixel limit (``max_pixels``) is checked from the header, *before* the pixels are decoded, so a
  decompression bomb costs nothing. Pillow's own process-wide ``PIL.Image.MAX_IMAGE_PIXELS`` is
  left as the application set it (an image over twice that limit is refused by Pillow itself,
  also as ``too_many_pixels``); truncated files are never decoded partially (Pillow's default
  ``ImageFile.LOAD_TRUNCATED_IMAGES = False``; an application that sets it True gets partial
  images);
- every failure raises :class:`maskforge.errors.DecodeError` with a short ``reason`` code.

Reason codes: ``empty_file``, ``unreadable`` (cannot open the file, or none there),
``not_a_regular_file`` (a FIFO, device or folder behind the name), ``too_large`` (over the input
size cap), ``not_an_image``, ``truncated``, ``corrupt``, ``too_many_pixels``, ``too_small``.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DecodeError
from .inputs import InputFileError, read_input

#: Default pixel limit: 40 megapixels (a 20000x20000 header is refused without decoding).
DEFAULT_MAX_PIXELS = 40_000_000
#: Default minimum side in pixels; smaller images cannot hold a usable face.
DEFAULT_MIN_SIDE = 1


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a regular file's bytes (:func:`maskforge.io.inputs.read_input`: never a FIFO or a
    device, never over the size cap), turning failures into ``DecodeError`` with the reason
    (``not_a_regular_file``, ``too_large``, ``unreadable``)."""
    try:
        return read_input(Path(path))
    except InputFileError as exc:
        reason = "unreadable" if exc.reason == "missing" else exc.reason
        raise DecodeError(reason, exc.detail) from exc


def decode_image(
    source: bytes | str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = DEFAULT_MIN_SIDE,
) -> np.ndarray:
    """Decode an image file (path or bytes) into RGB uint8 ``(H, W, 3)``.

    Args:
        source: the encoded bytes, or a path to read them from.
        max_pixels: refuse images whose header announces more than this many pixels
            (width x height, checked before any pixel is decoded).
        min_side: refuse images whose width or height is below this (pixels).

    Raises:
        DecodeError: with ``reason`` one of the codes listed in the module docstring.
    """
    return decode_with_info(source, max_pixels=max_pixels, min_side=min_side)[0]


def decode_with_info(
    source: bytes | str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = DEFAULT_MIN_SIDE,
) -> tuple[np.ndarray, dict]:
    """Like :func:`decode_image`, also returning header facts of the file.

    The dict has ``format`` (PIL's name, e.g. ``JPEG``), ``mode`` (PIL mode before conversion) and
    ``as_is``: True when the file's own bytes already show exactly the returned pixels to any
    reader (an RGB JPEG/PNG/WebP without an EXIF rotation), so they can be stored unchanged.

    """
    data = source if isinstance(source, bytes | bytearray | memoryview) else read_bytes(source)
    data = bytes(data)
    if len(data) == 0:
        raise DecodeError("empty_file", "the file has zero bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise DecodeError("too_many_pixels", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise DecodeError("not_an_image", "not a recognised image format") from exc
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for bad headers
        raise DecodeError("corrupt", f"cannot read the header: {exc}") from exc

    width, height = img.size
    if width * height > max_pixels:
        raise DecodeError(
            "too_many_pixels",
            f"{width}x{height} = {width * height} pixels exceeds max_pixels={max_pixels}",
        )
    if min(width, height) < min_side:
        raise DecodeError("too_small", f"{width}x{height} is below min_side={min_side}")

    try:
        img.load()
    except OSError as exc:
        msg = str(exc)
        reason = "truncated" if "truncated" in msg or "end of file" in msg.lower() else "corrupt"
        raise DecodeError(reason, msg) from exc
    except Exception as exc:  # noqa: BLE001
        raise DecodeError("corrupt", str(exc)) from exc

    fmt, mode = img.format, img.mode
    upright, orientation = _upright(img)
    info = {
        "format": fmt,
        "mode": mode,
        "as_is": fmt in ("JPEG", "PNG", "WEBP") and mode == "RGB" and orientation in (None, 1),
    }
    return to_rgb_array(upright), info


def _upright(img: Image.Image) -> tuple[Image.Image, int | None]:
    """The image turned by its EXIF orientation, and that orientation (1: none applied)."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        orientation = 1
    if orientation not in (None, 1):
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001
            orientation = 1
    return img, orientation


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert any PIL image mode to a C-contiguous RGB uint8 array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        # 16-bit: scale 0..65535 to 0..255; 32-bit int images use their own range.
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        gray = np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.array(img, dtype=np.uint8)  # a writable, C-contiguous copy


def encode_image(image: np.ndarray, fmt: str = "jpeg", quality: int = 95) -> bytes:
    """Encode an RGB uint8 image as ``jpeg``, ``png`` or ``webp`` bytes (deterministic)."""
    import cv2

    fmt = fmt.lower()
    bgr = np.ascontiguousarray(image[..., ::-1])
    if fmt in ("jpeg", "jpg"):
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    elif fmt == "webp":
        ok, buf = cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
    else:
        raise ValueError(f"unknown image format {fmt!r}; use jpeg, png or webp")
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as {fmt}")
    return buf.tobytes()


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (H, W, 3) uint8 RGB encoded as JPEG at ``quality`` (1-100, libjpeg through
    OpenCV, 4:2:0 chroma) and decoded back: the same shape and channel order, with the block and
    ringing artefacts of that quality (deterministic)."""
    import cv2

    buf = np.frombuffer(encode_image(image, "jpeg", quality), np.uint8)
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover - cv2 decodes the JPEG it just wrote
        raise ValueError(f"could not decode the JPEG of a {image.shape} image")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
