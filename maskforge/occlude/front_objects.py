"""Objects in front of the lower face that are not hands: a per-pixel test against the face's skin.

A microphone, a tennis ball, a headset or dark hair falling over the jaw is in front of the skin a
mask is drawn on. Unlike a hand (:mod:`maskforge.occlude.front`), such an object does not look
like skin, so a per-pixel test finds it: each pixel of a crop around the lower face against the
*same face's* visible skin (CIELAB medians of the cheeks under the eyes and the nose):

- **colour**: chroma (a*, b*) farther than :data:`COLOUR_DIST` skin chromas from the skin's, and
  more saturated than the skin or of an opposite hue (a yellow ball, a blue cloth);
- **dark**: lightness under :data:`DARK_RATIO` of the darker patch, nearly neutral (a microphone,
  hair); **black** under :data:`BLACK_RATIO` of it.

The face's own parts that differ from its skin are left out (lips, teeth, open mouth, nostrils,
eyes). A component of such pixels is an object when it **enters from outside the face** (it goes
on beyond the jaw line, as a thing in front of the face does and a moustache does not) and covers
enough of the lower face (:meth:`_Component.is_object`); a dark one mirrored across the face's
midline is the face's own (a beard) unless it is black (a microphone held at the chin). Two
shapes are objects besides: a **round** dark blob wholly inside the face at its jaw line (a
microphone's head, :meth:`_Component.is_round_at_jaw`) and a **thin line** of dark pixels of any
hue entering from outside and reaching well inside (a tube, a cable: :func:`_lines`). A found
object grows into connected pixels of looser limits (its blurred edge, its part over the mouth).
A coloured or black object's outline is reliable; a merely dark one's (hair, a blurred head) or a
line's is not: :func:`maskforge.occlude.front.decide` rejects the face then. The limits were set
on lfw-dev (docs/occluders.md, "Other objects in front", says on which faces).

Frames: images (H, W, 3) uint8 RGB, landmarks (68, 2) float in that image's pixels; every mask
returned is (H, W) bool in the image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

#: Version of the test; part of the occluder cache key (:func:`objects_key`).
VERSION = 3
#: Jaw width (landmark 0 to 16, px) above which the test runs on the crop scaled down to it: the
#: limits were set on faces of 75-163 px (lfw-dev), and the cost of a 450 px face is that of this
#: one (the crop's pixels), not 8x more.
MAX_JAW = 168.0
#: Chroma distance (a*, b*) from the skin's median, in units of the skin's chroma, of a pixel of
#: foreign colour (a neutral pixel is at 1.0 exactly: grey beards stay under it).
COLOUR_DIST = 1.2
#: Chroma a pixel of foreign colour has at least (a*, b* units): hues of near-grey pixels are noise.
CHROMA_MIN = 8.0
#: Floor of the skin's chroma (a*, b* units).
CHROMA_FLOOR = 5.0
#: Depth into the lower face (jaw widths) from which a component's pixels count as covering it
#: (a sliver of background where the jaw line overshoots the face does not).
DEPTH = 0.06
#: Lightness ratio to the darker skin patch under which a pixel is black (a microphone's foam).
BLACK_RATIO = 0.15
#: Share of black pixels from which a dark component in front of the face is an object even where
#: it is symmetric (a microphone held in front of the chin).
BLACK_SHARE = 0.8
#: Share of a dark component's pixels inside the face whose mirror image is dark too, above which
#: it is the face's own (a beard, a moustache, hair on both sides).
SYMMETRIC_MAX = 0.5
#: Lightness ratio to the darker skin patch (a cheek or the nose) under which a pixel is dark.
DARK_RATIO = 0.35
#: Chroma of a dark pixel at most, in units of the skin's chroma (skin in shadow keeps its hue).
DARK_CHROMA = 0.5
#: Loose lightness ratio (to the darker cheek) into which a found dark object grows.
GROW_DARK = 0.55
#: Loose chroma distance (skin chroma units) into which a found coloured object grows.
GROW_COLOUR = 0.8
#: Share of a component's pixels outside the lower face for it to enter from outside.
OUTSIDE_MIN = 0.05
#: Share of the lower face (its part :data:`DEPTH` inside, or all of it for a black object) an
#: object must cover to count.
MIN_COVER = 0.02
#: Lightness ratio to the brightest skin patch under which a patch is not skin (an object over
#: it) and is left out of the skin model.
PATCH_RATIO = 0.4
#: Roundness (area over that of the smallest enclosing circle) from which a dark component wholly
#: inside the face that touches its jaw line is a round object at the jaw (a microphone's head)
#: rather than a shadow, a mole or a piece of beard (elongated).
ROUND_MIN = 0.6
#: Share of the lower face such a round object covers at least.
ROUND_COVER = 0.01
#: Depth into the lower face (jaw widths) that a thin dark line entering from outside reaches at
#: least to be an object (a tube, a cable, a stem): shadows along the jaw do not reach as far.
LINE_REACH = 0.12
#: Thickness (jaw widths: area over length) of a line's part :data:`DEPTH` inside, at most.
LINE_THICK = 0.018
#: Margin of the searched box around the lower face, in jaw widths.
BOX_MARGIN = 0.25
#: Widening of the mouth's hull left out of the test, in jaw widths.
MOUTH_MARGIN = 0.03


@dataclass
class Objects:
    """What the per-pixel test found in front of one face's lower half.

    Attributes:
        keep: (H, W) bool pixels of the objects (in and around the lower face), or None.
        cover: share of the lower face they cover.
        kinds: short names of what was found (``dark``, ``colour``), one per object.
        reliable: whether the pixels found are the whole object: each is of a foreign colour or
            black (:data:`BLACK_SHARE`); a merely dark one (hair, a blurred head) may go on in
            shades the test cannot tell from a shadow.
    """

    keep: np.ndarray | None = None
    cover: float = 0.0
    kinds: tuple[str, ...] = ()
    reliable: bool = True

    def describe(self) -> str:
        """What was found, for a reject's detail: ``"2 objects (dark, colour)"``."""
        n = len(self.kinds)
        return f"{n} object{'s' if n > 1 else ''} ({', '.join(self.kinds)})"


def _poly(mask: np.ndarray, pts: np.ndarray, shrink: float = 0.0) -> None:
    """Fill the convex hull of ``pts`` (crop pixels) into ``mask``, shrunk towards its centroid by
    ``shrink`` (a fraction)."""
    p = np.asarray(pts, np.float64)
    p = p + (p.mean(0) - p) * shrink
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(p).astype(np.int32)), 1)


def _box(lm: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) image pixels searched: the lower face's box widened by
    :data:`BOX_MARGIN` jaw widths, clipped to the image."""
    pts = np.vstack([lm[0:17], lm[27:28]])
    m = BOX_MARGIN * float(np.hypot(*(lm[16] - lm[0])))
    x0, y0 = np.floor(pts.min(0) - m).astype(int)
    x1, y1 = np.ceil(pts.max(0) + m).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def _regions(lm: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face, skin, own) uint8 maps of a crop of ``size`` (h, w), ``lm`` in crop pixels: the lower
    face (hull of 0-16 and 27), the reference skin (cheeks under the eyes, the nose), the face's
    own parts left out (mouth, nostrils, eyes)."""
    width = float(np.hypot(*(lm[16] - lm[0])))
    face, own = np.zeros(size, np.uint8), np.zeros(size, np.uint8)
    skin = np.zeros(size, np.uint8)
    _poly(face, np.vstack([lm[0:17], lm[27:28]]))
    for label, idx, shrink in ((1, [1, 2, 3, 31, 39, 40, 41], 0.35),
                               (2, [15, 14, 13, 35, 42, 47, 46], 0.35), (3, [27, 31, 33, 35], 0.3)):  # fmt: skip
        part = np.zeros(size, np.uint8)
        _poly(part, lm[idx], shrink)
        skin[part.astype(bool)] = label
    for lo, hi in ((48, 60), (36, 42), (42, 48), (31, 36)):
        _poly(own, lm[lo:hi])
    r = max(int(round(MOUTH_MARGIN * width)), 1)
    wide = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return face, skin, np.asarray(wide, np.uint8)


def _mirror(lm: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y) float32 maps of a crop of ``size`` (h, w) to each pixel's reflection across
    the face's midline (the line fitted through the nose, lips and chin points, crop pixels)."""
    mid = lm[[27, 28, 29, 30, 33, 51, 57, 8]]
    centre = mid.mean(0)
    _, _, vt = np.linalg.svd(mid - centre)
    d = vt[0]
    n = np.array([-d[1], d[0]])
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float32)
    off = (xs - centre[0]) * n[0] + (ys - centre[1]) * n[1]
    return (xs - 2 * off * n[0]).astype(np.float32), (ys - 2 * off * n[1]).astype(np.float32)


@dataclass
class _Maps:
    """Per-pixel test of a crop around the lower face (crop pixels, (h, w) maps).

    ``kind``: 0 skin or the face's own part, 1 dark, 2 black, 3 foreign colour (strict limits);
    ``loose``: foreign at the loose limits (:data:`GROW_DARK`, :data:`GROW_COLOUR`) outside the face's
    own parts, or at the strict ones inside them: where a found object may extend;
    ``face``: the lower face (uint8); ``lm``: the landmarks; ``origin``: the crop's (x0, y0);
    ``shade``: dark pixels of any hue (lightness under :data:`DARK_RATIO`) outside the face's own
    parts, where thin lines are looked for (:func:`_lines`)."""

    kind: np.ndarray
    loose: np.ndarray
    face: np.ndarray
    lm: np.ndarray
    origin: tuple[int, int]
    shade: np.ndarray


def foreign_pixels(image: np.ndarray, landmarks68: np.ndarray) -> _Maps:
    """The per-pixel test (module doc) of the crop around the lower face of the face with
    ``landmarks68`` in ``image``."""
    lm = np.asarray(landmarks68, np.float64)
    x0, y0, x1, y1 = _box(lm, image.shape)
    crop = image[y0:y1, x0:x1]
    local = lm - (x0, y0)
    face, skin, own = _regions(local, crop.shape[:2])
    kind = np.zeros(crop.shape[:2], np.uint8)
    maps = _Maps(kind, np.zeros(kind.shape, bool), face, local, (int(x0), int(y0)),
                 np.zeros(kind.shape, bool))  # fmt: skip
    if min((skin == k).sum() for k in (1, 2, 3)) < 5:
        return maps
    lab = cv2.cvtColor(
        cv2.GaussianBlur(crop, (3, 3), 0).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab
    )
    # a patch far darker than the brightest is under an object (a microphone over the nose)
    light = {k: float(np.median(lab[skin == k, 0])) for k in (1, 2, 3)}
    patches = [k for k in light if light[k] >= PATCH_RATIO * max(light.values())]
    med = np.median(lab[np.isin(skin, patches)], 0)
    # the darker cheek (or the nose) sets the dark limit: a face lit from one side stays skin
    darkest = min(light[k] for k in patches)
    cs = max(float(np.hypot(med[1], med[2])), CHROMA_FLOOR)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    dist = np.hypot(lab[..., 1] - med[1], lab[..., 2] - med[2]) / cs
    cosine = (lab[..., 1] * med[1] + lab[..., 2] * med[2]) / np.maximum(chroma * cs, 1e-6)
    hue_off = (chroma > CHROMA_MIN) & ((chroma > cs) | (cosine < 0.0))
    ratio = lab[..., 0] / max(darkest, 1.0)
    neutral = chroma < DARK_CHROMA * cs
    kind[(ratio < DARK_RATIO) & neutral] = 1
    kind[(ratio < BLACK_RATIO) & neutral] = 2
    kind[(dist > COLOUR_DIST) & hue_off] = 3
    mine = own.astype(bool)
    loose = ((ratio < GROW_DARK) & neutral) | ((dist > GROW_COLOUR) & hue_off)
    maps.loose = np.where(mine, kind > 0, loose)
    maps.shade = (ratio < DARK_RATIO) & ~mine
    kind[mine] = 0
    return maps


@dataclass
class _Component:
    """One connected component of strict foreign pixels: ``px`` its (h, w) bool pixels, ``name``
    ``dark`` or ``colour``, ``cover`` the share of the lower face under it, ``outside`` the share of
    its pixels outside the lower face, ``depth`` the share it covers of the lower face's part at
    least :data:`DEPTH` jaw widths inside, ``symmetric`` the share of its dark pixels in the face
    mirrored by dark ones across the midline, ``black`` the share of them that are black,
    ``round`` its area over that of its smallest enclosing circle, ``jaw`` whether it touches the
    jaw line (landmarks 2-14)."""

    px: np.ndarray
    name: str
    cover: float
    outside: float
    depth: float
    symmetric: float
    black: float
    round: float = 0.0
    jaw: bool = False

    def is_object(self) -> bool:
        """In front of the face: large and deep enough, entering from outside, and not a
        symmetric dark part of the face (a beard) unless black (a microphone); or a round dark
        blob inside the face at its jaw line (a microphone's head)."""
        if self.is_round_at_jaw():
            return True
        black = self.black >= BLACK_SHARE
        shape = (
            self.depth >= MIN_COVER or (black and self.cover >= MIN_COVER)
        ) and self.outside >= OUTSIDE_MIN
        own = self.name == "dark" and self.symmetric > SYMMETRIC_MAX and self.black < BLACK_SHARE
        return shape and not own

    def is_round_at_jaw(self) -> bool:
        """A dark blob wholly inside the lower face that touches its jaw line, round
        (:data:`ROUND_MIN`), asymmetric and over :data:`ROUND_COVER` of it: the head of a
        microphone held at the jaw, whose thin handle the test does not see."""
        return (
            self.name == "dark" and self.jaw and self.outside < OUTSIDE_MIN
            and self.round >= ROUND_MIN and self.cover >= ROUND_COVER
            and self.symmetric <= SYMMETRIC_MAX
        )  # fmt: skip


def _shape(px: np.ndarray, jaw: np.ndarray) -> tuple[float, bool]:
    """(roundness, touches) of the component ``px``: its area over that of its smallest
    enclosing circle, and whether it meets the ``jaw`` line's pixels."""
    contours, _ = cv2.findContours(px.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    _, radius = cv2.minEnclosingCircle(np.vstack(contours))
    return float(px.sum()) / max(float(np.pi * radius * radius), 1.0), bool((px & jaw).any())


def _components(maps: _Maps) -> list[_Component]:
    """The components of strict foreign pixels of ``maps`` (:class:`_Component`)."""
    lm, face, kind = maps.lm, maps.face, maps.kind
    width = max(float(np.hypot(*(lm[16] - lm[0]))), 1.0)
    deep = cv2.distanceTransform(face, cv2.DIST_L2, 3) >= DEPTH * width
    fb = face.astype(bool)
    n_face = max(int(fb.sum()), 1)
    mx, my = _mirror(lm, kind.shape)
    dark = ((kind == 1) | (kind == 2)).astype(np.uint8)
    mirrored = cv2.remap(dark, mx, my, cv2.INTER_NEAREST, borderValue=0).astype(bool)
    jaw = np.zeros(kind.shape, np.uint8)
    cv2.polylines(jaw, [np.round(lm[2:15]).astype(np.int32)], False, 1, 1)
    out = []
    for ks, name in (((1, 2), "dark"), ((3,), "colour")):
        m = cv2.morphologyEx(
            np.isin(kind, ks).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
        )
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] < min(MIN_COVER, ROUND_COVER) * n_face:
                continue
            px = labels == i
            inner = px & fb
            n_in = max(float(inner.sum()), 1.0)
            out.append(_Component(
                px, name, float(inner.sum()) / n_face, float((px & ~fb).sum()) / float(px.sum()),
                float((px & deep).sum()) / max(int(deep.sum()), 1), float((inner & mirrored).sum()) / n_in,
                float((inner & (kind == 2)).sum()) / n_in, *_shape(px, jaw.astype(bool)),
            ))  # fmt: skip
    return out


def _lines(maps: _Maps) -> list[np.ndarray]:
    """Thin dark lines entering the lower face from outside (a tube, a cable, a microphone's
    stem), as (h, w) bool pixels of their connected ``shade`` components: reaching
    :data:`LINE_REACH` inside, no thicker than :data:`LINE_THICK` from :data:`DEPTH` inside, and
    not mirrored across the midline there (:data:`SYMMETRIC_MAX`). Dark of any hue: a tube
    reflects the skin's colour."""
    lm, face = maps.lm, maps.face
    width = max(float(np.hypot(*(lm[16] - lm[0]))), 1.0)
    inside = cv2.distanceTransform(face, cv2.DIST_L2, 3) / width
    reach = (inside >= LINE_REACH) & maps.shade
    if not reach.any():
        return []
    shade = maps.shade.astype(np.uint8)
    _, labels = cv2.connectedComponents(shade, connectivity=8)
    found = []
    for i in np.unique(labels[reach]):
        px = labels == i
        deep = px & (inside >= DEPTH)
        ys, xs = np.nonzero(deep)
        if len(xs) < 3 or (px & ~face.astype(bool)).sum() < OUTSIDE_MIN * px.sum():
            continue
        _, sides, _ = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        if len(xs) / (max(sides) + 1.0) / width > LINE_THICK:
            continue
        mirrored = cv2.remap(shade, *_mirror(lm, shade.shape), cv2.INTER_NEAREST, borderValue=0)
        if (deep & mirrored.astype(bool)).sum() <= SYMMETRIC_MAX * len(xs):
            found.append(px)
    return found


def find_objects(image: np.ndarray, landmarks68: np.ndarray) -> Objects:
    """The objects in front of the lower face of the face with ``landmarks68`` in ``image``
    (module doc): the components that :meth:`_Component.is_object` and the thin lines
    (:func:`_lines`), grown into the connected pixels of ``loose`` (an object's blurred edge, its
    part over the mouth) and by one pixel. A face wider than :data:`MAX_JAW` is tested on its
    crop scaled down to that width (area interpolation), and the pixels found are scaled back
    (nearest) to ``image``'s."""
    lm = np.asarray(landmarks68, np.float64)
    width = float(np.hypot(*(lm[16] - lm[0])))
    if width <= MAX_JAW:
        return _find(image, lm)
    x0, y0, x1, y1 = _box(lm, image.shape)
    scale = MAX_JAW / width
    size = (max(int(round((x1 - x0) * scale)), 1), max(int(round((y1 - y0) * scale)), 1))
    small = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    found = _find(small, (lm - (x0, y0)) * (np.array(size) / (x1 - x0, y1 - y0)))
    if found.keep is None:
        return found
    keep = np.zeros(image.shape[:2], bool)
    back = cv2.resize(found.keep.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    keep[y0:y1, x0:x1] = back.astype(bool)
    return replace(found, keep=keep)


def _find(image: np.ndarray, lm: np.ndarray) -> Objects:
    """:func:`find_objects` at the image's own scale."""
    maps = foreign_pixels(image, lm)
    found = [c for c in _components(maps) if c.is_object()]
    lines = _lines(maps)
    if not found and not lines:
        return Objects()
    seeds = np.zeros(maps.kind.shape, bool)
    for px in [c.px for c in found] + lines:
        seeds |= px
    n, labels = cv2.connectedComponents((maps.loose | seeds).astype(np.uint8), connectivity=8)
    hit = np.unique(labels[seeds])
    grown = np.isin(labels, hit[hit > 0])
    grown = cv2.dilate(grown.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    fb = maps.face.astype(bool)
    cover = float((grown & fb).sum()) / max(float(fb.sum()), 1.0)
    keep = np.zeros(image.shape[:2], bool)
    x0, y0 = maps.origin
    keep[y0 : y0 + grown.shape[0], x0 : x0 + grown.shape[1]] = grown
    reliable = not lines and all(c.name == "colour" or c.black >= BLACK_SHARE for c in found)
    kinds = tuple(c.name for c in found) + ("line",) * len(lines)
    return Objects(keep=keep, cover=cover, kinds=kinds, reliable=reliable)


def objects_key() -> str:
    """The per-pixel test's part of the occluder cache key: its version and limits."""
    consts = (COLOUR_DIST, CHROMA_MIN, CHROMA_FLOOR, DEPTH, BLACK_RATIO, BLACK_SHARE, SYMMETRIC_MAX,
              DARK_RATIO, DARK_CHROMA, GROW_DARK, GROW_COLOUR, OUTSIDE_MIN, MIN_COVER, PATCH_RATIO, BOX_MARGIN,
              MOUTH_MARGIN, ROUND_MIN, ROUND_COVER, LINE_REACH, LINE_THICK, MAX_JAW)  # fmt: skip
    return f"objects{VERSION}:{consts}"
