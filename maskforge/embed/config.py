"""``EmbedConfig``: the recipe's ``[embed]`` table (also used, with defaults, when only
``[clean]`` asks for embeddings)."""

from __future__ import annotations

from pydantic import Field

from ..config import Device, Table
from .factory import EmbedderName


class EmbedConfig(Table):
    """Which embedder turns aligned faces into identity vectors, and where it runs."""

    table_name = "embed"

    embedder: EmbedderName = Field(
        "auto",
        description="which embedder (docs/cleaning.md); `auto`: facenet-vggface2 when its weights "
        "are found, else dlib-resnet",
    )
    weights: str | None = Field(
        None, description="path of the facenet state dict or the dlib `.dat` model file"
    )
    device: Device = Field("auto", description="`auto`, `cpu`, `cuda` or `cuda:N`")
    batch_size: int = Field(64, gt=0, description="faces per forward pass")
