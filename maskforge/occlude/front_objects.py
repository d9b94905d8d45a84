"""Objects in front of the lower face that are not hands: a per-pixel test against the face's skin.

A microphone, a tennis ball, a headset or dark hair falling over the jaw is in front of the skin a
mask is drawn on. Unlike a hand (:mod:`maskforge.occlude.front`), such an object does not look like
skin, so a per-pixel test finds it: each pixel of a crop around the lower face against the *same
face's* visible skin, of a foreign colour, dark or black, the face's own parts (lips, teeth,
nostrils, eyes) left out (:mod:`maskforge.occlude.front_pixels`). A component of such pixels is an
object when it **enters from outside the face** (it goes on beyond the jaw line, as a thing in
front of the face does and a moustache does not) and covers enough of the lower face
(:meth:`_Component.is_object`); a dark one mirrored across the face's midline is the face's own (a
beard) unless it is black (a microphone held at the chin). Two shapes are objects besides: a
**round** dark blob wholly inside the face at its jaw line (a microphone's head,
:meth:`_Component.is_round_at_jaw`) and a **thin line** of dark pixels of any hue entering from
outside and reaching well inside (a tube, a cable: :func:`_lines`). A found object grows into
connected pixels of looser limits (its blurred edge, its part over the mouth). A coloured or black
object's outline is reliable; a merely dark one's (hair, a blurred head) or a line's is not:
:func:`maskforge.occlude.front.decide` rejects the face then. The limits were set on lfw-dev
(docs/occluders.md, "Other objects in front", says on which faces).

Frames: images (H, W, 3) uint8 RGB, landmarks (68, 2) float in that image's pixels; every mask
returned is (H, W) bool in the image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .front_pixels import (
    BLACK_RATIO,
    BOX_MARGIN,
    CHROMA_FLOOR,
    CHROMA_MIN,
    COLOUR_DIST,
    DARK_CHROMA,
    DARK_RATIO,
    GROW_COLOUR,
    GROW_DARK,
    MOUTH_MARGIN,
    PATCH_RATIO,
    PixelMaps,
    crop_box,
    foreign_pixels,
)

#: Version of the test; part of the occluder cache key (:func:`objects_key`).
VERSION = 4
#: Jaw width (landmark 0 to 16, px) above which the test runs on the crop scaled down to it: the
#: limits were set on faces of 75-163 px (lfw-dev), and the cost of a 450 px face is that of this
#: one (the crop's pixels), not 8x more.
MAX_JAW = 168.0
#: Depth into the lower face (jaw widths) from which a component's pixels count as covering it
#: (a sliver of background where the jaw line overshoots the face does not).
DEPTH = 0.06
#: Share of black pixels from which a dark component in front of the face is an object even where
#: it is symmetric (a microphone held in front of the chin).
BLACK_SHARE = 0.8
#: Share of a dark component's pixels inside the face whose mirror image is dark too, above which
#: it is the face's own (a beard, a moustache, hair on both sides).
SYMMETRIC_MAX = 0.5
#: Share of a component's pixels outside the lower face for it to enter from outside.
OUTSIDE_MIN = 0.05
#: Share of the lower face (its part :data:`DEPTH` inside, or all of it for a black object) an
#: object must cover to count.
MIN_COVER = 0.02
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
#: Largest hole (share of the enclosing object's area) filled as part of the object.
HOLE_MAX = 0.5


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


def _components(maps: PixelMaps) -> list[_Component]:
    """The components of strict foreign pixels of ``maps`` (:class:`_Component`)."""
    lm, face, kind = maps.lm, maps.face, maps.kind
    width = max(float(np.hypot(*(lm[16] - lm[0]))), 1.0)
    deep = maps.depth >= DEPTH * width
    fb = face.astype(bool)
    n_face = max(int(fb.sum()), 1)
    dark = ((kind == 1) | (kind == 2)).astype(np.uint8)
    mirrored = cv2.remap(dark, *maps.mirror, cv2.INTER_NEAREST, borderValue=0).astype(bool)
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


def _lines(maps: PixelMaps) -> list[np.ndarray]:
    """Thin dark lines entering the lower face from outside (a tube, a cable, a microphone's
    stem), as (h, w) bool pixels of their connected ``shade`` components: reaching
    :data:`LINE_REACH` inside, no thicker than :data:`LINE_THICK` from :data:`DEPTH` inside, and
    not mirrored across the midline there (:data:`SYMMETRIC_MAX`). Dark of any hue: a tube
    reflects the skin's colour."""
    lm, face = maps.lm, maps.face
    width = max(float(np.hypot(*(lm[16] - lm[0]))), 1.0)
    inside = maps.depth / width
    reach = (inside >= LINE_REACH) & maps.shade
    if not reach.any():
        return []
    shade = maps.shade.astype(np.uint8)
    _, labels = cv2.connectedComponents(shade, connectivity=8)
    mirrored = cv2.remap(shade, *maps.mirror, cv2.INTER_NEAREST, borderValue=0).astype(bool)
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
        if (deep & mirrored).sum() <= SYMMETRIC_MAX * len(xs):
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
    x0, y0, x1, y1 = crop_box(lm, image.shape)
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
    grown = _fill_holes(np.isin(labels, hit[hit > 0]).astype(np.uint8))
    grown = cv2.dilate(grown, np.ones((3, 3), np.uint8)).astype(bool)
    fb = maps.face.astype(bool)
    cover = float((grown & fb).sum()) / max(float(fb.sum()), 1.0)
    keep = np.zeros(image.shape[:2], bool)
    x0, y0 = maps.origin
    keep[y0 : y0 + grown.shape[0], x0 : x0 + grown.shape[1]] = grown
    reliable = not lines and all(c.name == "colour" or c.black >= BLACK_SHARE for c in found)
    kinds = tuple(c.name for c in found) + ("line",) * len(lines)
    return Objects(keep=keep, cover=cover, kinds=kinds, reliable=reliable)


def _fill_holes(px: np.ndarray) -> np.ndarray:
    """``px`` (h, w) uint8 0/1 with each hole that an object's pixels enclose filled when it is
    smaller than :data:`HOLE_MAX` of that object (a ball's highlight, a microphone's bright
    grille: near-white, so neither dark nor of a foreign colour, yet part of the object)."""
    contours, hierarchy = cv2.findContours(px, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return px
    out = px.copy()
    for i, (_, _, _, parent) in enumerate(hierarchy[0]):
        if parent >= 0 and cv2.contourArea(contours[i]) <= HOLE_MAX * cv2.contourArea(contours[parent]):
            cv2.drawContours(out, contours, i, 1, thickness=cv2.FILLED)
    return out


def objects_key() -> str:
    """The per-pixel test's part of the occluder cache key: its version and limits."""
    consts = (COLOUR_DIST, CHROMA_MIN, CHROMA_FLOOR, DEPTH, BLACK_RATIO, BLACK_SHARE, SYMMETRIC_MAX,
              DARK_RATIO, DARK_CHROMA, GROW_DARK, GROW_COLOUR, OUTSIDE_MIN, MIN_COVER, PATCH_RATIO, BOX_MARGIN,
              MOUTH_MARGIN, ROUND_MIN, ROUND_COVER, LINE_REACH, LINE_THICK, MAX_JAW, HOLE_MAX)  # fmt: skip
    return f"objects{VERSION}:{consts}"
