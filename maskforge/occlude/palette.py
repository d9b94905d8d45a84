"""Colours, named presets and procedural textures for occluders.

Colours are ``#rrggbb`` hex strings (case-insensitive; ``#rgb`` also accepted) or CSS-like names of
:data:`NAMED_COLORS`. A texture is a tileable RGB pattern (uint8, (T, T, 3)) that replaces the
colour of an asset's colourable parts, blended with the plain colour by a weight in [0, 1].
Procedural textures are deterministic functions of (name, colour); user textures are image files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import AssetError

#: Colours of real masks as photographed, measured on rwmfd-dev (web photos of masked people) by
#: ``python benchmarks/measure_mask_palette.py``: the median RGB of the mouth-and-chin core of
#: each face MTCNN finds in the tune half of the photos (119 masks), clustered by k-means in CIE
#: Lab (k = 10); (colour, share of the masks). Light greys/whites and blacks dominate; real
#: saturation is low (HSV 2-40 of 255 for 88% of them): a real "surgical blue" photographs as
#: #aec6df, not #1ca0f4.
REAL_MASK_COLORS: tuple[tuple[str, float], ...] = (
    ("#d7dae3", 0.227),
    ("#b9bebe", 0.202),
    ("#959898", 0.168),
    ("#323134", 0.134),
    ("#161a18", 0.109),
    ("#eff1ef", 0.076),
    ("#606772", 0.034),
    ("#cf3263", 0.025),
    ("#129a92", 0.017),
    ("#c3dd47", 0.008),
)
#: Median colour per family of colour of the same 119 masks (same script): blue (hue 180-250
#: degrees, n=16), teal/green (n=4), white (n=45), black (n=27), grey (n=14), pink/red (n=6).
REAL_BLUE, REAL_TEAL, REAL_WHITE = "#aec6df", "#4eaa9e", "#d1d2ce"
REAL_BLACK, REAL_GREY, REAL_PINK = "#272627", "#959498", "#cf5a6f"

#: Named presets: preset -> (asset name, colour). The palette used to build masked CASIA/VGG2;
#: colours as real masks photograph (above), so a mask does not read as clip-art.
PRESETS: dict[str, tuple[str, str | None]] = {
    "surgical-green": ("surgical", REAL_TEAL),
    "surgical-blue": ("surgical", REAL_BLUE),
    "surgical-white": ("surgical", "#d7dae3"),
    "n95": ("n95", "#d7dae3"),
    "kn95": ("kn95", "#d7dae3"),
    "kn95-black": ("kn95", REAL_BLACK),
    "cloth-black": ("cloth", REAL_BLACK),
    "cloth-grey": ("cloth", REAL_GREY),
    "cloth-navy": ("cloth", "#1f2a44"),
    "glasses": ("glasses", None),
    "sunglasses": ("sunglasses", None),
}

#: Colours a "random colour" pick draws from, per asset family (each type its own palette; the
#: masks' from the measured clusters and families above).
FAMILY_COLORS: dict[str, tuple[str, ...]] = {
    "surgical": (REAL_BLUE, REAL_TEAL, "#d7dae3", "#b9bebe", REAL_PINK),
    "n95": ("#eff1ef", "#d7dae3", "#b9bebe"),
    "kn95": ("#eff1ef", REAL_BLACK, "#b9bebe", "#323134"),
    "cloth": (REAL_BLACK, "#161a18", REAL_GREY, "#606772", "#323134", "#1f2a44", "#cf3263"),
    "glasses": ("#1e1e1e", "#5a3a22", "#8a8a90", "#b8963c"),
    "sunglasses": ("#111111", "#3a2a1a", "#b8963c"),
}

NAMED_COLORS = {
    "black": "#000000",
    "white": "#ffffff",
    "grey": "#808080",
    "gray": "#808080",
    "blue": "#1ca0f4",
    "green": "#44b4a8",
    "red": "#c0392b",
    "navy": "#1f2a44",
    "pink": "#f2b6c6",
    "beige": "#e8dcc0",
}

#: Names of the procedural textures.
TEXTURES = ("checks", "dots", "stripes", "floral")


def parse_color(value: str) -> tuple[int, int, int]:
    """``#rrggbb`` / ``#rgb`` / a named colour -> (r, g, b) ints 0..255. Raises AssetError."""
    text = NAMED_COLORS.get(value.strip().lower(), value.strip())
    h = text[1:] if text.startswith("#") else text
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    if len(h) != 6:
        raise AssetError(f"colour {value!r} is not #rrggbb, #rgb or one of {sorted(NAMED_COLORS)}")
    try:
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    except ValueError as exc:
        raise AssetError(f"colour {value!r} is not a hex colour like #1ca0f4") from exc


def normalize_color(value: str) -> str:
    """Canonical ``#rrggbb`` lower-case form of a colour."""
    return "#{:02x}{:02x}{:02x}".format(*parse_color(value))


def is_color(value: str) -> bool:
    try:
        parse_color(value)
    except AssetError:
        return False
    return True


def _shade(rgb: tuple[int, int, int], factor: float) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float32)
    if factor >= 1.0:
        return c + (255.0 - c) * (factor - 1.0)
    return c * factor


@lru_cache(maxsize=64)
def procedural_texture(name: str, color: str, size: int = 64) -> np.ndarray:
    """A tileable (size, size, 3) uint8 pattern built around ``color``: ``checks`` (gingham),
    ``dots`` (polka), ``stripes`` (diagonal), ``floral`` (five-petal flowers). Deterministic."""
    rgb = parse_color(color)
    base = _shade(rgb, 1.0)
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    accent = _shade(rgb, 1.55) if lum < 128 else _shade(rgb, 0.55)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    if name == "checks":
        a = ((x // (size / 4)) % 2).astype(np.float32)
        b = ((y // (size / 4)) % 2).astype(np.float32)
        w = 0.5 * a + 0.5 * b
    elif name == "dots":
        cell = size / 4
        dx = (x % cell) - cell / 2 + 0.5
        dy = (y % cell) - cell / 2 + 0.5
        w = np.clip(cell * 0.28 - np.hypot(dx, dy) + 0.5, 0.0, 1.0)
    elif name == "stripes":
        period = size / 4
        w = (np.sin(2 * np.pi * (x + y) / period) > 0.2).astype(np.float32)
    elif name == "floral":
        cell = size / 2
        dx = (x % cell) - cell / 2 + 0.5
        dy = (y % cell) - cell / 2 + 0.5
        r = np.hypot(dx, dy)
        th = np.arctan2(dy, dx)
        petal = cell * (0.22 + 0.16 * np.cos(5 * th))
        w = np.clip(petal - r + 0.5, 0.0, 1.0)
        w = np.maximum(w * 0.85, np.clip(cell * 0.07 - r + 0.5, 0.0, 1.0))
    else:
        raise AssetError(f"unknown texture {name!r}; known: {', '.join(TEXTURES)} or an image file")
    out = base[None, None, :] * (1.0 - w[..., None]) + accent[None, None, :] * w[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=16)
def file_texture(path: str, size: int = 64) -> np.ndarray:
    """A user texture image, read once and resized to (size, size, 3) uint8 RGB."""
    p = Path(path)
    data = cv2.imread(str(p), cv2.IMREAD_COLOR) if p.is_file() else None
    if data is None:
        raise AssetError(f"texture image {path!r} cannot be read (give an existing PNG/JPEG file)")
    data = cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    return cv2.resize(data, (size, size), interpolation=cv2.INTER_AREA)


def texture_tile(texture: str, color: str) -> np.ndarray:
    """Texture tile for a spec's texture field (procedural name or image path)."""
    if texture in TEXTURES:
        return procedural_texture(texture, normalize_color(color))
    return file_texture(texture)
