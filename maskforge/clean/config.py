"""Configuration of the cleaning stage (the recipe's ``[clean]`` table, key for key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from ..config import Table
from ..embed.factory import EMBEDDER_MUST, EMBEDDER_PATTERN, EMBEDDERS

#: How a sample's distance to its identity is scored (:data:`METHODS` is derived from it).
Method = Literal["robust", "mean-distance"]
METHODS: tuple[Method, ...] = get_args(Method)
#: What happens to a flagged sample (:data:`ACTIONS` is derived from it).
Action = Literal["remove", "flag"]
ACTIONS: tuple[Action, ...] = get_args(Action)
#: The embedder names a ``[clean]`` table may name (the ``[embed]`` table's choices).
EMBEDDER_NAMES = EMBEDDERS

#: An L2 distance between unit vectors, in (0, 2].
_Distance = Annotated[float, Field(gt=0.0, le=2.0)]


class CleanConfig(Table):
    """How mislabelled images are scored and what happens to flagged ones (see
    docs/cleaning.md); distances are L2 between unit vectors (0..2).

    A frozen model; a bad value raises :class:`~maskforge.errors.RecipeError` naming the key
    (``clean.method``)."""

    table_name = "clean"

    method: Method = Field(
        "robust", description="`robust` (default) or `mean-distance` (the reference rule)"
    )
    threshold: _Distance | None = Field(
        None,
        description="flag a sample whose score exceeds this distance; absent: calibrated for "
        "`method` and the embedder; for `robust` the floor of the per-identity threshold",
    )
    min_images: int = Field(
        3, ge=2, description="identities with fewer usable images are not cleaned"
    )
    action: Action = Field(
        "remove", description="`remove` (recorded in the removed files) or `flag` (kept, marked)"
    )
    embedder: str = Field(
        "dlib-resnet",
        pattern=EMBEDDER_PATTERN,
        json_schema_extra={
            "must": EMBEDDER_MUST,
            "values": "an `[embed] embedder` name",
        },
        description="the embedder that produced the vectors (selects calibrated defaults; an "
        "`onnx:PATH` embedder has none: set the thresholds); the run sets it to the embedder "
        "actually used",
    )
    keep: str | None = Field(
        None, description="path of a keep.csv whitelist (sample paths never flagged)"
    )
    k_mad: float = Field(
        3.0,
        ge=0.0,
        description="robust: per-identity threshold = median + k_mad x 1.4826 x MAD of the "
        "identity's scores, when above `threshold`",
    )
    threshold_cap: _Distance | None = Field(
        None, description="robust: ceiling of the per-identity threshold (absent: calibrated)"
    )
    confusion_threshold: _Distance | None = Field(
        None,
        description="robust: a sample above this (under its threshold) is also flagged when it "
        "lies closer, by `confusion_margin`, to another identity of at least "
        "`confusion_min_images` images than to its own inliers (absent: calibrated; 2 disables)",
    )
    confusion_margin: float | None = Field(
        None, ge=0.0, lt=2.0, description="see `confusion_threshold` (absent: calibrated)"
    )
    confusion_min_images: int = Field(2, ge=1, description="see `confusion_threshold`")
    nearest_identity: bool = Field(
        True, description="also find, for each flagged sample, the nearest other identity"
    )
    memory_mb: int = Field(
        256, gt=0, description="bound on the working memory of one scoring batch (MB)"
    )

    @classmethod
    def from_dict(cls, table: Mapping[str, Any] | None) -> CleanConfig:
        """Build from a recipe ``[clean]`` table (None: the defaults)."""
        return cls.parse(table or {})

    def with_embedder(self, embedder: str) -> CleanConfig:
        """A copy naming the embedder actually used (resolves ``auto``)."""
        return type(self)(**{**self.to_dict(), "embedder": embedder})

    def resolved_threshold(self) -> float:
        """``threshold``, or the calibrated default for ``method`` and ``embedder`` (the one place
        the default is taken); RecipeError when no default is calibrated for the pair."""
        from .calibrate import default_threshold

        return self.threshold or default_threshold(self.method, self.embedder)
