"""``EmbedConfig``: the recipe's ``[embed]`` table (also used, with defaults, when only
``[clean]`` asks for embeddings)."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..config import Device, Table
from ..onnxrt import absolute_name
from .factory import EMBEDDER_MUST, EMBEDDER_PATTERN, EMBEDDERS


class EmbedConfig(Table):
    """Which embedder turns aligned faces into identity vectors, and where it runs."""

    table_name = "embed"

    embedder: str = Field(
        "auto",
        pattern=EMBEDDER_PATTERN,
        json_schema_extra={
            "must": EMBEDDER_MUST,
            "values": " \\| ".join(f"`{e}`" for e in (*EMBEDDERS, "onnx:PATH")),
        },
        description="which embedder (docs/cleaning.md); `auto`: facenet-vggface2 when its weights "
        "are found, else dlib-resnet; `onnx:PATH`: your own ArcFace-style ONNX file",
    )
    weights: str | None = Field(
        None, description="path of the facenet state dict or the dlib `.dat` model file"
    )
    device: Device = Field("auto", description="`auto`, `cpu`, `cuda` or `cuda:N`")
    batch_size: int = Field(64, gt=0, description="faces per forward pass")

    @field_validator("embedder")
    @classmethod
    def _absolute_onnx(cls, v: str) -> str:
        """``onnx:PATH`` relative to the current folder becomes absolute when the recipe is read."""
        return absolute_name(v)
