"""Configuration of the cleaning stage (the recipe's ``[clean]`` table, key for key)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..embed.factory import EMBEDDERS
from ..errors import RecipeError

METHODS = ("robust", "mean-distance")
ACTIONS = ("remove", "flag")
#: Same names as maskforge.embed (one list).
EMBEDDER_NAMES = EMBEDDERS


@dataclass(frozen=True)
class CleanConfig:
    """How mislabelled images are scored and what happens to flagged ones.

    Attributes:
        method: ``robust`` (default) or ``mean-distance`` (the reference rule).
        threshold: flag a sample whose score exceeds this L2 distance (unit-vector scale, 0..2);
            None means the default calibrated for ``method`` and ``embedder``
            (:func:`maskforge.clean.calibrate.default_threshold`). For ``robust`` it is the floor
            of the per-identity threshold.
        min_images: identities with fewer usable images are not cleaned (status
            ``too_few_images``).
        action: ``remove`` (flagged samples leave the dataset, recorded in removed files) or
            ``flag`` (kept, marked flagged).
        embedder: the embedder that produced the vectors; selects calibrated defaults. ``auto`` is
            resolved by the stage to the embedder actually used.
        keep: optional path of a keep.csv whitelist (sample paths that are never flagged).
        k_mad: robust only: per-identity threshold = median + k_mad * 1.4826 * MAD of the
            identity's scores when that is above ``threshold`` (protects naturally varied
            identities).
        threshold_cap: robust only: ceiling of the per-identity threshold (None: calibrated).
        confusion_threshold: robust only: a sample scoring above this (but under its threshold) is
            also flagged when it lies closer, by ``confusion_margin``, to the images of another
            identity of at least ``confusion_min_images`` images than to its own inliers
            (None: calibrated; set it to 2 to disable the rule).
        confusion_margin: see ``confusion_threshold`` (None: calibrated).
        confusion_min_images: see ``confusion_threshold``.
        nearest_identity: also find, for each flagged sample, the nearest other identity.
        memory_mb: bound on the working memory of one scoring batch (distance matrices).
    """

    method: str = "robust"
    threshold: float | None = None
    min_images: int = 3
    action: str = "remove"
    embedder: str = "dlib-resnet"
    keep: str | None = None
    k_mad: float = 3.0
    threshold_cap: float | None = None
    confusion_threshold: float | None = None
    confusion_margin: float | None = None
    confusion_min_images: int = 2
    nearest_identity: bool = True
    memory_mb: int = 256

    def __post_init__(self) -> None:
        problems = []
        if self.method not in METHODS:
            problems.append(
                f"clean.method must be one of {', '.join(METHODS)}, not {self.method!r}"
            )
        if self.action not in ACTIONS:
            problems.append(
                f"clean.action must be one of {', '.join(ACTIONS)}, not {self.action!r}"
            )
        if self.embedder not in EMBEDDER_NAMES:
            problems.append(
                f"clean.embedder must be one of {', '.join(EMBEDDER_NAMES)}, not {self.embedder!r}"
            )
        for name in ("threshold", "threshold_cap", "confusion_threshold"):
            v = getattr(self, name)
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 2
            ):
                problems.append(f"clean.{name} must be a number in (0, 2] or absent, not {v!r}")
        m = self.confusion_margin
        if m is not None and (
            isinstance(m, bool) or not isinstance(m, int | float) or not 0 <= m < 2
        ):
            problems.append(
                f"clean.confusion_margin must be a number in [0, 2) or absent, not {m!r}"
            )
        c = self.confusion_min_images
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            problems.append(f"clean.confusion_min_images must be an integer >= 1, not {c!r}")
        if isinstance(self.min_images, bool) or not isinstance(self.min_images, int):
            problems.append(f"clean.min_images must be an integer, not {self.min_images!r}")
        elif self.min_images < 2:
            problems.append(f"clean.min_images must be >= 2, not {self.min_images}")
        if (
            isinstance(self.k_mad, bool)
            or not isinstance(self.k_mad, int | float)
            or self.k_mad < 0
        ):
            problems.append(f"clean.k_mad must be a number >= 0, not {self.k_mad!r}")
        if not isinstance(self.nearest_identity, bool):
            problems.append(
                f"clean.nearest_identity must be true or false, not {self.nearest_identity!r}"
            )
        if (
            isinstance(self.memory_mb, bool)
            or not isinstance(self.memory_mb, int)
            or self.memory_mb < 1
        ):
            problems.append(f"clean.memory_mb must be a positive integer, not {self.memory_mb!r}")
        if self.keep is not None and not isinstance(self.keep, str):
            problems.append(f"clean.keep must be a path string, not {self.keep!r}")
        if problems:
            raise RecipeError("; ".join(problems))

    @classmethod
    def from_dict(cls, table: Mapping[str, Any] | None) -> CleanConfig:
        """Build from a recipe ``[clean]`` table. RecipeError on unknown keys or bad values."""
        table = dict(table or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise RecipeError(
                f"unknown key(s) in [clean]: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**table)
        except TypeError as exc:  # pragma: no cover - guarded by the key check above
            raise RecipeError(f"[clean]: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_embedder(self, embedder: str) -> CleanConfig:
        """A copy naming the embedder actually used (resolves ``auto``)."""
        return replace(self, embedder=embedder)
