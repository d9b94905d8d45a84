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

import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import RecipeError
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

PRESETS: dict[str, dict[str, dict[str, Any]]] = {"reference": REFERENCE_AUGMENT, "none": {}}
_META_KEYS = ("preset", "order")


def _options(name: str) -> list[str]:
    sig = inspect.signature(REGISTRY[name].__init__)
    return [k for k in sig.parameters if k != "self"]


def build_pipeline(cfg: Mapping[str, Any] | None = None) -> Compose:
    """A pipeline from an ``[augment]`` table (see module doc).

    The table starts from ``preset`` (default "reference" = :data:`REFERENCE_AUGMENT`; "none" =
    empty) and each transform key overrides that transform's options, adds it, or drops it
    (``false``). ``None`` or ``{}`` give the reference pipeline. Raises :class:`RecipeError`
    naming the bad key."""
    if cfg is None:
        cfg = {"preset": "reference"}
    if not isinstance(cfg, Mapping):
        raise RecipeError(f"augment must be a table, got {type(cfg).__name__}")
    preset = cfg.get("preset", "reference")
    if preset not in PRESETS:
        raise RecipeError(f"augment.preset: unknown preset {preset!r}; known: {sorted(PRESETS)}")
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in PRESETS[preset].items()}
    for key, value in cfg.items():
        if key in _META_KEYS:
            continue
        if key not in REGISTRY:
            raise RecipeError(
                f"augment.{key}: unknown transform; known: {', '.join(sorted(REGISTRY))}"
            )
        if value is False:
            merged.pop(key, None)
        elif value is True:
            merged[key] = merged.get(key, {})
        elif isinstance(value, Mapping):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            raise RecipeError(
                f"augment.{key}: expected a table of options, true or false, got {value!r}"
            )
    order = _order(cfg.get("order"), merged)
    transforms = []
    for name in order:
        options = merged[name]
        allowed = _options(name)
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise RecipeError(
                f"augment.{name}.{unknown[0]}: unknown option; known: {', '.join(allowed)}"
            )
        try:
            transforms.append(REGISTRY[name](**options))
        except (ValueError, TypeError) as exc:
            raise RecipeError(f"augment.{name}: {exc}") from None
    return Compose(transforms)


def _order(order: Any, merged: Mapping[str, Any]) -> list[str]:
    if order is None:
        return [n for n in CANONICAL_ORDER if n in merged]
    if not isinstance(order, (list, tuple)) or not all(isinstance(n, str) for n in order):
        raise RecipeError(f"augment.order must be a list of transform names, got {order!r}")
    if len(set(order)) != len(order):
        raise RecipeError(f"augment.order lists a transform twice: {order!r}")
    missing = [n for n in merged if n not in order]
    extra = [n for n in order if n not in merged]
    if missing or extra:
        raise RecipeError(
            "augment.order must list exactly the configured transforms"
            + (f"; missing {missing}" if missing else "")
            + (f"; not configured {extra}" if extra else "")
        )
    return list(order)
