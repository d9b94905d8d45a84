"""Something in front of the lower face stays in front: hands and other objects found before a
mask is drawn.

A mask is drawn on the face's skin; a hand on the chin, or raised in front of the mouth, is in
front of that skin, so a mask painted over it is wrong (and teaches a recogniser a shortcut).
Per-pixel skin or shading tests cannot tell a hand from a face (both are skin), so hands are found
by a model: MediaPipe's palm detector on a square region around the lower face, then its hand
landmark model on each palm (:class:`maskforge.detect.hands.HandDetector`).

Hands are searched in a square around the lower face (:data:`REGION_SCALES`), and again in a
smaller one (:data:`REFINE_SCALES`) around the faces where a hand was found (hands come in pairs:
lfw-dev ``John_Paul_II_0004``'s left hand, flat on the far cheek, shows only there; searching it
around every face would double the cost, the palm detector being most of it); a palm counts as a hand
only when the landmark model confirms it (presence >= 0.5): on lfw-dev most palms the detector
reports without that confirmation are faces, hair or collars (docs/occluders.md).

What happens to a face, by ``mode`` (``occlude.in_front`` in recipes, ``--in-front`` for
``maskforge overlay``):

- ``keep`` (the default): the mask is composited *behind* every confirmed hand: the pixels of its
  outline (:func:`hand_outline`: the convex hull of its 21 points, widened by a fraction of the
  hand's size to cover the fingers' width) keep their colour. A hand that hides more than
  :data:`MAX_COVER` of the lower face leaves too little mask to see: the face is rejected
  (``occluded_lower_face``).
- ``skip``: a hand over more than :data:`MIN_OVERLAP` of the lower face rejects the face.
- ``off``: no check (no model is loaded).

Objects that are not hands (a microphone, a ball, dark hair over the jaw) are found by a per-pixel
test against the face's own skin (:mod:`maskforge.occlude.front_objects`) and decided by
:func:`decide` with the hands: ``keep`` draws the mask behind a coloured or black object and
rejects a face with a merely dark one (its outline is not reliable); ``skip`` rejects any.

The hand models run on the CPU, through LiteRT where ``ai-edge-litert`` is installed (~2x
cheaper than torch, docs/occluders.md), else torch: ``runtime`` (a recipe's ``detect.runtime``, ``--runtime`` for
``maskforge overlay``) picks, resolved by :func:`maskforge.detect.tflite_runtime.resolve_runtime`;
the resolved runtime is part of the occluder key (:func:`front_key`).

Frames: images (H, W, 3) uint8 RGB, landmarks (68, 2) float in that image's pixels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ..vocab import IN_FRONT
from .front_objects import Objects, find_objects, objects_key

#: Sides of the squares searched for palms, in jaw widths (landmark 0 to 16), centred half-way
#: between the lower lip and the chin (one palm-detector crop per face each).
REGION_SCALES: tuple[float, ...] = (3.0,)
#: Squares searched again, only around faces where a hand was confirmed (hands come in pairs: a
#: hand flat on the far cheek shows in a smaller square only).
REFINE_SCALES: tuple[float, ...] = (2.0,)
#: Widening of a hand's hull, in wrist-to-middle-finger-base lengths (covers the fingers' width).
OUTLINE_MARGIN = 0.3
#: Share of the lower face a hand must cover to count as in front of it (``skip``).
MIN_OVERLAP = 0.02
#: Share of the lower face hidden by hands above which ``keep`` rejects the face.
MAX_COVER = 0.7
#: Palms of one face found in more than one square are the same palm from this IoU on (kept once).
SAME_PALM_IOU = 0.3


@dataclass
class Front:
    """What is in front of one face's lower half.

    Attributes:
        keep: (H, W) bool pixels in front of the face that keep their colour, or None.
        reject: None, or the detail of an ``occluded_lower_face`` reject.
        hands: confirmed hands found around the face.
        objects: kinds of the other objects found in front of it
            (:mod:`maskforge.occlude.front_objects`).
    """

    keep: np.ndarray | None = None
    reject: str | None = None
    hands: int = 0
    objects: tuple[str, ...] = ()


def search_regions(
    landmarks68: np.ndarray, scales: Sequence[float] = REGION_SCALES
) -> list[tuple[np.ndarray, float]]:
    """``[(centre (2,), side)]`` in source pixels: the squares searched for palms (sides ``scales``
    jaw widths)."""
    lm = np.asarray(landmarks68, np.float64)
    width = float(np.hypot(*(lm[16] - lm[0])))
    centre = (lm[57] + lm[8]) / 2.0
    return [(centre, max(k * width, 8.0)) for k in scales]


def lower_face(landmarks68: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool: the lower face where a mask may be drawn (the hull of the jaw line and the
    nose bridge's top, landmarks 0-16 and 27)."""
    lm = np.asarray(landmarks68, np.float64)
    pts = np.vstack([lm[0:17], lm[27:28]])
    out = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(out, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    return out.astype(bool)


def hand_outline(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool outline of a hand from its 21 points (source pixels): their convex hull,
    widened by :data:`OUTLINE_MARGIN` wrist-to-middle-finger-base lengths."""
    pts = np.asarray(points, np.float64)
    size = float(np.hypot(*(pts[9] - pts[0])))
    out = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(out, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    r = max(int(np.ceil(OUTLINE_MARGIN * size)), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(out, kernel).astype(bool)


def distinct_palms(hands: Sequence[Any]) -> list[Any]:
    """``hands`` without the palms that overlap a preferred one at :data:`SAME_PALM_IOU` (the same
    palm found in two squares); preferred: confirmed by the landmark model, then the better
    score."""
    from ..detect.blazeface import iou

    kept: list[Any] = []
    for hand in sorted(hands, key=lambda h: (h.points is None, -h.score)):
        if not kept or iou(hand.box, np.stack([k.box for k in kept])).max() < SAME_PALM_IOU:
            kept.append(hand)
    return kept


def decide(
    hands: Sequence[Any],
    landmarks68: np.ndarray,
    shape: tuple[int, ...],
    mode: str,
    objects: Objects | None = None,
) -> Front:
    """The :class:`Front` of one face from the hands found around it (``Hand`` objects of
    :mod:`maskforge.detect.hands`, source pixels; only those with points count) and the other
    ``objects`` the per-pixel test found in front of it (:func:`find_objects`)."""
    confirmed = [h for h in hands if h.points is not None]
    objects = objects if objects is not None and objects.keep is not None else None
    if not confirmed and objects is None:
        return Front()
    face = lower_face(landmarks68, shape)
    n_face = max(int(face.sum()), 1)
    keep = np.zeros(shape[:2], bool)
    for hand in confirmed:
        keep |= hand_outline(hand.points, shape)
    cover = int((keep & face).sum()) / n_face
    found = Front(hands=len(confirmed), objects=objects.kinds if objects is not None else ())
    if confirmed and cover >= (MIN_OVERLAP if mode == "skip" else MAX_COVER):
        best = max(h.presence for h in confirmed)
        return replace(found, reject=f"{len(confirmed)} hand(s) in front of {cover:.0%} of the "
                       f"lower face (presence {best:.2f})")  # fmt: skip
    if objects is not None:
        what = f"{objects.describe()} in front of {objects.cover:.0%} of the lower face"
        if mode == "skip" and objects.cover >= MIN_OVERLAP:
            return replace(found, reject=what)
        if not objects.reliable:
            return replace(found, reject=f"{what}, its outline not found reliably")
        keep |= objects.keep
        cover = int((keep & face).sum()) / n_face
        if cover >= MAX_COVER:
            return replace(found, reject=f"{what}: {cover:.0%} of it hidden, hands included")
    return replace(found, keep=keep)


@lru_cache(maxsize=2)
def hand_detector(palm: str, device: str, runtime: str = "auto") -> Any:
    """The hand models, built once per process (torch: ~2 s, conversion cache read, trace,
    freeze; LiteRT: milliseconds)."""
    from ..detect.hands import HandDetector

    return HandDetector(palm, device=device, runtime=runtime)


class FrontGuard:
    """Finds what is in front of faces' lower halves (see the module doc); the hand models load
    on first use, once per process.

    Args:
        mode: ``keep``, ``skip`` or ``off``.
        device: torch device of the hand models (``cpu`` by default: they run on small batches
            next to the CPU-bound renderer).
        palm: the palm detector, ``full`` (the default, the one the cache key names) or ``lite``
            (for comparisons: benchmarks/bench_in_front.py).
        runtime: ``auto``, ``torch`` or ``litert`` (see the module doc).
    """

    def __init__(
        self, mode: str = "keep", device: str = "cpu", palm: str = "full", runtime: str = "auto"
    ) -> None:
        if mode not in IN_FRONT:
            raise ValueError(f"in_front must be one of {', '.join(IN_FRONT)}, not {mode!r}")
        self.mode, self.device, self.palm, self.runtime = mode, device, palm, runtime
        self._hands: Any = None

    @property
    def hands(self) -> Any:  # maskforge.detect.hands.HandDetector
        if self._hands is None:
            self._hands = hand_detector(self.palm, self.device, self.runtime)
        return self._hands

    def find(
        self, images: Sequence[np.ndarray], landmarks: Sequence[np.ndarray]
    ) -> list[list[Any]]:
        """The distinct palms around the face with ``landmarks[i]`` in ``images[i]``, with their
        points where the landmark model confirms them (``Hand`` objects, one batch): the
        :data:`REGION_SCALES` squares around every face, then the :data:`REFINE_SCALES` squares
        around the faces where a hand was confirmed."""
        palms = self._search(images, landmarks, REGION_SCALES, [[] for _ in images])
        again = [i for i, hands in enumerate(palms) if any(h.points is not None for h in hands)]
        if again and REFINE_SCALES:
            more = self._search(
                [images[i] for i in again], [landmarks[i] for i in again], REFINE_SCALES,
                [palms[i] for i in again],
            )  # fmt: skip
            for i, hands in zip(again, more, strict=True):
                palms[i] = hands
        return palms

    def _search(
        self,
        images: Sequence[np.ndarray],
        landmarks: Sequence[np.ndarray],
        scales: Sequence[float],
        known: Sequence[list[Any]],
    ) -> list[list[Any]]:
        """``known[i]`` (palms already looked at) merged with the palms of the ``scales`` squares
        around face ``i``; the landmark model runs on the new ones only."""
        per_face = [search_regions(lm, scales) for lm in landmarks]
        regions = [r for regs in per_face for r in regs]
        crops = [im for im, regs in zip(images, per_face, strict=True) for _ in regs]
        found = self.hands.palms(crops, regions)
        merged, at = [], 0
        for regs, old in zip(per_face, known, strict=True):
            merged.append(
                distinct_palms(list(old) + [h for f in found[at : at + len(regs)] for h in f])
            )
            at += len(regs)
        seen = {id(h) for hands in known for h in hands}
        flat = [
            (im, h) for im, hs in zip(images, merged, strict=True) for h in hs if id(h) not in seen
        ]
        if flat:
            self.hands.landmarks([im for im, _ in flat], [h for _, h in flat])
        return merged

    def __call__(
        self, images: Sequence[np.ndarray], landmarks: Sequence[np.ndarray]
    ) -> list[Front]:
        """The :class:`Front` of the face with ``landmarks[i]`` in ``images[i]`` (one batch)."""
        if self.mode == "off" or not images:
            return [Front() for _ in images]
        found = self.find(images, landmarks)
        return [
            decide(h, lm, im.shape, self.mode, find_objects(im, lm))
            for h, lm, im in zip(found, landmarks, images, strict=True)
        ]


def front_key(mode: str, runtime: str = "auto") -> str:
    """The in-front part of the occluder cache key: the mode, and for ``keep``/``skip`` the
    SHA-256 of the hand models it runs, the per-pixel test's version and limits
    (:func:`~maskforge.occlude.front_objects.objects_key`) and what runs the models, ``runtime``
    resolved for the CPU (torch and LiteRT differ by ~1e-4, which may move a hand's outline by a
    pixel)."""
    if mode == "off":
        return "off"
    from ..detect.hands import PALM_THRESHOLD, PRESENCE_THRESHOLD
    from ..detect.tflite_runtime import resolve_runtime
    from ..models import mediapipe_model_path, sha256_file

    shas = [sha256_file(mediapipe_model_path(k)) for k in ("palm-full", "hand-landmark-lite")]
    digest = hashlib.sha256("\n".join(shas).encode()).hexdigest()[:16]
    consts = (REGION_SCALES, REFINE_SCALES, OUTLINE_MARGIN, MIN_OVERLAP, MAX_COVER, SAME_PALM_IOU, PALM_THRESHOLD,
              PRESENCE_THRESHOLD)  # fmt: skip
    return f"{mode}:{digest}:{consts}:{objects_key()}:{resolve_runtime(runtime, 'cpu')}"
