"""Rendering one occluder onto one face: anchors -> piecewise-affine warp -> composite."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from .anchors import eye_frame, yaw_from_landmarks
from .assets import Asset, AssetLibrary, active_triangles, level_coords
from .camera import Camera, match_blur, measure_camera
from .composite import ALPHA_FLOOR, composite
from .look import DEFAULT_LOOK, PhotoLook
from .nosewire import NOSE_WIRE_FAMILIES, apply_nose_wire
from .palette import parse_color
from .photo import composite_photo
from .spec import OccluderChoice, OccluderSpec, choose_spec
from .straps import ear_loop_layers
from .warp import warp_maps

#: |yaw| (degrees) from which the far-side outer anchors are pulled towards the jaw line.
YAW_START = 12.0
YAW_FULL = 40.0


@dataclass
class OcclusionResult:
    """``image`` (H, W, 3) uint8 RGB with the occluder; ``mask`` (H, W) bool: pixels it covers
    (alpha >= 0.5); ``info``: kind, name (family), asset (variant), color, texture, wear, yaw."""

    image: np.ndarray
    mask: np.ndarray
    info: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def default_library() -> AssetLibrary:
    """The bundled + ``$MASKFORGE_ASSETS`` library, loaded once per process."""
    return AssetLibrary.load()


def _outer_anchor_table(asset: Asset) -> tuple[np.ndarray, np.ndarray]:
    """Anchors built outside a jaw landmark (a jaw landmark plus an eye-frame offset, or an
    extrapolation past it): (anchor indices, jaw indices)."""
    cached = asset.meta.get("_outer")
    if cached is None:
        idx, jaw = [], []
        for k, c in enumerate(asset.anchors.constructions):
            lerp, lm, eye = c.get("lerp"), c.get("lm"), c.get("eye")
            if lerp and float(lerp[2]) > 1.0 and 0 <= int(lerp[1]) <= 16:
                idx.append(k)
                jaw.append(int(lerp[1]))
            elif lm is not None and 0 <= int(lm) <= 16 and eye and any(eye):
                idx.append(k)
                jaw.append(int(lm))
        cached = (np.array(idx, np.int64), np.array(jaw, np.int64))
        asset.meta["_outer"] = cached
    return cached


#: Canonical eye width (outer to inner corner) in units of the inter-ocular distance.
CANONICAL_EYE_WIDTH = 0.39


def _foreshorten_temples(asset: Asset, lm: np.ndarray, dst: np.ndarray) -> None:
    """Scale the horizontal eye-frame offsets of anchors built on an outer eye corner (36, 45)
    by how wide that eye looks (its corner distance over the canonical one): on a turned head
    the far eye is narrow, so the lens edge and temple there shrink instead of leaving the face."""
    u = eye_frame(lm)[0]
    iod = math.hypot(*u.tolist()) or 1.0
    table = asset.meta.get("_temples")
    if table is None:  # per corner: (anchor indices, their horizontal eye offsets)
        table = {}
        for corner in (36, 45):
            ks = [
                k
                for k, c in enumerate(asset.anchors.constructions)
                if c.get("lm") == corner and c.get("eye") and c["eye"][0]
            ]
            dx = [float(asset.anchors.constructions[k]["eye"][0]) for k in ks]
            table[corner] = (np.array(ks, np.int64), np.array(dx, np.float64))
        asset.meta["_temples"] = table
    for corner, inner in ((36, 39), (45, 42)):
        ks, dx = table[corner]
        if not len(ks):
            continue
        (cx, cy), (ix, iy) = lm[[corner, inner]].tolist()
        ratio = math.hypot(cx - ix, cy - iy) / iod / CANONICAL_EYE_WIDTH
        scale = min(max(ratio, 0.2), 1.3)
        dst[ks] += ((scale - 1.0) * dx)[:, None] * u


def place_anchors(asset: Asset, landmarks: np.ndarray, yaw: float) -> np.ndarray:
    """Destination anchors (A, 2) in the landmarks' frame. On a turned head the outer anchors
    of the far side (the side the nose points to) are pulled towards the jaw, so nothing drawn
    past the jaw line there can leave the face."""
    dst = asset.anchors.evaluate(landmarks)
    if asset.kind != "mask":
        _foreshorten_temples(asset, np.asarray(landmarks, np.float64), dst)
    f = min(max((abs(yaw) - YAW_START) / (YAW_FULL - YAW_START), 0.0), 1.0)
    if f > 0:
        idx, jaw = _outer_anchor_table(asset)
        far = jaw > 8 if yaw > 0 else jaw < 8
        idx, jaw = idx[far], jaw[far]
        lm = np.asarray(landmarks, np.float64)
        dst[idx] = lm[jaw] + (dst[idx] - lm[jaw]) * (1.0 - 0.5 * f)
    return dst


def _spread(points: np.ndarray) -> float:
    """RMS distance of ``points`` (N, 2) from their centroid (``sqrt(var_x + var_y)``)."""
    c = (points - points.sum(0) / len(points)).ravel()
    return math.sqrt(float(c @ c) / len(points))


def _level_points(asset: Asset, level: int) -> np.ndarray:
    """The asset's anchor points in the pixel frame of mip level ``level`` (cached)."""
    cache = asset.meta.setdefault("_level_points", {})
    pts = cache.get(level)
    if pts is None:
        pts = cache[level] = level_coords(asset.points, level)
    return pts


def _check_inputs(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {img.shape} {img.dtype}")
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise ValueError(f"landmarks68 must be finite (68, 2), got {lm.shape}")
    return np.ascontiguousarray(img), lm


def _color_luma(asset: Asset, color: str | None, texture: str | None) -> float | None:
    """Luminance (0..255) of the plain colour a colourable asset is painted with (the colours
    are as real masks photograph, :mod:`.palette`); None for a texture or the asset's own
    photographed colours."""
    if not (asset.colorable and color) or texture:
        return None
    r, g, b = parse_color(color)
    return 0.299 * r + 0.587 * g + 0.114 * b


def render_occluder(
    image: np.ndarray,
    landmarks68: np.ndarray,
    spec: OccluderSpec | str | OccluderChoice,
    rng: np.random.Generator,
    yaw: float | None = None,
    library: AssetLibrary | None = None,
    shade: bool = True,
    look: PhotoLook | None = None,
    keep: np.ndarray | None = None,
) -> OcclusionResult:
    """Draw one occluder on the face given by ``landmarks68`` ((68, 2) px in the frame of
    ``image``, which may be a full source image or an aligned crop).

    ``spec``: an OccluderSpec, a spec string, or an OccluderChoice (e.g. from :func:`parse_mix`;
    one spec is drawn with ``rng``). ``rng`` also draws random colours. ``yaw``: head yaw in degrees
    (docs/architecture.md); estimated roughly from the landmarks when None. ``image`` is not
    modified. ``look``: the rendering options (:class:`PhotoLook`; None = the defaults);
    ``shade=False`` turns off all lighting (flat look). ``keep``: (H, W) bool pixels of something
    in front of the face (a hand's outline, :mod:`maskforge.occlude.front`): the occluder is
    composited behind it, so these pixels keep their colour and are not in ``mask``. Raises
    AssetError for unknown assets/colours."""
    img, lm = _check_inputs(image, landmarks68)
    lib = library or default_library()
    chosen = choose_spec(spec, rng)
    yaw_deg = float(yaw) if yaw is not None else yaw_from_landmarks(lm)
    asset = lib.get(chosen.name, chosen.wear, yaw=yaw_deg)  # wear and side variants
    color = chosen.color or asset.default_color
    info = {
        "kind": asset.kind,
        "name": asset.family,
        "asset": asset.name,
        "color": color,
        "texture": chosen.texture,
        "wear": chosen.wear,
        "yaw": round(yaw_deg, 1),
    }
    warped = _warp(asset, lm, yaw_deg, img.shape, color, chosen)
    if warped is None:
        return OcclusionResult(img.copy(), np.zeros(img.shape[:2], bool), info)
    occ, ox, oy = warped
    look = DEFAULT_LOOK if look is None else look
    loops = ear_loop_layers(occ, ox, oy, lm, img.shape) if look.ear_loops and asset.kind == "mask" else []
    photo = look.match_photo and shade and asset.kind == "mask"
    # spawned first, so the photo look's own draws are the same whatever the options below
    photo_rng = rng.spawn(1)[0] if photo else None
    if look.nose_wire and asset.kind == "mask" and asset.family in NOSE_WIRE_FAMILIES:
        apply_nose_wire(occ, ox, oy, lm, rng.spawn(1)[0])  # occ: this render's own warp
    if photo_rng is None:  # glasses: as drawn
        out, mask = composite(img, occ, ox, oy, shade=shade)
        for loop in loops:
            out, _ = composite(out, loop[0], loop[1], loop[2], shade=shade)
            _add_loops(mask, loop)
        return _behind(OcclusionResult(out, mask, info), img, keep)
    cam = measure_camera(img, lm)
    iod = math.hypot(*eye_frame(lm)[0].tolist())
    out, mask = composite_photo(
        img, occ, ox, oy, cam=cam, look=look, iod=iod, rng=photo_rng,
        color_luma=_color_luma(asset, color, chosen.texture),
    )  # fmt: skip
    _photo_loops(out, mask, loops, cam)
    return _behind(OcclusionResult(out, mask, info), img, keep)


def _photo_loops(
    out: np.ndarray, mask: np.ndarray, loops: list[tuple[np.ndarray, int, int]], cam: Camera
) -> None:
    """Composite the ear-loop layers onto ``out`` (the photo look's own image) and add them to
    ``mask``, in place: after the mask (drawn as without loops), with the face's blur and light;
    at ~1 px wide the photo's noise and JPEG would not show on them, and re-applying them costs
    ~0.5 ms a side."""
    for layer, lx, ly in loops:  # blurred inwards only, like the mask: nothing beside them changes
        sharp = cv2.threshold(cv2.extractChannel(layer, 3), ALPHA_FLOOR, 1.0, cv2.THRESH_BINARY)[1]
        soft = cv2.multiply(match_blur(layer, cam), cv2.merge((sharp, sharp, sharp, sharp)))
        composite(out, soft, lx, ly, shade=True, in_place=True)
        _add_loops(mask, (layer, lx, ly))


def _warp(
    asset: Asset,
    lm: np.ndarray,
    yaw_deg: float,
    shape: tuple[int, ...],
    color: str | None,
    chosen: OccluderSpec,
) -> tuple[np.ndarray, int, int] | None:
    """The asset warped onto the face: ``(occ, x0, y0)``, premultiplied (h, w, 4) float32 RGBA
    cropped to what it covers, placed at ``(x0, y0)`` px of an image of ``shape`` (H, W, ...);
    None when it covers nothing there."""
    dst = place_anchors(asset, lm, yaw_deg)
    levels = asset.pyramid(color, chosen.texture, chosen.texture_weight)
    ratio = _spread(asset.points) / max(_spread(dst), 1e-6)
    # the finest level that is not coarser than the output (downsampling there is < 2x)
    level = min(max(math.floor(math.log2(max(ratio, 1e-6)) + 1e-6), 0), len(levels) - 1)
    maps = warp_maps(_level_points(asset, level), dst, active_triangles(asset), (shape[1], shape[0]))
    if maps is None:
        return None
    # OpenCV takes no map2 with a two-channel float map1; its stubs require one
    occ = cv2.remap(  # type: ignore[call-overload]
        levels[level],
        maps.xy,
        None,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    # composite only the bounding box of what the occluder covers (the triangulation's box is
    # larger: it includes the anchors around the drawing)
    covered = cv2.compare(  # type: ignore[call-overload]  # a scalar src2; the stubs want arrays
        cv2.extractChannel(occ, 3), ALPHA_FLOOR, cv2.CMP_GE
    )
    x, y, w, h = cv2.boundingRect(covered)
    if w == 0 or h == 0:
        return None
    return occ[y : y + h, x : x + w], maps.x0 + x, maps.y0 + y


#: Width (px) over which the occluder fades out next to something in front of it: the edge of
#: the thing, as photographed, is not a staircase of whole pixels.
BEHIND_FEATHER = 1.5


def _behind(res: OcclusionResult, image: np.ndarray, keep: np.ndarray | None) -> OcclusionResult:
    """``res`` with the pixels of ``keep`` (in front of the face) as they were in ``image``, and
    the occluder's pixels within :data:`BEHIND_FEATHER` of them blended towards ``image`` (by
    ``1 - distance / BEHIND_FEATHER``): anti-aliased against the thing's outline."""
    if keep is None:
        return res
    keep = np.asarray(keep, bool)
    if keep.shape != image.shape[:2]:
        raise ValueError(f"keep must be {image.shape[:2]} like the image, not {keep.shape}")
    ys, xs = np.nonzero(keep)
    if len(xs):
        pad = int(np.ceil(BEHIND_FEATHER)) + 1
        y0, x0 = max(int(ys.min()) - pad, 0), max(int(xs.min()) - pad, 0)
        y1, x1 = int(ys.max()) + pad + 1, int(xs.max()) + pad + 1
        box = (slice(y0, y1), slice(x0, x1))
        dist = cv2.distanceTransform((~keep[box]).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        a = np.clip(1.0 - dist / BEHIND_FEATHER, 0.0, 1.0)[..., None]  # 1 on keep itself
        out = res.image[box].astype(np.float32)
        blend = out + a * (image[box].astype(np.float32) - out)
        res.image[box] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
    res.image[keep] = image[keep]
    res.mask &= ~keep
    res.info["behind"] = int(keep.sum())
    return res


#: Loop coverage (sharp, before the camera blur) from which a pixel counts in the occlusion mask:
#: a loop is about 1 px wide, under the mask's own threshold once blurred, but it is occluder.
LOOP_MASK_FLOOR = 0.2


def _add_loops(mask: np.ndarray, loops: tuple[np.ndarray, int, int]) -> None:
    layer, lx, ly = loops
    h, w = layer.shape[:2]
    mask[ly : ly + h, lx : lx + w] |= layer[..., 3] >= LOOP_MASK_FLOOR
