"""Variant plans: how each selected image is expanded (the recipe's ``[[variants]]``).

```toml
[[variants]]
name = "original"                      # augment defaults to false

[[variants]]
name = "mask+aug"
augment = true
count = 2                              # two variants with this name (keys mask+aug, mask+aug#2)
occluder = { choice = ["surgical-blue", "n95"], weights = [3, 1],
             color = ["#1f5fa0", "white"], wear = { correct = 0.8, nose_exposed = 0.2 } }

[[variants]]
name = "sunglasses+mask+aug"
augment = true
occluders = ["mask", "sunglasses"]     # stacked, rendered in this order
```

An occluder spec is a name (``"n95"``; ``"mask"`` = a uniform choice over :data:`MASK_PALETTE`)
or a table as above (:class:`~maskforge.occlude.spec.OccluderChoice`, the same choice language as
``maskforge overlay --mix``). Names are parsed with the occluder spec grammar here; which asset
they name is resolved later, against the asset library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ..config import Table
from ..errors import BoundError, RecipeError
from ..io.bounds import check_variants
from ..occlude.spec import MASK_PALETTE, WEARS, OccluderChoice

__all__ = [
    "BUILTIN_PLANS", "MASK_PALETTE", "WEARS", "OccluderChoice", "Variant", "VariantSpec",
    "builtin_plan", "parse_occluder", "parse_variants",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$")


@dataclass(frozen=True)
class Variant:
    """One output per selected image: ``name``, the occluders stacked on it (rendered in order;
    a single :class:`OccluderChoice` or None is accepted and normalised to a tuple), whether the
    augmentation pipeline runs, and ``index``, the occurrence of ``name`` in the plan (0 for the
    first). ``key`` is unique within a plan: use it as the row's variant id and seed key."""

    name: str
    occluders: tuple[OccluderChoice, ...] = ()
    augment: bool = False
    index: int = 0

    def __post_init__(self) -> None:
        occ = self.occluders
        if occ is None:
            occ = ()
        elif isinstance(occ, OccluderChoice):
            occ = (occ,)
        object.__setattr__(self, "occluders", tuple(occ))

    @property
    def occluder(self) -> OccluderChoice | None:
        """The first occluder, or None."""
        return self.occluders[0] if self.occluders else None

    @property
    def key(self) -> str:
        """``name`` for the first occurrence, ``name#2``, ``name#3``... for repeats."""
        return self.name if self.index == 0 else f"{self.name}#{self.index + 1}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (for the manifest)."""
        return {
            "key": self.key,
            "name": self.name,
            "augment": self.augment,
            "occluders": [o.to_dict() for o in self.occluders],
        }


class VariantSpec(Table):
    """One ``[[variants]]`` entry: a named output per selected image."""

    table_name = "variants"

    name: str = Field(
        pattern=_NAME.pattern,
        description="the variant's name (`original`, `mask+aug`, ...); repeats get `#2`, `#3`",
        json_schema_extra={"must": "be a name like 'mask+aug' (no '#')", "values": "letters, digits, `_.:+-`"},
    )
    augment: bool = Field(False, description="run the `[augment]` pipeline on it")
    count: int = Field(1, ge=1, description="this many variants of this name")
    occluder: OccluderChoice | None = Field(
        None,
        description="one occluder: a name (`\"mask\"` = the masked-CASIA palette) or a table "
        "(below)",
        json_schema_extra={"values": "name or table"},
    )
    occluders: list[OccluderChoice] | None = Field(
        None,
        min_length=1,
        description="occluders stacked, rendered in this order (instead of `occluder`)",
        json_schema_extra={"values": "array of names or tables"},
    )

    @model_validator(mode="after")
    def _one_occluder_key(self) -> VariantSpec:
        if self.occluder is not None and self.occluders is not None:
            raise PydanticCustomError("table_problem", "give 'occluder' or 'occluders', not both")
        return self

    def expand(self, first_index: int = 0) -> list[Variant]:
        """``count`` :class:`Variant` objects, indexed from ``first_index``."""
        occ = tuple(self.occluders or ()) or ((self.occluder,) if self.occluder else ())
        return [Variant(self.name, occ, self.augment, first_index + k) for k in range(self.count)]


def parse_occluder(spec: Any, where: str = "occluder") -> OccluderChoice:
    """An :class:`OccluderChoice` from a recipe spec (see module doc)."""
    return OccluderChoice.parse(spec, prefix=where)


def parse_variants(specs: Sequence[Mapping[str, Any] | VariantSpec] | str) -> list[Variant]:
    """Variants from the recipe's ``[[variants]]`` list (see module doc), or a built-in plan
    name (``variants = "reference"``); ``count = k`` repeats a variant. Raises
    :class:`RecipeError` naming the bad entry."""
    if isinstance(specs, str):
        return builtin_plan(specs)
    if isinstance(specs, bytes | Mapping) or not isinstance(specs, Sequence) or not specs:
        raise RecipeError("variants must be a non-empty list of tables ([[variants]])")
    entries = [VariantSpec.parse(spec, prefix=f"variants[{i}]") for i, spec in enumerate(specs)]
    try:  # bounded before anything is expanded: count = 1000000000 is refused at once
        check_variants(sum(e.count for e in entries))
    except BoundError as exc:
        raise RecipeError(f"variants: {exc}") from exc
    out: list[Variant] = []
    seen: dict[str, int] = {}
    for entry in entries:
        out += entry.expand(seen.get(entry.name, 0))
        seen[entry.name] = seen.get(entry.name, 0) + entry.count
    return out


#: Recipe-form specs of the built-in plans.
BUILTIN_PLANS: dict[str, list[dict[str, Any]]] = {
    "reference": [
        {"name": "original"},
        {"name": "aug", "augment": True},
        {"name": "mask+aug", "occluder": "mask", "augment": True, "count": 2},
    ],
}
BUILTIN_PLANS["reference-glasses"] = BUILTIN_PLANS["reference"] + [
    {"name": "glasses+aug", "occluder": "glasses", "augment": True},
    {"name": "sunglasses+mask+aug", "occluders": ["mask", "sunglasses"], "augment": True},
]


def builtin_plan(name: str = "reference") -> list[Variant]:
    """A built-in plan: "reference" (original, aug, mask+aug x2 — 4 per image) or
    "reference-glasses" (adds glasses+aug and sunglasses+mask+aug — 6 per image). Masks are a
    uniform choice over :data:`MASK_PALETTE`, worn correctly."""
    if name not in BUILTIN_PLANS:
        raise RecipeError(f"unknown variant plan {name!r}; known: {sorted(BUILTIN_PLANS)}")
    return parse_variants(BUILTIN_PLANS[name])
