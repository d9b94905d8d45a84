"""What to draw: :class:`OccluderSpec` (asset family, colour, texture, wear), presets and mixes.

Spec strings: ``NAME[+TOKEN...]`` where NAME is a preset (``surgical-blue``, ``n95``, ...; see
:data:`maskforge.occlude.palette.PRESETS`), an asset family (``surgical``), or ``random`` (any mask
family, each with a colour from its own palette). Tokens: a colour (``#1ca0f4``, ``navy``), ``random``
(a colour from the family's palette), a texture (``checks``, ``dots``, ``stripes``, ``floral``, or
``tex=/path/to/image.png``), a texture weight ``w=0.6``, or a wear mode (``correct``,
``nose_exposed``, ``chin``). Example: ``cloth+#1f2a44+dots+w=0.5+nose_exposed``.

Mix strings: ``SPEC:WEIGHT,SPEC:WEIGHT,...`` (weight optional, default 1).

:class:`OccluderChoice` is the one language for "which occluder, which colour, how worn" with
weights: the recipe's ``occluder = {...}`` and ``overlay --occluder/--mix/--wear`` both build one
(:func:`parse_mix`, :meth:`OccluderChoice.from_cli`), and both draw from it the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ..config import Table
from ..errors import AssetError
from ..vocab import WEARS, Wear
from .palette import FAMILY_COLORS, PRESETS, TEXTURES, is_color, normalize_color

MASK_FAMILIES = ("surgical", "n95", "kn95", "cloth")
#: The masked-CASIA palette: what the occluder name ``"mask"`` means in a recipe.
MASK_PALETTE = ("surgical-green", "surgical-blue", "n95", "kn95", "cloth-black")


@dataclass(frozen=True)
class OccluderSpec:
    """An occluder choice. ``name``: asset family or ``random``; ``color``: hex/named colour,
    ``random`` or None (the asset's default); ``texture``: procedural name or image path;
    ``texture_weight``: 0..1 blend of texture over colour; ``wear``: correct|nose_exposed|chin."""

    name: str
    color: str | None = None
    texture: str | None = None
    wear: str = "correct"
    texture_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.wear not in WEARS:
            raise AssetError(f"wear must be one of {', '.join(WEARS)}, got {self.wear!r}")
        if self.color is not None and self.color != "random":
            object.__setattr__(self, "color", normalize_color(self.color))
        if not 0.0 <= float(self.texture_weight) <= 1.0:
            raise AssetError(f"texture weight must be in 0..1, got {self.texture_weight}")

    @classmethod
    def parse(cls, text: str, wear: str | None = None) -> OccluderSpec:
        """Parse a spec string (module doc). ``wear`` (if given) overrides the default wear."""
        parts = [p.strip() for p in str(text).strip().split("+")]
        if not parts or not parts[0]:
            raise AssetError(f"empty occluder spec {text!r}; try e.g. 'surgical-blue'")
        head = parts[0].lower()
        name, color = PRESETS.get(head, (head, None))
        fields: dict = {"name": name, "color": color, "wear": wear or "correct"}
        for tok in parts[1:]:
            low = tok.lower()
            if low in WEARS:
                fields["wear"] = low
            elif low == "random":
                fields["color"] = "random"
            elif low in TEXTURES:
                fields["texture"] = low
            elif low.startswith("tex="):
                fields["texture"] = tok[4:]
            elif low.startswith("w="):
                try:
                    fields["texture_weight"] = float(tok[2:])
                except ValueError as exc:
                    raise AssetError(f"texture weight {tok!r} is not a number") from exc
            elif is_color(tok):
                fields["color"] = tok
            else:
                raise AssetError(
                    f"cannot read {tok!r} in occluder spec {text!r}: expected a colour (#rrggbb), "
                    f"'random', a texture ({', '.join(TEXTURES)}, tex=PATH), w=WEIGHT or a wear "
                    f"mode ({', '.join(WEARS)})"
                )
        return cls(**fields)

    def resolve(self, rng: np.random.Generator) -> OccluderSpec:
        """A concrete spec: ``random`` name/colour drawn from ``rng`` (per-family palettes)."""
        spec = self
        if spec.name == "random":
            spec = replace(spec, name=str(rng.choice(MASK_FAMILIES)), color=spec.color or "random")
        if spec.color == "random":
            palette = FAMILY_COLORS.get(spec.name)
            spec = replace(spec, color=str(rng.choice(palette)) if palette else None)
        return spec

    def label(self) -> str:
        """Round-trippable spec string."""
        out = [self.name]
        if self.color:
            out.append(self.color)
        if self.texture:
            out.append(self.texture if self.texture in TEXTURES else f"tex={self.texture}")
            if self.texture_weight != 1.0:
                out.append(f"w={self.texture_weight:g}")
        if self.wear != "correct":
            out.append(self.wear)
        return "+".join(out)


def occluder_spec(name: str, wear: str | None = None, color: str | None = None) -> OccluderSpec:
    """The spec of a drawn choice: ``name`` parsed (its own wear token wins over ``wear``, the
    choice's wear), ``color`` (if given) replacing the name's colour."""
    spec = OccluderSpec.parse(name, wear=wear)
    return replace(spec, color=color) if color else spec


#: Spec names: the spec grammar's tokens, no whitespace or commas (a mix separator).
_NAME = re.compile(r"^[A-Za-z0-9][^\s,]*$")
_Weight = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


def _problem(key: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError("key_problem", "{problem}", {"key": key, "problem": problem})


def _weighted_table(value: Any, key: str) -> Any:
    """A name, a list of names (equal weights) or a ``{name = weight}`` table -> the table."""
    if isinstance(value, str):
        return {value: 1.0}
    if isinstance(value, list | tuple):
        if not value:
            raise _problem(key, "must not be empty")
        if len(set(value)) != len(value):
            raise _problem(key, f"lists a name twice: {list(value)}")
        return dict.fromkeys(value, 1.0)
    return value


def _worn_correctly() -> dict[Wear, float]:
    return {"correct": 1.0}


class OccluderChoice(Table):
    """A seeded random choice of one occluder: spec names (``n95``, ``cloth+#1f2a44+dots``) with
    relative weights, an optional colour override (one picked uniformly; empty: the spec's
    colour) and how it is worn (modes with weights; a wear token in a name wins). In a recipe,
    ``name = "n95"`` may stand for ``choice``, and ``weights = [3, 1]`` weighs a ``choice`` list.

    Recipe form: a name (``"n95"``; ``"mask"`` = :data:`MASK_PALETTE`) or a table with ``choice``
    (or ``name``), ``weights``, ``color`` and ``wear`` (see docs/recipes.md)."""

    table_name = "occluder"

    choice: dict[str, _Weight] = Field(
        description="occluder spec names: a name, a list (equal weights), a `{name = weight}` "
        "table; `\"mask\"` = the masked-CASIA palette",
        json_schema_extra={"values": "name, list or table"},
    )
    color: tuple[str, ...] = Field(
        (),
        strict=False,
        description="colour override: a colour or a list (one picked uniformly)",
        json_schema_extra={"values": "colour or list (`#rrggbb`, a name)"},
    )
    wear: dict[Wear, _Weight] = Field(
        default_factory=_worn_correctly,
        description="how it is worn: a mode, a list (equal weights) or a `{mode = weight}` table",
        json_schema_extra={"values": "`correct` \\| `nose_exposed` \\| `chin`, list or table"},
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:  # the shorthands, then the keys
        if isinstance(data, str):
            data = {"choice": data}
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if ("choice" in data) == ("name" in data):
            raise PydanticCustomError(
                "table_problem", "give exactly one of 'name' or 'choice'", {}
            )
        raw = data.pop("choice", data.pop("name", None))
        raw = list(MASK_PALETTE) if raw == "mask" else raw
        if "weights" in data:
            w = data.pop("weights")
            if not isinstance(raw, list) or not isinstance(w, list) or len(w) != len(raw):
                raise _problem("weights", "needs 'choice' as a list and one weight per name")
            raw = dict(zip(raw, w, strict=True)) if len(set(raw)) == len(raw) else raw
        data["choice"] = _weighted_table(raw, "choice")
        if isinstance(data.get("color"), str):
            data["color"] = (data["color"],)
        if "wear" in data:
            data["wear"] = _weighted_table(data["wear"], "wear")
        return cls._reject_unknown_keys(data)

    @model_validator(mode="after")
    def _names_parse(self) -> OccluderChoice:
        if not self.choice:
            raise _problem("choice", "must not be empty")
        for name in self.choice:
            if not _NAME.match(name):
                raise _problem("choice", f"expected a name like 'n95' or 'surgical-blue', got {name!r}")
            try:
                OccluderSpec.parse(name)
            except AssetError as exc:
                raise _problem(f"choice.{name}", f"is not an occluder spec: {exc}") from None
        for c in self.color:
            if not is_color(c):
                raise _problem("color", f"{c!r} is not a colour (#rrggbb or a colour name)")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.choice)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(self.choice.values())

    @property
    def colors(self) -> tuple[str, ...]:
        return self.color

    @property
    def wears(self) -> tuple[str, ...]:
        return tuple(self.wear)

    @property
    def wear_weights(self) -> tuple[float, ...]:
        return tuple(self.wear.values())

    def pick(self, rng: np.random.Generator) -> tuple[str, str, str | None]:
        """``(name, wear, color or None)`` drawn from ``rng``: name, then wear, then colour,
        each drawn only when there is more than one option (adding a colour does not change the
        name drawn)."""
        name = _weighted(rng, self.names, self.weights)
        wear = _weighted(rng, self.wears, self.wear_weights)
        color = self.color[int(rng.integers(len(self.color)))] if self.color else None
        return name, wear, color

    def specs(self) -> list[OccluderSpec]:
        """Every spec this choice can draw, unresolved (for checking assets up front)."""
        return [occluder_spec(n, w) for n in self.choice for w in self.wear]

    def draw(self, rng: np.random.Generator) -> OccluderSpec:
        """:meth:`pick`, then the drawn spec with its random name/colour resolved from ``rng``."""
        return occluder_spec(*self.pick(rng)).resolve(rng)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (for the manifest), also valid recipe input."""
        return {"choice": dict(self.choice), "color": list(self.color), "wear": dict(self.wear)}

    @classmethod
    def from_cli(
        cls, occluder: Iterable[str] = (), mix: str | None = None, wear: str | None = None
    ) -> OccluderChoice:
        """The choice of ``overlay --mix/--occluder/--wear``: ``mix`` (if given) plus each
        ``occluder`` at weight 1, else ``surgical-blue``; ``wear`` for every name."""
        weights: dict[str, float] = {}
        if mix:
            weights.update(parse_mix(mix).choice)
        for name in occluder:
            weights.setdefault(str(name).strip(), 1.0)
        choice = weights or {"surgical-blue": 1.0}
        return cls.model_validate({"choice": choice, "wear": {wear or "correct": 1.0}})


def _weighted(rng: np.random.Generator, items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    if len(items) == 1:
        return items[0]
    w = np.asarray(weights, dtype=np.float64)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def as_spec(value: OccluderSpec | str, wear: str | None = None) -> OccluderSpec:
    if isinstance(value, OccluderSpec):
        return replace(value, wear=wear) if wear else value
    return OccluderSpec.parse(value, wear=wear)


def parse_mix(text: str, wear: str | None = None) -> OccluderChoice:
    """``"surgical-blue:0.4,n95:0.2"`` -> the :class:`OccluderChoice` with those weights (> 0,
    relative) and ``wear`` (default ``correct``). A malformed mix raises AssetError."""
    weights: dict[str, float] = {}
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        name, _, weight = item.partition(":")
        try:
            w = float(weight) if weight.strip() else 1.0
        except ValueError as exc:
            raise AssetError(f"mix item {item!r}: weight {weight!r} is not a number") from exc
        if not (w > 0 and math.isfinite(w)):
            raise AssetError(f"mix item {item!r}: weight must be > 0")
        OccluderSpec.parse(name)  # AssetError naming the bad token
        weights[name.strip()] = weights.get(name.strip(), 0.0) + w
    if not weights:
        raise AssetError(f"empty occluder mix {text!r}; try 'surgical-blue:0.5,n95:0.5'")
    return OccluderChoice.model_validate({"choice": weights, "wear": {wear or "correct": 1.0}})


def choose_spec(
    choices: OccluderChoice | OccluderSpec | str, rng: np.random.Generator
) -> OccluderSpec:
    """One concrete spec drawn with ``rng``: from a choice (:meth:`OccluderChoice.draw`), or a
    single spec with its random fields resolved."""
    if isinstance(choices, OccluderChoice):
        return choices.draw(rng)
    return as_spec(choices).resolve(rng)
