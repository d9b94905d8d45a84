"""What to draw: :class:`OccluderSpec` (asset family, colour, texture, wear), presets and mixes.

Spec strings: ``NAME[+TOKEN...]`` where NAME is a preset (``surgical-blue``, ``n95``, ...; see
:data:`maskforge.occlude.palette.PRESETS`), an asset family (``surgical``), or ``random`` (any mask
family, each with a colour from its own palette). Tokens: a colour (``#1ca0f4``, ``navy``), ``random``
(a colour from the family's palette), a texture (``checks``, ``dots``, ``stripes``, ``floral``, or
``tex=/path/to/image.png``), a texture weight ``w=0.6``, or a wear mode (``correct``,
``nose_exposed``, ``chin``). Example: ``cloth+#1f2a44+dots+w=0.5+nose_exposed``.

Mix strings: ``SPEC:WEIGHT,SPEC:WEIGHT,...`` (weight optional, default 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import AssetError
from .palette import FAMILY_COLORS, PRESETS, TEXTURES, is_color, normalize_color

WEARS = ("correct", "nose_exposed", "chin")
MASK_FAMILIES = ("surgical", "n95", "kn95", "cloth")


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


def as_spec(value: OccluderSpec | str, wear: str | None = None) -> OccluderSpec:
    if isinstance(value, OccluderSpec):
        return replace(value, wear=wear) if wear else value
    return OccluderSpec.parse(value, wear=wear)


def parse_mix(text: str, wear: str | None = None) -> list[tuple[OccluderSpec, float]]:
    """``"surgical-blue:0.4,n95:0.2"`` -> [(OccluderSpec, weight), ...] (weights as given, > 0)."""
    out: list[tuple[OccluderSpec, float]] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        name, _, weight = item.partition(":")
        try:
            w = float(weight) if weight.strip() else 1.0
        except ValueError as exc:
            raise AssetError(f"mix item {item!r}: weight {weight!r} is not a number") from exc
        if not w > 0:
            raise AssetError(f"mix item {item!r}: weight must be > 0")
        out.append((OccluderSpec.parse(name, wear=wear), w))
    if not out:
        raise AssetError(f"empty occluder mix {text!r}; try 'surgical-blue:0.5,n95:0.5'")
    return out


def choose_spec(
    choices: list[tuple[OccluderSpec, float]] | OccluderSpec | str, rng: np.random.Generator
) -> OccluderSpec:
    """Pick one spec by weight with ``rng`` and resolve its random fields."""
    if isinstance(choices, (OccluderSpec, str)):
        return as_spec(choices).resolve(rng)
    weights = np.array([w for _, w in choices], np.float64)
    k = int(rng.choice(len(choices), p=weights / weights.sum())) if len(choices) > 1 else 0
    return choices[k][0].resolve(rng)
