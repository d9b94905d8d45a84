"""Occluders: face masks, glasses and sunglasses placed from 68 landmarks.

Public API::

    lib = AssetLibrary.load(extra_dirs=None)
    spec = OccluderSpec.parse("surgical-blue")
    choices = parse_mix("surgical-blue:0.4,n95:0.6"); spec = choose_spec(choices, rng)
    res = render_occluder(image, landmarks68, spec, rng, yaw=None, library=lib)
    Occlude(spec_or_mix, seed)(image, landmarks68, sample_id) -> (image, mask)

See docs/occluders.md.
"""

from __future__ import annotations

from .assets import Asset, AssetLibrary, build_assets
from .key import cache_key
from .render import OcclusionResult, default_library, render_occluder
from .spec import OccluderSpec, choose_spec, parse_mix
from .transform import Occlude

__all__ = [
    "cache_key",
    "Asset",
    "AssetLibrary",
    "Occlude",
    "OccluderSpec",
    "OcclusionResult",
    "build_assets",
    "choose_spec",
    "default_library",
    "parse_mix",
    "render_occluder",
]
