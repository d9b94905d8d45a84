"""``DetectConfig``: the settings of the detect stage (the recipe's ``[detect]`` table, 1:1)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator

from ..config import Device, Table
from ..device import resolve_device
from ..onnxrt import absolute_name, is_onnx
from ..vocab import RuntimeName
from .align import TemplateName
from .aligned import AlignedName
from .factory import detector_identity
from .selection import Policy
from .tflite_runtime import resolve_runtime

#: The built-in face detector names (:data:`DETECTORS` is derived from it).
DetectorName = Literal["dlib-hog", "mtcnn", "dlib-cnn", "blazeface", "blazeface-full"]
DETECTORS: tuple[DetectorName, ...] = get_args(DetectorName)
#: A detector name: a built-in one, or ``onnx:PATH`` (your own SCRFD / RetinaFace-style model).
DETECTOR_PATTERN = "^(" + "|".join(re.escape(d) for d in DETECTORS) + "|onnx:.+)$"
#: Settings that only ONNX detectors read (left out of other detectors' cache keys).
ONNX_ONLY = ("input_size", "det_threshold", "nms_iou")
#: The landmark sources (:data:`LANDMARKS` is derived from it).
LandmarksName = Literal["dlib68", "mesh"]
LANDMARKS: tuple[LandmarksName, ...] = get_args(LandmarksName)
_Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class DetectConfig(Table):
    """Detection, face selection, alignment, landmarks and pose (see docs/detection.md).

    The settings of :class:`maskforge.detect.DetectStage`: a frozen model; a bad value raises
    :class:`~maskforge.errors.RecipeError` naming the key (``detect.size``)."""

    table_name = "detect"

    detector: str = Field(
        "dlib-hog",
        pattern=DETECTOR_PATTERN,
        json_schema_extra={
            "must": f"be {', '.join(DETECTORS)} or onnx:PATH",
            "values": " \\| ".join(f"`{d}`" for d in (*DETECTORS, "onnx:PATH")),
        },
        description="face detector: `dlib-hog` (CPU default), `mtcnn`, `dlib-cnn`, `blazeface` "
        "(MediaPipe short range, then full range where it finds nothing; Apache-2.0), "
        "`blazeface-full` (MediaPipe full range alone), or `onnx:PATH`, your own SCRFD / "
        "RetinaFace-style ONNX file (docs/detection.md)",
    )
    landmarks: LandmarksName = Field(
        "dlib68",
        description="`dlib68`: dlib's 68 points (iBUG 300-W: non-commercial); `mesh`: MediaPipe "
        "Face Mesh's 468 points (Apache-2.0), the 68 and the 5 derived from them, pose from its 3D",
    )
    aligned: AlignedName = Field(
        "auto",
        description="input faces already aligned: `arcface-112` (insightface's 112x112 crops: no "
        "detection, the template's 5 points, 68 points predicted), `none` (detect), `auto` "
        "(`arcface-112` for RecordIO input, else `none`)",
    )
    upsample: int = Field(0, ge=0, le=4, description="dlib upsampling for the first search")
    upsample_fallback: int | None = Field(
        1,
        ge=0,
        le=4,
        description="dlib upsampling for images with no face at `upsample`; absent (or a value "
        "<= `upsample`) disables the fallback",
    )
    select: Policy = Field("center-weighted", description="which face when there are several")
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
    device: Device = Field(
        "auto", description="MTCNN, BlazeFace, the mesh and ONNX detectors: `auto`, `cpu`, `cuda` or `cuda:N`"
    )
    runtime: RuntimeName = Field(
        "auto",
        description="what runs BlazeFace, the mesh and the occluders' hand check: `auto` (LiteRT "
        "when the device is the CPU and ai-edge-litert is installed, else torch), `torch` (CPU or "
        "CUDA) or `litert` (CPU only, faster there: docs/detection.md)",
    )
    thresholds: tuple[_Unit, _Unit, _Unit] = Field(
        (0.6, 0.7, 0.7),
        strict=False,
        json_schema_extra={"must": "be 3 numbers in 0..1", "values": "3 numbers in [0, 1]"},
        description="MTCNN P-, R-, O-net thresholds",
    )
    batch_size: int = Field(
        32, gt=0, description="MTCNN / BlazeFace images (and mesh faces) per forward pass"
    )
    input_size: int = Field(
        640,
        ge=32,
        le=4096,
        multiple_of=32,
        description="ONNX detectors with a free input size: side of the square network input "
        "the image is letterboxed into",
    )
    det_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="ONNX detectors: smallest anchor score kept"
    )
    nms_iou: float = Field(
        0.4, ge=0.0, le=1.0, description="ONNX detectors: IoU above which the weaker box is dropped"
    )

    @field_validator("detector")
    @classmethod
    def _absolute_onnx(cls, v: str) -> str:
        """``onnx:PATH`` relative to the current folder becomes absolute when the recipe is read."""
        return absolute_name(v)

    @property
    def uses_mediapipe(self) -> bool:
        """Whether a MediaPipe model runs (BlazeFace or the mesh): only then ``runtime`` matters."""
        return self.detector.startswith("blazeface") or self.landmarks == "mesh"

    def resolved_runtime(self) -> str | None:
        """``torch`` or ``litert``: what runs the MediaPipe models in this process
        (:func:`~.tflite_runtime.resolve_runtime` of ``runtime`` and ``device``); None when none
        runs."""
        if not self.uses_mediapipe:
            return None
        return resolve_runtime(self.runtime, resolve_device(self.device))

    def key_config(self) -> dict[str, Any]:
        """The settings as a stage cache key needs them: ``runtime`` resolved
        (:meth:`resolved_runtime`; left out when no MediaPipe model runs), the ONNX-only keys
        (:data:`ONNX_ONLY`) only for an ONNX detector, whose ``detector`` becomes
        ``{"name": "onnx", "sha256": ...}`` (the weights' content, not their path).
        ModelFileMissingError for a missing ONNX file."""
        data = self.to_dict()
        runtime = self.resolved_runtime()
        if runtime is None:
            data.pop("runtime")
        else:
            data["runtime"] = runtime
        if not is_onnx(self.detector):
            return {k: v for k, v in data.items() if k not in ONNX_ONLY}
        ident = detector_identity(self.detector)
        data["detector"] = {"name": ident["name"], "sha256": ident["sha256"]}
        return data

    def model_record(self) -> dict[str, Any]:
        """What the manifest records of the detector (``models.detect``): the settings, and for
        an ONNX detector its ``weights`` path and their ``sha256``."""
        data = self.to_dict()
        if is_onnx(self.detector):
            ident = detector_identity(self.detector)
            data.update(weights=ident["weights"], sha256=ident["sha256"])
        return data

    def models_used(self) -> list[str]:
        """The models this configuration runs, by :data:`maskforge.models.MODEL_LICENCES` name.
        The dlib detectors always run the 68-point model (their 5 points come from it)."""
        used: list[str] = [self.detector]
        if self.landmarks == "mesh":
            used.append("mesh")
        if self.landmarks == "dlib68" or self.detector.startswith("dlib-"):
            used.append("dlib-68")
        return used

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectConfig:
        """Build from a plain dict (the recipe ``[detect]`` table)."""
        return cls.parse(data)
