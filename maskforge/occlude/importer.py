"""``maskforge assets import``: a user's PNG occluder -> ``NAME.png`` + ``NAME.json`` asset.

The anchors are fitted from the image itself (:mod:`.outline` reads it, :mod:`.fit` places it on
the canonical face), with the same constructions and triangulation as the drawn assets, so the
imported asset is warped, pulled in on the far side of turned heads and closed at the chin
exactly like them. The PNG is rescaled to the drawn templates' scale (:data:`~.canvas.MASK_IOD` /
:data:`~.canvas.GLASSES_IOD` pixels per inter-ocular distance), cropped to what is visible, and
resampled in premultiplied form (no halo). Photographic content keeps its own colours; with
``colorable`` a colour map is written too (every visible pixel takes a spec's colour or
texture, shaded by the image's own luminance).

Deterministic: the same PNG and options give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import AssetError
from ..io.writer import write_bytes_atomic
from .assets import KINDS, SCHEMA, SIDES, WEARS, bundled_dir
from .canvas import GLASSES_IOD, MASK_IOD
from .fit import Fit, fit_glasses, fit_mask
from .outline import body, check_alpha, find_lenses, mask_outline, read_rgba

#: Largest share of the visible alpha that may fall outside the anchor mesh (it is trimmed).
MAX_TRIM = 0.05
#: How far (output px) beyond the fitted outline (bottom edge: around the chin) alpha is cut.
TRIM_SLACK = 1.5
#: Luminance percentile of a colourable import that counts as white when it is recoloured.
WHITE_PERCENTILE = 95.0


@dataclass
class Imported:
    """One prepared import: ``files`` maps file names to their bytes; ``name`` is the asset's
    variant name; ``summary`` says what the fit found."""

    name: str
    files: dict[str, bytes]
    summary: str


def variant_name(family: str, wear: str = "correct", side: str = "front") -> str:
    """``FAMILY[.WEAR][.SIDE]`` (wear ``correct`` and side ``front`` are left out)."""
    return ".".join(
        [family] + ([wear] if wear != "correct" else []) + ([side] if side != "front" else [])
    )


def family_name(png: Path, name: str | None) -> str:
    """The family name: ``name`` (letters, digits, ``-`` and ``_``), or the PNG's file stem made
    into one."""
    if name is not None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            raise AssetError(
                f"asset name {name!r} must be lower-case letters, digits, '-' or '_' (no dots: "
                "wear and side variants are added as .WEAR / .SIDE)"
            )
        return name
    stem = re.sub(r"[^a-z0-9_-]+", "-", png.stem.lower()).strip("-_")
    return stem or "imported"


def _fit(rgba: np.ndarray, kind: str, wear: str, png: Path) -> tuple[Fit, str]:
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    check_alpha(alpha, png, kind)
    if kind == "mask":
        outline = mask_outline(body(alpha), png)
        return fit_mask(outline, wear, png), outline.describe()
    lenses = find_lenses(alpha, png)
    (lx, ly), (rx, ry) = lenses.centers()
    return fit_glasses(
        lenses, kind, png
    ), f"lens centres at ({lx:.0f}, {ly:.0f}) and ({rx:.0f}, {ry:.0f}) px"


def _crop_box(rgba: np.ndarray, scale: float) -> tuple[int, int, int, int, int]:
    """(x0, y0, x1, y1, pad): the visible pixels' box plus a transparent border of ``pad`` px."""
    ys, xs = np.nonzero(rgba[..., 3])
    pad = int(np.ceil(2.0 / scale)) + 1
    return (
        int(xs.min()) - pad,
        int(ys.min()) - pad,
        int(xs.max()) + pad + 1,
        int(ys.max()) + pad + 1,
        pad,
    )


def _out_size(rgba: np.ndarray, scale: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1, _ = _crop_box(rgba, scale)
    cw, ch = x1 - x0, y1 - y0
    return cw, ch, max(1, int(round(cw * scale))), max(1, int(round(ch * scale)))


def _reframe_points(points: np.ndarray, rgba: np.ndarray, scale: float) -> np.ndarray:
    """PNG-pixel ``points`` in the frame of the image :func:`_reframe` makes."""
    x0, y0, *_ = _crop_box(rgba, scale)
    cw, ch, ow, oh = _out_size(rgba, scale)
    return (np.asarray(points, np.float64) - (x0, y0) + 0.5) * (ow / cw, oh / ch) - 0.5


def _reframe(rgba: np.ndarray, points: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``rgba`` to its visible pixels (plus a transparent border), rescale it by ``scale``
    in premultiplied form, and map ``points`` (A, 2, PNG px) into the new frame."""
    x0, y0, x1, y1, pad = _crop_box(rgba, scale)
    pm = rgba.astype(np.float32) / 255.0
    pm[..., :3] *= pm[..., 3:]
    pm = np.pad(pm, ((pad, pad), (pad, pad), (0, 0)))[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    _, _, ow, oh = _out_size(rgba, scale)
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    out = np.clip(cv2.resize(pm, (ow, oh), interpolation=interp), 0.0, 1.0)
    out[..., :3] = np.minimum(out[..., :3], out[..., 3:])
    return out, _reframe_points(points, rgba, scale)


def _trim_to_mesh(pm: np.ndarray, pts: np.ndarray, tris: np.ndarray, png: Path) -> float:
    """Zero the alpha of pixels outside the anchor mesh (they could never be drawn); returns the
    share of alpha removed. AssetError when that share exceeds :data:`MAX_TRIM`."""
    cover = np.zeros(pm.shape[:2], np.uint8)
    for tri in tris:
        cv2.fillConvexPoly(cover, np.round(pts[tri] * 16).astype(np.int32), 1, shift=4)
    a = pm[..., 3]
    total = float(a.sum())
    out = (cover == 0) & (a > 0)
    share = float(a[out].sum()) / total if total else 0.0
    if share > MAX_TRIM:
        raise AssetError(
            f"{png}: the fit cannot place this image: {share:.1%} of its visible pixels fall "
            "outside the face area the anchors cover (straps or parts far beyond the outline); "
            "crop the image to the occluder itself"
        )
    pm[out] = 0.0
    return share


def _offset(curve: np.ndarray, dist: np.ndarray | float, side: float) -> np.ndarray:
    """``curve`` (N, 2, left to right) moved ``dist`` px along its normal: ``side`` -1 up
    (outwards for a top edge), +1 down (outwards for a bottom edge)."""
    t = np.gradient(np.asarray(curve, np.float64), axis=0)
    n = side * np.stack([-t[:, 1], t[:, 0]], axis=1)
    n /= np.maximum(np.hypot(*n.T), 1e-9)[:, None]
    return curve + np.broadcast_to(np.asarray(dist, np.float64), (len(curve),))[:, None] * n


def _trim_to_outline(pm: np.ndarray, top: np.ndarray, bottom: np.ndarray, slack) -> float:
    """Cut a mask's alpha, anti-aliased, to the fitted outline: ``top`` and ``bottom`` edges
    (left to right, in ``pm``'s frame) :data:`TRIM_SLACK` px further out (the bottom edge only
    around the chin, by ``slack`` 0..1), so the image's own edge is kept where it follows the fit.
    What lies beyond (ear loops, straps, corners sharper than the jaw, a top edge higher than the
    drawn one) would spill past the jaw line or towards the eyes. Returns the alpha share cut."""
    poly = np.vstack(
        [_offset(top, TRIM_SLACK, -1.0), _offset(bottom, TRIM_SLACK * np.asarray(slack), 1.0)[::-1]]
    )
    up = 4
    h, w = pm.shape[:2]
    canvas = np.zeros((h * up, w * up), np.uint8)
    pts = np.round(((poly + 0.5) * up - 0.5) * 16).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA, shift=4)
    keep = cv2.resize(canvas.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)
    before = float(pm[..., 3].sum())
    pm *= keep[..., None]
    return 1.0 - float(pm[..., 3].sum()) / before if before else 0.0


def _png(array: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _check_options(png: Path, kind: str, wear: str, side: str) -> None:
    if kind not in KINDS:
        raise AssetError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if wear not in WEARS:
        raise AssetError(f"wear must be one of {', '.join(WEARS)}, got {wear!r}")
    if side not in SIDES:
        raise AssetError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if kind != "mask" and wear != "correct":
        raise AssetError(f"--wear applies to masks only, not to {kind}; leave it out")
    if not png.is_file():
        raise AssetError(f"{png} is not a file; give the path of a PNG image")


def _template(rgba: np.ndarray, fit: Fit, iod: float, png: Path):
    """The asset image (straight-alpha RGBA uint8 at ``iod`` px per IOD), the anchors in its
    frame, and the alpha shares cut to the outline and to the mesh."""
    scale = iod / fit.iod_px
    pm, pts = _reframe(rgba, fit.points, scale)
    cut = 0.0
    if fit.top is not None and fit.bottom is not None:  # masks: fitted together
        top, bottom = (_reframe_points(c, rgba, scale) for c in (fit.top, fit.bottom))
        cut = _trim_to_outline(pm, top, bottom, fit.bottom_slack)
    trimmed = _trim_to_mesh(pm, pts, fit.triangles, png)
    a = pm[..., 3]
    safe = np.maximum(a, 1e-6)[..., None]
    out = np.dstack([np.where(a[..., None] > 0, pm[..., :3] / safe, 0.0), a]) * 255.0 + 0.5
    out = np.clip(out, 0, 255).astype(np.uint8)
    out[out[..., 3] == 0, :3] = 0
    return out, pts, cut, trimmed


def prepare_import(
    png: str | Path,
    kind: str,
    name: str | None = None,
    wear: str = "correct",
    colorable: bool = False,
    side: str = "front",
) -> Imported:
    """Fit one PNG and build its asset files in memory (nothing is written).

    ``kind``: mask | glasses | sunglasses; ``wear``: the wear mode the PNG shows (masks only);
    ``side``: front, or a template for heads turned towards the image's left/right (picked by
    yaw at render time); ``colorable``: also write a colour map. Raises AssetError with what was
    found when the PNG cannot be used."""
    png = Path(png)
    _check_options(png, kind, wear, side)
    rgba = read_rgba(png)  # checks the file (regular, size cap, pixel limit) before decoding
    raw = png.read_bytes()
    family = family_name(png, name)
    fit, found = _fit(rgba, kind, wear, png)
    iod = MASK_IOD if kind == "mask" else GLASSES_IOD
    out, pts, cut, trimmed = _template(rgba, fit, iod, png)
    vname = variant_name(family, wear, side)
    files = {f"{vname}.png": _png(out, "RGBA")}
    meta: dict = {
        "schema": SCHEMA,
        "name": vname,
        "family": family,
        "wear": wear,
        "kind": kind,
        "side": side,
        "image": f"{vname}.png",
    }
    parts = ["fabric"] if kind == "mask" else ["frame and lenses"]
    if colorable:
        files[f"{vname}.color.png"] = _png(np.where(out[..., 3] > 0, 255, 0).astype(np.uint8), "L")
        lum = out[..., :3].astype(np.float32).mean(axis=2)[out[..., 3] >= 128] / 255.0
        white = float(np.clip(np.percentile(lum, WHITE_PERCENTILE), 0.05, 1.0)) if lum.size else 1.0
        meta.update(color_map=f"{vname}.color.png", shade_white=round(white, 4))
    meta.update(
        colorable_parts=parts if colorable else [],
        fixed_parts=[] if colorable else parts,
        default_color=None,
        template_iod_px=iod,
        anchors=[
            {"x": round(float(p[0]), 3), "y": round(float(p[1]), 3), **c}
            for p, c in zip(pts, fit.constructions, strict=True)
        ],
        triangles=fit.triangles.tolist(),
        license="unknown: that of the source image",
        provenance=(
            f"imported with `maskforge assets import` from {png.name} "
            f"(sha256 {hashlib.sha256(raw).hexdigest()[:16]}); anchors fitted from its alpha"
        ),
        fit={"found": found, "outline_cut": round(cut, 4), "outside_mesh_cut": round(trimmed, 4)},
    )
    files[f"{vname}.json"] = (json.dumps(meta, indent=1) + "\n").encode()
    size = f"{out.shape[1]}x{out.shape[0]} px"
    return Imported(vname, files, f"{kind}, wear {wear}, side {side}, {size}; {found}")


def import_assets(
    pngs: Sequence[str | Path],
    kind: str,
    output: str | Path,
    name: str | None = None,
    wear: str = "correct",
    colorable: bool = False,
    side: str = "front",
) -> list[tuple[Imported, list[Path]]]:
    """Import every PNG of ``pngs`` (see :func:`prepare_import`) into the folder ``output``.

    Every PNG is fitted and every destination checked before the first file is written: an
    existing file, two PNGs with one name, the folder of an input PNG or the bundled asset folder
    as ``output`` raise AssetError. Returns (import, files written) per PNG."""
    if name is not None and len(pngs) > 1:
        raise AssetError(f"--name names one asset; {len(pngs)} PNGs given: import them one by one")
    check_output(pngs, output)
    prepared = [prepare_import(p, kind, name, wear, colorable, side) for p in pngs]
    return write_prepared(pngs, prepared, output)


def check_output(inputs: Sequence[str | Path], output: str | Path) -> None:
    """Refuse an ``output`` that is a file, the bundled asset folder or an input's folder."""
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise AssetError(f"--output {out} exists and is not a folder")
    resolved = out.resolve()
    if resolved == bundled_dir().resolve():
        raise AssetError(
            f"--output {out} is the project's own asset folder (built by `maskforge assets build`); "
            "import into a folder of your own and pass it with --assets-dir"
        )
    for p in inputs:
        if Path(p).resolve().parent == resolved:
            raise AssetError(
                f"--output {out} is the folder of the input {p}; choose another folder"
            )


def write_prepared(
    inputs: Sequence[str | Path], prepared: Sequence[Imported], output: str | Path
) -> list[tuple[Imported, list[Path]]]:
    """Write prepared assets into ``output`` after checking every destination: two inputs with
    one asset name or an existing file raise AssetError before the first write."""
    out = Path(output)
    seen: dict[str, str] = {}
    for p, imp in zip(inputs, prepared, strict=True):
        if imp.name in seen:
            raise AssetError(
                f"{p} and {seen[imp.name]} would both become asset {imp.name!r}; give one --name"
            )
        seen[imp.name] = str(p)
    existing = [out / f for imp in prepared for f in imp.files if (out / f).exists()]
    if existing:
        raise AssetError(
            f"{len(existing)} files exist already ({', '.join(str(e) for e in existing[:4])}); "
            "remove them or import under another --name"
        )
    out.mkdir(parents=True, exist_ok=True)
    result = []
    for imp in prepared:
        written = []
        for fname, data in imp.files.items():
            try:
                write_bytes_atomic(data, out / fname, replace=False)  # whole, and never over a file
            except FileExistsError as exc:
                raise AssetError(f"{out / fname} appeared during the import; import again") from exc
            written.append(out / fname)
        result.append((imp, written))
    return result
