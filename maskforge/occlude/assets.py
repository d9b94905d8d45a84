"""Occluder assets: RGBA PNG + JSON sidecar, the library that finds them, and the builder.

Sidecar schema (``NAME.json`` next to ``NAME.png``; see docs/occluders.md)::

    {
      "schema": "maskforge-occluder/1",
      "name": "surgical.chin",            # family, or family.wear for a wear variant
      "family": "surgical", "wear": "correct|nose_exposed|chin",
      "kind": "mask|glasses|sunglasses",
      "side": "front|left|right",        # optional (front): a template for turned heads
      "image": "surgical.chin.png",       # RGBA, straight (not premultiplied) alpha
      "color_map": "surgical.chin.color.png",   # optional L image: 255 = takes colour/texture
      "colorable_parts": ["fabric"],
      "default_color": "#1ca0f4",         # null: no colour unless a spec gives one
      "shade_white": 0.8,                 # optional (1): luminance that counts as white
      "anchors": [{"x": 12.5, "y": 80.0, "lm": 8}, {"x": .., "y": .., "lerp": [30, 8, 1.25]}, ...],
      "triangles": [[0, 1, 17], ...],     # optional; Delaunay of the anchors when absent
      "license": "Apache-2.0", "provenance": "..."
    }

Anchor ``x``/``y`` are PNG pixel coordinates; the construction keys are those of
:mod:`maskforge.occlude.anchors`. Colourable parts are drawn as white-based shading: their final
colour is ``colour x shading``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import AssetError
from ..vocab import WEARS
from .anchors import AnchorSet, canonical_landmarks
from .palette import normalize_color, parse_color, texture_tile

SCHEMA = "maskforge-occluder/1"
KINDS = ("mask", "glasses", "sunglasses")
#: Template sides: ``front``, or drawn/photographed on a head turned towards the image's
#: ``left`` (yaw < 0) or ``right`` (yaw > 0); see :meth:`AssetLibrary.get`.
SIDES = ("front", "left", "right")
#: |yaw| (degrees, docs/architecture.md) from which a side template is preferred to the front one.
SIDE_YAW = 20.0
#: Environment variable: extra asset folders (os.pathsep-separated), searched after the bundled one.
ASSETS_ENV = "MASKFORGE_ASSETS"
LICENSE = "Apache-2.0"
PROVENANCE = "drawn procedurally by the maskforge project (maskforge/occlude/draw.py)"
#: How much of white a colourable part gains on dark colours, so black fabric still shows folds.
COLOR_LIFT = 0.18
_CACHE_SIZE = 16


def bundled_dir() -> Path:
    """The project's ``mask_assets/`` folder: next to the package in a source checkout
    (repository root = parents[1] of the package), else where a wheel installs it
    (``<prefix>/share/maskforge/mask_assets``)."""
    package = Path(str(resources.files("maskforge"))).resolve()
    checkout = package.parent / "mask_assets"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "maskforge" / "mask_assets"


@dataclass
class Asset:
    """A loaded occluder template. Arrays are in the PNG's pixel frame."""

    name: str
    family: str
    kind: str
    wear: str
    default_color: str | None
    rgba: np.ndarray  # (H, W, 4) uint8, straight alpha
    colorw: np.ndarray  # (H, W) float32 0..1
    anchors: AnchorSet
    points: np.ndarray  # (A, 2) float64 template positions of the anchors
    triangles: np.ndarray  # (T, 3) int32
    meta: dict
    path: Path | None = None
    side: str = "front"
    _pyramids: OrderedDict = field(default_factory=OrderedDict, repr=False)

    @property
    def colorable(self) -> bool:
        return bool(self.colorw.max() > 0)

    def pyramid(
        self, color: str | None, texture: str | None = None, texture_weight: float = 1.0
    ) -> list[np.ndarray]:
        """Premultiplied RGBA float32 (0..1) mip levels for a colour/texture (cached, LRU).

        Level ``L`` halves ``L`` times with 2x2 box filtering, so its pixel ``x_L`` sits at
        template pixel ``x = 2**L * x_L + (2**L - 1) / 2`` (see :func:`level_coords`)."""
        key = (color, texture, round(float(texture_weight), 3))
        hit = self._pyramids.get(key)
        if hit is not None:
            self._pyramids.move_to_end(key)
            return hit
        levels = [self._premultiplied(color, texture, texture_weight)]
        while min(levels[-1].shape[:2]) >= 32 and len(levels) < 6:
            h, w = levels[-1].shape[:2]
            levels.append(cv2.resize(levels[-1], (w // 2, h // 2), interpolation=cv2.INTER_AREA))
        self._pyramids[key] = levels
        if len(self._pyramids) > _CACHE_SIZE:
            self._pyramids.popitem(last=False)
        return levels

    def _premultiplied(self, color, texture, weight) -> np.ndarray:
        rgb = self.rgba[..., :3].astype(np.float32) / 255.0
        a = self.rgba[..., 3].astype(np.float32) / 255.0
        cw = self.colorw
        c = color or self.default_color
        # an asset without a default colour (an imported photograph) keeps its own colours
        # unless a colour or texture is asked for
        if self.colorable and (c or texture):
            c = c or "#ffffff"
            paint = np.broadcast_to(np.asarray(parse_color(c), np.float32) / 255.0, rgb.shape)
            if texture:
                tile = texture_tile(texture, c).astype(np.float32) / 255.0
                h, w = rgb.shape[:2]
                reps = (h // tile.shape[0] + 1, w // tile.shape[1] + 1, 1)
                tex = np.tile(tile, reps)[:h, :w]
                wt = float(np.clip(weight, 0.0, 1.0))
                paint = paint * (1.0 - wt) + tex * wt
            white = float(self.meta.get("shade_white", 1.0))
            shade = np.minimum(rgb.mean(axis=2, keepdims=True) / white, 1.0)
            colored = shade * (paint + COLOR_LIFT * (1.0 - paint))
            rgb = rgb * (1.0 - cw[..., None]) + colored * cw[..., None]
        out = np.empty(rgb.shape[:2] + (4,), np.float32)
        out[..., :3] = rgb * a[..., None]
        out[..., 3] = a
        return out


def level_coords(points: np.ndarray, level: int) -> np.ndarray:
    """Template-pixel points expressed in the pixel frame of mip level ``level``."""
    f = float(1 << level)
    return (np.asarray(points, np.float64) - (f - 1.0) / 2.0) / f


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (T, 3) of ``points`` (A, 2) as anchor indices (OpenCV Subdiv2D)."""
    pts = np.asarray(points, np.float64)
    lo, hi = pts.min(0) - 10, pts.max(0) + 10
    sub = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    for p in pts:
        sub.insert((float(p[0]), float(p[1])))
    tris = []
    for t in np.asarray(sub.getTriangleList()).reshape(-1, 3, 2):
        idx = [int(np.argmin(np.hypot(*(pts - v).T))) for v in t]
        if len(set(idx)) == 3 and np.allclose(pts[idx], t, atol=1e-3):
            tris.append(sorted(idx))
    if not tris:
        raise AssetError("anchors do not span an area (need 3+ non-collinear points)")
    return np.array(sorted(tris), dtype=np.int32)


def _read_png(path: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode))
    except (OSError, ValueError) as exc:
        raise AssetError(f"asset image {path} cannot be read: {exc}") from exc


def load_asset(json_path: Path) -> Asset:
    """Load one asset from its sidecar; raises AssetError saying what is wrong and how to fix it."""
    try:
        meta = json.loads(Path(json_path).read_text())
    except (OSError, ValueError) as exc:
        raise AssetError(f"asset sidecar {json_path} is not readable JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise AssetError(f"asset sidecar {json_path} must hold a JSON object")
    where = f"asset sidecar {json_path}"
    kind = meta.get("kind")
    if kind not in KINDS:
        raise AssetError(f"{where}: 'kind' must be one of {KINDS}, got {kind!r}")
    name = meta.get("name") or Path(json_path).stem
    wear = meta.get("wear", "correct")
    if wear not in WEARS:
        raise AssetError(f"{where}: 'wear' must be one of {WEARS}, got {wear!r}")
    family = meta.get("family") or name.split(".")[0]
    side = meta.get("side", "front")
    if side not in SIDES:
        raise AssetError(f"{where}: 'side' must be one of {SIDES}, got {side!r}")
    white = meta.get("shade_white", 1.0)
    if isinstance(white, bool) or not isinstance(white, (int, float)) or not 0 < white <= 1:
        raise AssetError(f"{where}: 'shade_white' must be a number in (0, 1], got {white!r}")
    image = Path(json_path).parent / meta.get("image", f"{Path(json_path).stem}.png")
    if not image.is_file():
        raise AssetError(f"{where}: image {image} is missing (put the RGBA PNG next to the JSON)")
    rgba = _read_png(image, "RGBA")
    h, w = rgba.shape[:2]
    if meta.get("color_map"):
        cpath = Path(json_path).parent / meta["color_map"]
        if not cpath.is_file():
            raise AssetError(f"{where}: color_map {cpath} is missing")
        colorw = _read_png(cpath, "L").astype(np.float32) / 255.0
        if colorw.shape != (h, w):
            raise AssetError(f"{where}: color_map is {colorw.shape[::-1]}, image is {(w, h)}")
    else:
        colorw = np.full((h, w), 1.0 if meta.get("colorable") else 0.0, np.float32)
    anchors = meta.get("anchors")
    if not isinstance(anchors, list) or len(anchors) < 3:
        raise AssetError(f"{where}: 'anchors' must be a list of 3+ points with x, y and lm/lerp")
    try:
        points = np.array([[float(a["x"]), float(a["y"])] for a in anchors], np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise AssetError(f"{where}: every anchor needs numeric 'x' and 'y' (PNG px)") from exc
    constructions = [{k: v for k, v in a.items() if k not in ("x", "y")} for a in anchors]
    try:
        aset = AnchorSet(constructions)
    except AssetError as exc:
        raise AssetError(f"{where}: {exc}") from exc
    if "triangles" in meta:
        tris = np.asarray(meta["triangles"], dtype=np.int32)
        if tris.ndim != 2 or tris.shape[1] != 3 or tris.min() < 0 or tris.max() >= len(points):
            raise AssetError(f"{where}: 'triangles' must be [[i, j, k], ...] anchor indices")
    else:
        tris = triangulate(points)
    color = meta.get("default_color")
    if color is not None:
        try:
            color = normalize_color(color)
        except AssetError as exc:
            raise AssetError(f"{where}: default_color: {exc}") from exc
    return Asset(
        name, family, kind, wear, color, rgba, colorw, aset, points, tris, meta, Path(json_path),
        side,
    )


def asset_dirs(extra_dirs: list[str | Path] | None = None) -> list[Path]:
    """The folders :meth:`AssetLibrary.load` reads, in order: bundled, ``$MASKFORGE_ASSETS``,
    ``extra_dirs``."""
    dirs = [bundled_dir()]
    env = os.environ.get(ASSETS_ENV)
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    return dirs + [Path(p) for p in (extra_dirs or [])]


def asset_fingerprint(extra_dirs: list[str | Path] | None = None) -> str:
    """A BLAKE2b digest of every file the asset library would read (names and bytes, folder by
    folder in load order): part of the dataset key, so an edited, added or removed asset, or
    another ``$MASKFORGE_ASSETS``, rewrites the shards it would change. Content, not mtimes:
    the bundled folder gives the same digest in every installation. ~1 ms for the bundled
    800 KB."""
    h = hashlib.blake2b(digest_size=16)
    for d in asset_dirs(extra_dirs):
        h.update(f"dir:{d.name}\0".encode())
        files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")) if d.is_dir() else []
        for p in files:
            h.update(f"{p.name}\0".encode())
            h.update(p.read_bytes())
    return h.hexdigest()


class AssetLibrary:
    """All available assets: bundled ``mask_assets/`` plus user folders (later ones override)."""

    def __init__(self, assets: dict[str, Asset], dirs: list[Path]) -> None:
        self._assets = assets
        self.dirs = dirs

    @classmethod
    def load(cls, extra_dirs: list[str | Path] | None = None) -> AssetLibrary:
        """Load the bundled assets, then ``$MASKFORGE_ASSETS`` folders, then ``extra_dirs``."""
        dirs = asset_dirs(extra_dirs)
        assets: dict[str, Asset] = {}
        for i, d in enumerate(dirs):
            if not d.is_dir():
                if i == 0:
                    raise AssetError(
                        f"bundled asset folder {d} is missing; regenerate it with `maskforge assets build`"
                    )
                raise AssetError(f"asset folder {d} does not exist")
            for js in sorted(d.glob("*.json")):
                a = load_asset(js)
                assets[a.name] = a
        return cls(assets, dirs)

    def names(self) -> list[str]:
        """Family names (what a spec names), sorted."""
        return sorted({a.family for a in self._assets.values()})

    def variants(self) -> list[str]:
        """All asset names including wear variants (``surgical``, ``surgical.chin``, ...)."""
        return sorted(self._assets)

    def wears(self, family: str) -> list[str]:
        """The wear modes ``family`` has variants for, in :data:`WEARS` order."""
        have = {a.wear for a in self._assets.values() if a.family == family}
        return [w for w in WEARS if w in have]

    def get(self, name: str, wear: str = "correct", yaw: float | None = None) -> Asset:
        """The asset ``name`` (a family or a full variant name) in wear mode ``wear``.

        ``yaw`` (degrees, docs/architecture.md) picks among side templates of that wear: from
        |yaw| >= :data:`SIDE_YAW` the ``left`` (yaw < 0) or ``right`` (yaw > 0) template when the
        family has one, else the ``front`` one (or, without a front one, the side of yaw's
        sign)."""
        if name in self._assets and "." in name:
            return self._assets[name]
        family = [a for a in self._assets.values() if a.family == name]
        if not family:
            raise AssetError(
                f"unknown occluder asset {name!r}; available: {', '.join(self.names())} "
                f"(add your own PNG + JSON with --assets-dir or ${ASSETS_ENV})"
            )
        worn = [a for a in family if a.wear == wear]
        if worn:
            return _pick_side(worn, yaw)
        if family[0].kind != "mask":
            return _pick_side([a for a in family if a.wear == "correct"] or family, yaw)
        raise AssetError(
            f"asset {name!r} has no {wear!r} variant (has: {self.wears(name)}); "
            f"add {name}.{wear}.png + .json or use wear 'correct'"
        )


def _pick_side(assets: list[Asset], yaw: float | None) -> Asset:
    """The variant of ``assets`` (one family and wear) whose side suits ``yaw``."""
    by_side = {a.side: a for a in assets}
    turned = "right" if (yaw or 0.0) > 0 else "left"
    if yaw is not None and abs(yaw) >= SIDE_YAW and turned in by_side:
        return by_side[turned]
    if "front" in by_side:
        return by_side["front"]
    return by_side.get(turned) or assets[0]


# ------------------------------------------------------------------------------------- building


def _png_bytes_save(path: Path, array: np.ndarray, mode: str) -> None:
    Image.fromarray(array, mode).save(path, format="PNG", optimize=False, compress_level=9)


def build_assets(out_dir: Path | None = None) -> list[Path]:
    """Regenerate every project asset into ``out_dir`` (default: the bundled folder).

    Deterministic: the same code gives the same bytes. Returns the files written."""
    from .draw import asset_defs, draw_asset

    out = Path(out_dir) if out_dir is not None else bundled_dir()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for d in asset_defs():
        drawing, constructions, iod, origin = draw_asset(d)
        a = drawing.alpha
        safe = np.maximum(a, 1e-6)[..., None]
        rgb = np.where(a[..., None] > 0, drawing.rgb / safe, 0.0)
        cw = np.where(a > 0, drawing.colorw / safe[..., 0], 0.0)
        rgba = np.dstack([rgb, a]) * 255.0 + 0.5
        rgba = np.clip(rgba, 0, 255).astype(np.uint8)
        rgba[rgba[..., 3] == 0, :3] = 0
        cmap = np.clip(cw * 255.0 + 0.5, 0, 255).astype(np.uint8)
        canon = canonical_landmarks(iod, origin)
        aset = AnchorSet(constructions)
        pts = np.round(aset.evaluate(canon), 3)
        tris = triangulate(pts)
        png, cpng = f"{d.name}.png", f"{d.name}.color.png"
        _png_bytes_save(out / png, rgba, "RGBA")
        _png_bytes_save(out / cpng, cmap, "L")
        meta = {
            "schema": SCHEMA,
            "name": d.name,
            "family": d.family,
            "wear": d.wear,
            "kind": d.kind,
            "image": png,
            "color_map": cpng,
            "colorable_parts": [p for p in drawing.parts if "(fixed)" not in p],
            "fixed_parts": [p.replace(" (fixed)", "") for p in drawing.parts if "(fixed)" in p],
            "default_color": d.default_color,
            "template_iod_px": iod,
            "anchors": [
                {"x": float(p[0]), "y": float(p[1]), **c}
                for p, c in zip(pts, constructions, strict=True)
            ],
            "triangles": tris.tolist(),
            "license": LICENSE,
            "provenance": PROVENANCE,
        }
        (out / f"{d.name}.json").write_text(json.dumps(meta, indent=1) + "\n")
        written += [out / png, out / cpng, out / f"{d.name}.json"]
    return written


def active_triangles(asset: Asset, pad: int = 8) -> np.ndarray:
    """Indices of the triangles whose template area (grown by ``pad`` px) has any alpha: only
    those need warping. Cached on the asset."""
    cached = asset.meta.get("_active")
    if cached is not None:
        return cached
    alpha: np.ndarray = (asset.rgba[..., 3] > 0).astype(np.uint8)
    alpha = cv2.dilate(alpha, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
    keep = []
    for k, tri in enumerate(asset.triangles):
        canvas = np.zeros(alpha.shape, np.uint8)
        cv2.fillConvexPoly(canvas, np.round(asset.points[tri] * 16).astype(np.int32), 1, shift=4)
        if np.bitwise_and(canvas, alpha).any():
            keep.append(k)
    out = asset.triangles[np.array(keep, dtype=np.int64)] if keep else asset.triangles[:0]
    asset.meta["_active"] = out
    return out
