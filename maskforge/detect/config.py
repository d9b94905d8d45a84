"""``DetectConfig``: the settings of the detect stage (the recipe's ``[detect]`` table, 1:1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from ..config import Device, Table
from .align import TemplateName
from .selection import Policy

#: The face detector names (:data:`DETECTORS` is derived from it).
DetectorName = Literal["dlib-hog", "mtcnn", "dlib-cnn"]
DETECTORS: tuple[DetectorName, ...] = get_args(DetectorName)
_Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class DetectConfig(Table):
    """Detection, face selection, alignment, landmarks and pose (see docs/detection.md).

    The settings of :class:`maskforge.detect.DetectStage`: a frozen model; a bad value raises
    :class:`~maskforge.errors.RecipeError` naming the key (``detect.size``)."""

    table_name = "detect"

    detector: DetectorName = Field(
        "dlib-hog", description="face detector: `dlib-hog` (CPU default), `mtcnn` or `dlib-cnn`"
    )
    upsample: int = Field(0, ge=0, le=4, description="dlib upsampling for the first search")
    upsample_fallback: int | None = Field(
        1,
        ge=0,
        le=4,
        description="dlib upsampling for images with no face at `upsample`; absent (or a value "
        "<= `upsample`) disables the fallback",
    )
    select: Policy = Field(
        "center-weighted", description="which face when there are several"
    )
    size: int = Field(
        112,
        ge=16,
        le=1024,
        description="output side in pixels (112: ArcFace template; 160: FaceNet-style crop)",
    )
    margin: float = Field(
        0.0, ge=0.0, le=2.0, description="extra border, fraction of the face region per side"
    )
    align: bool = Field(
        True, description="`true`: similarity-align to the template; `false`: square box + margin"
    )
    template: TemplateName = Field(
        "auto", description="`auto` (facenet for size 160, else arcface), `arcface` or `facenet`"
    )
    min_face_size: int = Field(
        20,
        ge=12,
        le=4096,
        description="smallest face in source pixels (MTCNN's search minimum and the selection "
        "filter on the box's smaller side, every detector)",
    )
    min_score: float | None = Field(
        None,
        description="smallest accepted detector score, on the detector's scale (HOG margin, MMOD "
        "confidence, MTCNN probability); absent: accept all",
    )
    max_outside: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="largest fraction of the output outside the source image (else `face_cut`); "
        "1.0 accepts everything",
    )
    device: Device = Field("auto", description="MTCNN only: `auto`, `cpu`, `cuda` or `cuda:N`")
    thresholds: tuple[_Unit, _Unit, _Unit] = Field(
        (0.6, 0.7, 0.7),
        strict=False,
        json_schema_extra={"must": "be 3 numbers in 0..1", "values": "3 numbers in [0, 1]"},
        description="MTCNN P-, R-, O-net thresholds",
    )
    batch_size: int = Field(32, gt=0, description="MTCNN images per forward pass")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectConfig:
        """Build from a plain dict (the recipe ``[detect]`` table)."""
        return cls.parse(data)
