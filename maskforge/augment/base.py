"""The :class:`Transform` protocol and the registry of transforms by name.

A transform splits randomness from work: :meth:`Transform.get_params` draws every random choice
from a numpy Generator into a JSON-serialisable dict, and :meth:`Transform.apply` is a pure
function of the targets and those params. Recording the params therefore makes any result
replayable byte for byte, without re-running the generator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .schema import BaseInitSchema
from .targets import Targets

#: name -> Transform subclass, filled by ``@register``.
REGISTRY: dict[str, type[Transform]] = {}


def register(cls: type[Transform]) -> type[Transform]:
    """Class decorator: make ``cls`` replayable by its ``name``."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"transform name {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


class Transform:
    """Base class of augmentations.

    Subclasses set ``name`` (the key in records and in the recipe's ``[augment]`` table), take
    their options (and ``p``, the probability of being applied) in ``__init__``, validated by
    their nested ``InitSchema`` (see :mod:`.schema`), and implement :meth:`get_params` and
    :meth:`apply`. ``apply`` must depend only on its arguments — every
    option that changes the output is copied into the params — so a record can be replayed by a
    default-constructed instance.
    """

    name: ClassVar[str] = "transform"
    #: The options' schema (a transform with options beyond ``p`` declares its own).
    InitSchema: ClassVar[type[BaseInitSchema]] = BaseInitSchema

    def __init__(self, p: float = 0.5) -> None:
        self.p = BaseInitSchema.check(p=p).p

    def get_params(self, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        """Draw this transform's random choices for an image of ``shape`` ``(H, W, 3)``.

        Returns a JSON-serialisable dict (Python ints/floats/strs/lists only)."""
        return {}

    def apply(self, t: Targets, **params: Any) -> Targets:
        """Return transformed targets (pure: same inputs, same bytes)."""
        raise NotImplementedError

    def __call__(self, t: Targets, rng: np.random.Generator) -> tuple[Targets, dict[str, Any] | None]:
        """Apply with probability ``p``; returns ``(targets, params or None if skipped)``."""
        if rng.random() >= self.p:
            return t, None
        params = self.get_params(rng, t.image.shape)
        return self.apply(t, **params), params

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({opts})"


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A Python float uniform in ``[lo, hi]`` (exactly ``lo`` when ``lo == hi``)."""
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def noise_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed (JSON-safe int) for per-pixel noise regenerated inside ``apply``."""
    return int(rng.integers(0, 2**63 - 1))
