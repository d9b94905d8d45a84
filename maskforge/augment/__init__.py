"""Augmentation, stratified select-N, variant plans and train/val splits.

Transforms split randomness (``get_params(rng, shape)`` -> JSON-serialisable dict) from work
(``apply(targets, **params)``, pure), so every output can be recorded and replayed byte for byte.
See docs/augmentation.md.
"""

from __future__ import annotations

from .apply import Render, VariantResult, apply_variant, variant_rng, variant_seed
from .base import REGISTRY, Transform
from .compose import Compose, Record, replay
from .config import CANONICAL_ORDER, REFERENCE_AUGMENT, build_pipeline
from .cutout import LowerFaceCutout, lower_face_polygon
from .geometric import FLIP_5, FLIP_68, HorizontalFlip, RandomCrop, Rotate
from .noise import GaussianNoise, ImpulseNoise
from .pixel import Blur, Brightness, ColorJitter, JpegCompression
from .select import Selection, count_stats, select_per_identity
from .split import assign_splits, split_stats
from .targets import Targets
from .variants import (
    MASK_PALETTE,
    WEARS,
    OccluderChoice,
    Variant,
    builtin_plan,
    parse_occluder,
    parse_variants,
)

__all__ = [
    "CANONICAL_ORDER", "FLIP_5", "FLIP_68", "MASK_PALETTE", "REFERENCE_AUGMENT", "REGISTRY", "WEARS",
    "Blur", "Brightness", "ColorJitter", "Compose", "GaussianNoise", "HorizontalFlip",
    "ImpulseNoise", "JpegCompression", "LowerFaceCutout", "OccluderChoice", "RandomCrop", "Record",
    "Render", "Rotate", "Selection", "Targets", "Transform", "Variant", "VariantResult",
    "apply_variant", "assign_splits", "build_pipeline", "builtin_plan", "count_stats",
    "lower_face_polygon", "parse_occluder", "parse_variants", "replay", "select_per_identity",
    "split_stats", "variant_rng", "variant_seed",
]
