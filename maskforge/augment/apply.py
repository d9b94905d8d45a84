"""Turn one image into one variant: occlude (needs landmarks), then augment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..seeding import AUGMENT, OCCLUDER, derive_seed, rng_for
from .compose import Compose, Record
from .targets import Targets
from .variants import Variant

#: ``render(image, landmarks68, occluder_name, rng, wear, color) -> (image, mask_bool, info)``
#: or None when the occluder cannot be placed. Supplied by the occluder module.
Render = Callable[
    [np.ndarray, np.ndarray, str, np.random.Generator, str, "str | None"],
    "tuple[np.ndarray, np.ndarray, dict[str, Any]] | None",
]


@dataclass
class VariantResult:
    """One variant of one image.

    - ``targets``: the output image and annotations; ``occlusion_mask`` is the union of every
      occluder's mask (and the input's), None if nothing occludes the face.
    - ``occluders``: per stacked occluder, ``{"name", "wear", "color", **render_info}``.
    - ``augment``: the applied transforms' record (``[]`` if not augmented); replay with
      :meth:`Compose.replay` on the occluded image.
    - ``seed``: :func:`variant_seed`, a 63-bit int (the row's ``seed`` column); the occluder
      and augmentation generators are ``rng_for(seed, "occluder", k)`` and
      ``rng_for(seed, "augment")``.
    - ``reject``: None, or ``{"stage": "augment", "reason", "detail"}`` when the variant cannot
      be made (``no_landmarks68``, ``occluder_failed``); ``targets`` is then the input.
    """

    targets: Targets
    occluders: list[dict[str, Any]] = field(default_factory=list)
    augment: Record = field(default_factory=list)
    seed: int = 0
    reject: dict[str, str] | None = None


def variant_seed(seed: int, sample_id: str, variant: Variant) -> int:
    """The seed of one variant of one sample: ``derive_seed(seed, sample_id, variant.name,
    variant.index)`` cut to 63 bits (fits the int64 ``seed`` column). Every random choice of
    the variant derives from it, so the row's ``seed`` alone reproduces them."""
    return derive_seed(seed, sample_id, variant.name, variant.index) & (2**63 - 1)


def variant_rng(stream: int, *keys: object) -> np.random.Generator:
    """The generator of one decision (``"augment"``, or ``"occluder", k``) of a variant whose
    seed (:func:`variant_seed`) is ``stream``."""
    return rng_for(stream, *keys)


def apply_variant(
    targets: Targets,
    variant: Variant,
    pipeline: Compose | None,
    seed: int,
    sample_id: str,
    render: Render | None = None,
) -> VariantResult:
    """Make ``variant`` of ``targets``.

    With ``s = variant_seed(seed, sample_id, variant)`` (from ``rng_for``'s hash of ``(seed,
    sample_id, variant.name, variant.index)``): occluders are rendered first, in order, each
    with its own generator ``rng_for(s, "occluder", k)`` (the render sees the landmarks in the
    input frame); then, if ``variant.augment``, ``pipeline`` runs with ``rng_for(s,
    "augment")``, carrying landmarks, box and occlusion mask. The result depends only on these
    arguments — not on batching, workers or order.

    A variant with occluders on targets without ``landmarks68`` is a reject (whatever
    ``render``). Raises ValueError if the variant has occluders, the landmarks are there and
    ``render`` is None, or if it wants augmentation and ``pipeline`` is None.
    """
    stream = variant_seed(seed, sample_id, variant)
    if variant.augment and pipeline is None:
        raise ValueError(
            f"variant {variant.key!r} is augmented but no pipeline was given; pass "
            "pipeline=build_pipeline(recipe's [augment] table)"
        )
    t = targets
    infos: list[dict[str, Any]] = []
    if variant.occluders:
        if t.landmarks68 is None:  # a data problem (checked first): a reject, not an error
            return VariantResult(
                targets, seed=stream,
                reject={"stage": "augment", "reason": "no_landmarks68",
                        "detail": f"variant {variant.key!r} needs 68 landmarks to place occluders"},
            )
        if render is None:
            raise ValueError(
                f"variant {variant.key!r} has occluders but no render function was given; pass "
                "render= (the occluder module's renderer)"
            )
        image = t.image
        mask = t.occlusion_mask
        for k, choice in enumerate(variant.occluders):
            rng = variant_rng(stream, OCCLUDER, k)
            name, wear, color = choice.pick(rng)
            rendered = render(image, t.landmarks68, name, rng, wear, color)
            if rendered is None:
                return VariantResult(
                    targets, seed=stream,
                    reject={"stage": "augment", "reason": "occluder_failed",
                            "detail": f"occluder {name!r} ({wear}) could not be placed"},
                )
            image, layer, info = rendered
            layer = np.asarray(layer, dtype=bool)
            mask = layer if mask is None else (mask | layer)
            infos.append({"name": name, "wear": wear, "color": color, **(info or {})})
        t = t.replace(image=image, occlusion_mask=mask)
    record: Record = []
    if variant.augment and pipeline is not None:  # (checked above; keeps type checkers happy)
        t, record = pipeline(t, variant_rng(stream, AUGMENT))
    return VariantResult(t, infos, record, stream)
