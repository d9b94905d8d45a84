"""Run transforms in sequence, record what was applied, and replay records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .base import REGISTRY, Transform
from .targets import Targets

#: One applied transform: ``{"name": str, "params": dict}`` (JSON-serialisable).
Record = list[dict[str, Any]]


class Compose:
    """A sequence of transforms applied in order, each with its own probability ``p``.

    ``out, record = pipe(targets, rng)`` draws, per transform, one uniform number (applied if
    below ``p``) and, when applied, its params; ``record`` lists the applied transforms as
    ``{"name", "params"}`` dicts, JSON-serialisable. ``pipe.replay(targets, record)`` gives the
    same bytes without a generator.
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        for tr in transforms:
            if not isinstance(tr, Transform):
                raise TypeError(f"Compose takes Transform instances, got {type(tr).__name__}")
        self.transforms = list(transforms)

    def __call__(self, t: Targets, rng: np.random.Generator) -> tuple[Targets, Record]:
        record: Record = []
        for tr in self.transforms:
            t, params = tr(t, rng)
            if params is not None:
                record.append({"name": tr.name, "params": params})
        return t, record

    def replay(self, t: Targets, record: Record) -> Targets:
        """Re-apply a record made by any pipeline (transforms are looked up by name)."""
        return replay(t, record)

    def __iter__(self) -> Iterator[Transform]:
        return iter(self.transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    @property
    def names(self) -> list[str]:
        """Names of the transforms, in order."""
        return [tr.name for tr in self.transforms]

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def replay(t: Targets, record: Record) -> Targets:
    """Apply a record (``[{"name", "params"}, ...]``) to ``t``. Transforms' ``apply`` depend only
    on their params, so default-constructed instances replay exactly. KeyError on an unknown
    name."""
    for step in record:
        name = step["name"]
        if name not in REGISTRY:
            raise KeyError(f"cannot replay unknown transform {name!r}; known: {sorted(REGISTRY)}")
        t = REGISTRY[name]().apply(t, **step.get("params", {}))
    return t
