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
or a table as above. Names are resolved later by the occluder module; here they are only
checked for form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RecipeError

#: The masked-CASIA palette: what ``"mask"`` means.
MASK_PALETTE = ("surgical-green", "surgical-blue", "n95", "kn95", "cloth-black")
#: How a mask is worn.
WEARS = ("correct", "nose_exposed", "chin")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$")
#: Occluder names are passed through to the occluder module, whose spec strings may carry
#: tokens (``cloth+#1f2a44+dots+w=0.5``); only whitespace and commas are refused here.
_OCC_NAME = re.compile(r"^[A-Za-z0-9][^\s,]*$")


def _weighted(rng: np.random.Generator, items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    if len(items) == 1:
        return items[0]
    w = np.asarray(weights, dtype=np.float64)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


@dataclass(frozen=True)
class OccluderChoice:
    """A random choice of one occluder: ``names`` with ``weights`` (relative, > 0), an optional
    colour override (``colors``: empty = the asset's own colour, else one picked uniformly) and
    how it is worn (``wears`` with ``wear_weights``)."""

    names: tuple[str, ...]
    weights: tuple[float, ...] = ()
    colors: tuple[str, ...] = ()
    wears: tuple[str, ...] = ("correct",)
    wear_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.weights:
            object.__setattr__(self, "weights", (1.0,) * len(self.names))
        if not self.wear_weights:
            object.__setattr__(self, "wear_weights", (1.0,) * len(self.wears))
        if not self.names or len(self.weights) != len(self.names):
            raise ValueError("an occluder choice needs names and one weight per name")
        if len(self.wear_weights) != len(self.wears) or not self.wears:
            raise ValueError("an occluder choice needs wears and one weight per wear")

    def pick(self, rng: np.random.Generator) -> tuple[str, str, str | None]:
        """``(name, wear, color or None)`` drawn from ``rng``; always three draws' worth of
        decisions in the same order, so adding a colour does not change the name drawn."""
        name = _weighted(rng, self.names, self.weights)
        wear = _weighted(rng, self.wears, self.wear_weights)
        color = self.colors[int(rng.integers(len(self.colors)))] if self.colors else None
        return name, wear, color

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (for the manifest)."""
        return {
            "choice": dict(zip(self.names, self.weights, strict=True)),
            "color": list(self.colors),
            "wear": dict(zip(self.wears, self.wear_weights, strict=True)),
        }


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


def _check_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _OCC_NAME.match(value):
        raise RecipeError(f"{where}: expected a name like 'n95' or 'surgical-blue', got {value!r}")
    return value


def _weights_of(value: Any, where: str, check: Any) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Names and weights from a string, a list of strings (equal weights) or a {name: weight}
    table."""
    if isinstance(value, str):
        return (check(value, where),), (1.0,)
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, Sequence) and value:
        items = [(v, 1.0) for v in value]
    else:
        raise RecipeError(f"{where}: expected a name, a list of names or a {{name = weight}} table")
    if not items:
        raise RecipeError(f"{where}: empty choice")
    names = tuple(check(k, where) for k, _ in items)
    if len(set(names)) != len(names):
        raise RecipeError(f"{where}: a name is listed twice: {list(names)}")
    weights = []
    for k, w in items:
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not (w > 0 and np.isfinite(w)):
            raise RecipeError(f"{where}.{k}: weight must be a number > 0, got {w!r}")
        weights.append(float(w))
    return names, tuple(weights)


def _check_wear(value: Any, where: str) -> str:
    if value not in WEARS:
        raise RecipeError(f"{where}: wear must be one of {list(WEARS)}, got {value!r}")
    return value


def parse_occluder(spec: Any, where: str = "occluder") -> OccluderChoice:
    """An :class:`OccluderChoice` from a recipe spec (see module doc)."""
    if isinstance(spec, str):
        if spec == "mask":
            return OccluderChoice(names=MASK_PALETTE)
        return OccluderChoice(names=(_check_name(spec, where),))
    if not isinstance(spec, Mapping):
        raise RecipeError(f"{where}: expected an occluder name or a table, got {spec!r}")
    known = {"choice", "name", "weights", "color", "wear"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise RecipeError(f"{where}.{unknown[0]}: unknown key; known: {', '.join(sorted(known))}")
    if ("choice" in spec) == ("name" in spec):
        raise RecipeError(f"{where}: give exactly one of 'name' or 'choice'")
    raw = spec.get("choice", spec.get("name"))
    if raw == "mask":
        raw = list(MASK_PALETTE)
    names, weights = _weights_of(raw, f"{where}.choice", _check_name)
    if "weights" in spec:
        w = spec["weights"]
        if not isinstance(raw, list) or not isinstance(w, list) or len(w) != len(names):
            raise RecipeError(f"{where}.weights: needs 'choice' as a list and one weight per name")
        names, weights = _weights_of(dict(zip(names, w, strict=True)), f"{where}.weights", _check_name)
    colors: tuple[str, ...] = ()
    if "color" in spec:
        c = spec["color"]
        colors = (c,) if isinstance(c, str) else tuple(c) if isinstance(c, list) else ()
        if not colors or not all(isinstance(x, str) and x for x in colors):
            raise RecipeError(f"{where}.color: expected a colour string or a list of them, got {c!r}")
    wears, wear_weights = ("correct",), (1.0,)
    if "wear" in spec:
        wears, wear_weights = _weights_of(spec["wear"], f"{where}.wear", _check_wear)
    return OccluderChoice(names, weights, colors, wears, wear_weights)


def parse_variants(specs: Sequence[Mapping[str, Any]] | str) -> list[Variant]:
    """Variants from the recipe's ``[[variants]]`` list (see module doc), or a built-in plan
    name (``variants = "reference"``); ``count = k`` repeats a variant. Raises
    :class:`RecipeError` naming the bad entry."""
    if isinstance(specs, str):
        return builtin_plan(specs)
    if isinstance(specs, bytes) or not isinstance(specs, Sequence) or not specs:
        raise RecipeError("variants must be a non-empty list of tables ([[variants]])")
    known = {"name", "occluder", "occluders", "augment", "count"}
    out: list[Variant] = []
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        where = f"variants[{i}]"
        if not isinstance(spec, Mapping):
            raise RecipeError(f"{where}: expected a table, got {spec!r}")
        unknown = sorted(set(spec) - known)
        if unknown:
            raise RecipeError(f"{where}.{unknown[0]}: unknown key; known: {', '.join(sorted(known))}")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.match(name) or "#" in name:
            raise RecipeError(f"{where}.name: expected a name like 'mask+aug', got {name!r}")
        augment = spec.get("augment", False)
        if not isinstance(augment, bool):
            raise RecipeError(f"{where}.augment: expected true or false, got {augment!r}")
        count = spec.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise RecipeError(f"{where}.count: expected an integer >= 1, got {count!r}")
        if "occluder" in spec and "occluders" in spec:
            raise RecipeError(f"{where}: give 'occluder' or 'occluders', not both")
        if "occluders" in spec:
            raw = spec["occluders"]
            if not isinstance(raw, list) or not raw:
                raise RecipeError(f"{where}.occluders: expected a non-empty list of occluder specs")
            occ = tuple(parse_occluder(s, f"{where}.occluders[{j}]") for j, s in enumerate(raw))
        elif "occluder" in spec:
            occ = (parse_occluder(spec["occluder"], f"{where}.occluder"),)
        else:
            occ = ()
        for _ in range(count):
            out.append(Variant(name, occ, augment, seen.get(name, 0)))
            seen[name] = seen.get(name, 0) + 1
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
