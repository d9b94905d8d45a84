"""Already-aligned input (``[detect] aligned``): the face geometry without a detector.

insightface's datasets (MS1M-RetinaFace, Glint360K, WebFace42M ...) hold 112x112 crops already
aligned to the ArcFace template, on which a detector has little to find (dlib's HOG misses most
tight crops). For such input the 5 points *are* the template's, scaled to the crop's side; the
68 points come from the landmark model run on the HOG-like box of those 5 points
(:func:`maskforge.detect.landmarks.box_from_landmarks5`), the box the model was trained on.

Layouts (:data:`ALIGNED_LAYOUTS`): ``arcface-112``, square crops aligned to the ArcFace template
(any side; 112 is insightface's). ``none`` detects as usual; ``auto`` is resolved by the run
(``arcface-112`` for RecordIO input, else ``none``) and detects when the stage is used alone.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from .align import TemplateName, template_points
from .faces import DetectReject
from .landmarks import Landmarker68, box_from_landmarks5

#: Values of ``[detect] aligned`` (:data:`ALIGNED_CHOICES` is derived from it).
AlignedName = Literal["auto", "none", "arcface-112"]
ALIGNED_CHOICES: tuple[AlignedName, ...] = get_args(AlignedName)
#: Aligned-input layouts: name -> the alignment template the crops follow.
ALIGNED_LAYOUTS: dict[str, TemplateName] = {"arcface-112": "arcface"}


def resolve_aligned(value: AlignedName, recordio_input: bool) -> AlignedName:
    """``auto`` as the run resolves it: ``arcface-112`` for a RecordIO input, else ``none``;
    other values unchanged."""
    if value != "auto":
        return value
    return "arcface-112" if recordio_input else "none"


def is_aligned(value: str) -> bool:
    """Whether ``[detect] aligned = value`` skips detection."""
    return value in ALIGNED_LAYOUTS


def aligned_geometry(
    image: np.ndarray, layout: str, landmarker: Landmarker68
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | DetectReject:
    """``(box, landmarks5, landmarks68)`` of the face of an aligned crop, in its pixels.

    Args:
        image: ``(S, S, 3)`` uint8 RGB crop aligned by ``layout``'s template.
        layout: a key of :data:`ALIGNED_LAYOUTS`.
        landmarker: the 68-point model.

    Returns:
        float32 ``(4,)`` HOG-like box (xyxy), ``(5, 2)`` template points and ``(68, 2)`` predicted
        points, or a ``not_aligned`` reject for a crop that is not square.
    """
    h, w = image.shape[:2]
    if h != w:
        return DetectReject(
            "not_aligned",
            f"a {w}x{h} image: aligned = {layout!r} expects square crops (insightface's are 112x112)",
        )
    lm5 = template_points(w, 0.0, ALIGNED_LAYOUTS[layout]).astype(np.float32)
    box = box_from_landmarks5(lm5)
    return box, lm5, landmarker(image, box)
