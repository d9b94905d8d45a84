"""``DetectConfig``: the settings of the detect stage (the recipe's ``[detect]`` table, 1:1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RecipeError
from .align import TEMPLATES
from .selection import POLICIES

DETECTORS = ("dlib-hog", "mtcnn", "dlib-cnn")


@dataclass(frozen=True)
class DetectConfig:
    """Settings of :class:`maskforge.detect.DetectStage`.

    Attributes:
        detector: ``dlib-hog`` (CPU default), ``mtcnn`` or ``dlib-cnn``.
        upsample: dlib upsampling for the first search (dlib detectors).
        upsample_fallback: dlib upsampling for images with no face at ``upsample``; ``None`` (or a
            value <= ``upsample``) disables the fallback.
        select: face selection policy: ``center-weighted``, ``center``, ``largest``, ``best``.
        size: output side in pixels (112: ArcFace template; 160: FaceNet-style crop).
        margin: extra border, fraction of the face region per side (>= 0).
        align: ``True``: similarity-align to the template; ``False``: square box + margin crop.
        template: ``auto`` (facenet for size 160, else arcface), ``arcface`` or ``facenet``.
        min_face_size: smallest face in source pixels: MTCNN's search minimum and the selection
            filter (smaller side of the box) for every detector.
        max_outside: largest accepted fraction of the output that lies outside the source image
            (a face cut by the border); above it the image is rejected as ``face_cut``; 1.0
            accepts everything (the outside is black).
        min_score: smallest accepted detector score (scale per detector, see ``Face.score``);
            ``None``: accept what the detector returns.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (MTCNN only).
        thresholds: MTCNN P-, R-, O-net thresholds.
        batch_size: MTCNN images per forward pass.
    """

    detector: str = "dlib-hog"
    upsample: int = 0
    upsample_fallback: int | None = 1
    select: str = "center-weighted"
    size: int = 112
    margin: float = 0.0
    align: bool = True
    template: str = "auto"
    min_face_size: int = 20
    min_score: float | None = None
    max_outside: float = 0.3
    device: str = "auto"
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    batch_size: int = 32

    def __post_init__(self) -> None:
        if isinstance(self.thresholds, list):
            object.__setattr__(self, "thresholds", tuple(self.thresholds))
        self.validate()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectConfig:
        """Build from a plain dict (the recipe ``[detect]`` table); raises
        :class:`~maskforge.errors.RecipeError` on unknown keys, wrong types or bad values."""
        if not isinstance(data, Mapping):
            raise RecipeError(f"[detect] must be a table, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise RecipeError(
                f"[detect]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (thresholds as a list), the inverse of :meth:`from_dict`."""
        d = dataclasses.asdict(self)
        d["thresholds"] = list(self.thresholds)
        return d

    def validate(self) -> None:
        """Raise :class:`RecipeError` naming the first bad field."""

        def bad(field: str, why: str) -> RecipeError:
            return RecipeError(f"[detect] {field} = {getattr(self, field)!r}: {why}")

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if self.detector not in DETECTORS:
            raise bad("detector", f"must be one of {', '.join(DETECTORS)}")
        if not is_int(self.upsample) or not 0 <= self.upsample <= 4:
            raise bad("upsample", "must be an integer in 0..4")
        fb = self.upsample_fallback
        if fb is not None and (not is_int(fb) or not 0 <= fb <= 4):
            raise bad("upsample_fallback", "must be an integer in 0..4 (or absent)")
        if self.select not in POLICIES:
            raise bad("select", f"must be one of {', '.join(POLICIES)}")
        if not is_int(self.size) or not 16 <= self.size <= 1024:
            raise bad("size", "must be an integer in 16..1024 (112: ArcFace, 160: FaceNet)")
        if not is_num(self.margin) or not 0.0 <= self.margin <= 2.0:
            raise bad("margin", "must be a number in 0..2 (fraction of the face region)")
        if not isinstance(self.align, bool):
            raise bad("align", "must be true or false")
        if self.template not in TEMPLATES:
            raise bad("template", f"must be one of {', '.join(TEMPLATES)}")
        if not is_int(self.min_face_size) or not 12 <= self.min_face_size <= 4096:
            raise bad("min_face_size", "must be an integer number of pixels in 12..4096")
        if self.min_score is not None and not is_num(self.min_score):
            raise bad("min_score", "must be a number (or absent)")
        if not is_num(self.max_outside) or not 0.0 <= self.max_outside <= 1.0:
            raise bad("max_outside", "must be a number in 0..1")
        dev = self.device
        if not isinstance(dev, str) or not (
            dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())
        ):
            raise bad("device", "must be auto, cpu, cuda or cuda:N")
        th = self.thresholds
        if (
            not isinstance(th, (tuple, list))
            or len(th) != 3
            or not all(is_num(t) and 0.0 <= t <= 1.0 for t in th)
        ):
            raise bad("thresholds", "must be 3 numbers in 0..1")
        if not is_int(self.batch_size) or self.batch_size < 1:
            raise bad("batch_size", "must be a positive integer")
