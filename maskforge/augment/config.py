"""Build a :class:`Compose` from the recipe's ``[augment]`` table.

```toml
[augment]
preset = "reference"          # the default; "none" starts from an empty pipeline
crop = { p = 0.5, scale = 1.15 }
rotate = { p = 0.5, limit = 10, center = "face" }
blur = false                  # drop a transform of the preset; `true` = its defaults
order = ["crop", "rotate"]    # optional: custom order (default: CANONICAL_ORDER)
```
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import Field, create_model, model_validator
from pydantic_core import PydanticCustomError

from ..config import Table, either
from .base import REGISTRY
from .compose import Compose

# importing the modules registers their transforms
from .cutout import LowerFaceCutout  # noqa: F401
from .geometric import HorizontalFlip, RandomCrop, Rotate  # noqa: F401
from .noise import GaussianNoise, ImpulseNoise  # noqa: F401
from .pixel import Blur, Brightness, ColorJitter, JpegCompression  # noqa: F401

#: Order transforms run in unless the table has ``order``: geometry first (so interpolation does
#: not smear noise), then the lower-face cutout, photometric changes, noise, blur and JPEG last.
CANONICAL_ORDER = (
    "crop", "rotate", "flip", "cutout", "brightness", "color_jitter",
    "impulse_noise", "gaussian_noise", "blur", "jpeg",
)

#: The reference recipe: random crop (resize 1.15x, crop back), impulse noise, rotation,
#: horizontal flip, brightness x0.7-1.3, blur.
REFERENCE_AUGMENT: dict[str, dict[str, Any]] = {
    "crop": {"p": 0.5, "scale": 1.15},
    "rotate": {"p": 0.5, "limit": 10.0},
    "flip": {"p": 0.5},
    "brightness": {"p": 0.5, "factor": [0.7, 1.3]},
    "impulse_noise": {"p": 0.3, "amount": [0.0, 0.03]},
    "blur": {"p": 0.3, "sigma": [0.5, 1.5]},
}

#: The starting pipelines an ``[augment]`` table may name.
Preset = Literal["reference", "none"]
PRESETS: dict[Preset, dict[str, dict[str, Any]]] = {"reference": REFERENCE_AUGMENT, "none": {}}
assert set(PRESETS) == set(get_args(Preset))


def _options(name: str) -> list[str]:
    return list(REGISTRY[name].InitSchema.model_fields)


def _problem(key: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError("key_problem", "{problem}", {"key": key, "problem": problem})


class _AugmentTable(Table):
    table_name = "augment"

    preset: Preset = Field(
        "reference",
        description="the starting pipeline: `reference` (crop, rotate, flip, brightness, "
        "impulse noise, blur) or `none` (empty)",
    )
    order: list[str] | None = Field(
        None,
        description="custom order, listing exactly the configured transforms (default: "
        "geometry, cutout, photometric, noise, blur, JPEG)",
    )

    @model_validator(mode="after")
    def _builds(self) -> _AugmentTable:
        self.transforms()
        return self

    def merged(self) -> dict[str, dict[str, Any]]:
        """Transform name -> options, the preset with this table's changes applied."""
        merged = {k: dict(v) for k, v in PRESETS[self.preset].items()}
        for name in CANONICAL_ORDER:
            value = getattr(self, name)
            if value is False:
                merged.pop(name, None)
            elif value is True:
                merged[name] = merged.get(name, {})
            elif value is not None:
                merged[name] = {**merged.get(name, {}), **value}
        return merged

    def ordered(self, merged: Mapping[str, Any]) -> list[str]:
        if self.order is None:
            return [n for n in CANONICAL_ORDER if n in merged]
        order = self.order
        if len(set(order)) != len(order):
            raise _problem("order", f"lists a transform twice: {order!r}")
        missing = [n for n in merged if n not in order]
        extra = [n for n in order if n not in merged]
        if missing or extra:
            raise _problem(
                "order",
                "must list exactly the configured transforms"
                + (f"; missing {missing}" if missing else "")
                + (f"; not configured {extra}" if extra else ""),
            )
        return list(order)

    def transforms(self) -> list[Any]:
        """The configured transforms, in order (each built, which checks its options)."""
        merged = self.merged()
        out = []
        for name in self.ordered(merged):
            options, allowed = merged[name], _options(name)
            for key in options:
                if key not in allowed:
                    near = difflib.get_close_matches(key, allowed, n=1)
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key}",
                        {"key": f"{name}.{key}", "near": near[0] if near else "", "known": allowed},
                    )
            try:
                out.append(REGISTRY[name](**options))
            except (ValueError, TypeError) as exc:
                first, _, rest = str(exc).partition(" ")
                if first in allowed and rest:  # "p must be ...": name the option's key path
                    raise _problem(f"{name}.{first}", rest) from None
                raise _problem(name, f"is invalid: {exc}") from None
        return out


def _transform_field(name: str) -> Any:
    kind = either("must be a table of options, true or false", bool=bool, table=dict[str, Any])
    return (kind | None, Field(None, description=f"the `{name}` transform"))


#: The ``[augment]`` table: ``preset``, ``order`` and one key per registered transform (a table
#: of its options, ``true`` for its defaults, ``false`` to drop it from the preset).
AugmentConfig = create_model(
    "AugmentConfig",
    __base__=_AugmentTable,
    __module__=__name__,
    **{name: _transform_field(name) for name in CANONICAL_ORDER},
)


def build_pipeline(cfg: Mapping[str, Any] | Table | None = None) -> Compose:
    """A pipeline from an ``[augment]`` table (see module doc).

    The table starts from ``preset`` (default "reference" = :data:`REFERENCE_AUGMENT`; "none" =
    empty) and each transform key overrides that transform's options, adds it, or drops it
    (``false``). ``None`` or ``{}`` give the reference pipeline. Raises :class:`RecipeError`
    naming the bad key."""
    return Compose(AugmentConfig.parse({} if cfg is None else cfg).transforms())
