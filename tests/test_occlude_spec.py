"""Occluder specs, presets, mixes and seeded picks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.errors import AssetError
from maskforge.occlude import OccluderSpec, parse_mix
from maskforge.occlude.palette import FAMILY_COLORS, TEXTURES, parse_color, procedural_texture
from maskforge.occlude.spec import choose_spec
from maskforge.seeding import rng_for


# preset colours are those of real masks as photographed (issue 20: measured on rwmfd-dev,
# palette.REAL_MASK_COLORS), no longer the flat #1ca0f4 / #ffffff / #000000
@pytest.mark.parametrize(
    ("text", "name", "color"),
    [
        ("surgical-green", "surgical", "#4eaa9e"),
        ("surgical-blue", "surgical", "#aec6df"),
        ("n95", "n95", "#d7dae3"),
        ("kn95", "kn95", "#d7dae3"),
        ("cloth-black", "cloth", "#272627"),
        ("glasses", "glasses", None),
        ("sunglasses", "sunglasses", None),
        ("surgical", "surgical", None),
    ],
)
def test_presets(text, name, color):
    spec = OccluderSpec.parse(text)
    assert (spec.name, spec.color, spec.wear, spec.texture) == (name, color, "correct", None)


def test_tokens_and_explicit_fields():
    spec = OccluderSpec.parse("cloth+#1F2A44+dots+w=0.5+nose_exposed")
    assert spec == OccluderSpec(
        "cloth", color="#1f2a44", texture="dots", wear="nose_exposed", texture_weight=0.5
    )
    assert (
        OccluderSpec(name="surgical", color="#1ca0f4", texture=None, wear="correct").color
        == "#1ca0f4"
    )
    assert OccluderSpec.parse("n95", wear="chin").wear == "chin"
    assert OccluderSpec.parse("n95+correct", wear="chin").wear == "correct"
    assert OccluderSpec.parse("cloth+tex=/x/y.png").texture == "/x/y.png"
    for bad in ("surgical+nonsense", "", "surgical+w=abc"):
        with pytest.raises(AssetError):
            OccluderSpec.parse(bad)
    with pytest.raises(AssetError):
        OccluderSpec("surgical", wear="upside_down")
    with pytest.raises(AssetError):
        OccluderSpec("surgical", color="#12345")


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["surgical", "n95", "kn95", "cloth", "glasses"]),
    rgb=st.tuples(*[st.integers(0, 255)] * 3),
    texture=st.sampled_from([None, *TEXTURES]),
    weight=st.sampled_from([1.0, 0.25, 0.5]),
    wear=st.sampled_from(["correct", "nose_exposed", "chin"]),
)
def test_label_round_trips(name, rgb, texture, weight, wear):
    spec = OccluderSpec(
        name,
        color="#{:02x}{:02x}{:02x}".format(*rgb),
        texture=texture,
        texture_weight=weight if texture else 1.0,
        wear=wear,
    )
    assert OccluderSpec.parse(spec.label()) == spec
    assert parse_color(spec.color) == rgb


def test_parse_mix_and_seeded_choice():
    choices = parse_mix("surgical-blue:0.4,surgical-green:0.2,n95:0.2,cloth-black:0.2")
    specs = [OccluderSpec.parse(name) for name in choices.names]
    assert [(s.name, s.color, w) for s, w in zip(specs, choices.weights, strict=True)] == [
        ("surgical", "#aec6df", 0.4),  # measured colours (issue 20)
        ("surgical", "#4eaa9e", 0.2),
        ("n95", "#d7dae3", 0.2),
        ("cloth", "#272627", 0.2),
    ]
    picks = [choose_spec(choices, rng_for(5, k)) for k in range(4000)]
    again = [choose_spec(choices, rng_for(5, k)) for k in range(4000)]
    assert picks == again
    share = np.mean([p.color == "#aec6df" for p in picks])
    assert 0.37 < share < 0.43
    assert parse_mix("n95").weights == (1.0,)
    assert parse_mix("n95", wear="chin").wear == {"chin": 1.0}
    for bad in ("", "n95:0", "n95:x", "n95:-1"):
        with pytest.raises(AssetError):
            parse_mix(bad)


def test_random_uses_each_family_palette():
    """Unlike MaskTheFace's random mode, each type draws from its own colours, seeded."""
    spec = OccluderSpec.parse("random")
    seen: dict[str, set] = {}
    for k in range(300):
        r = spec.resolve(rng_for(1, k))
        assert r.color in FAMILY_COLORS[r.name]
        seen.setdefault(r.name, set()).add(r.color)
    assert set(seen) == {"surgical", "n95", "kn95", "cloth"}
    assert all(len(v) >= 2 for v in seen.values())
    assert [spec.resolve(rng_for(1, k)) for k in range(20)] == [
        spec.resolve(rng_for(1, k)) for k in range(20)
    ]
    cloth = OccluderSpec.parse("cloth+random").resolve(rng_for(0))
    assert cloth.name == "cloth" and cloth.color in FAMILY_COLORS["cloth"]


@pytest.mark.parametrize("name", TEXTURES)
def test_procedural_textures(name):
    a = procedural_texture(name, "#1f2a44")
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, procedural_texture.__wrapped__(name, "#1f2a44"))
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 1
    # tileable: the pattern's period divides the tile
    assert np.abs(a[0].astype(int) - a[-1].astype(int)).mean() < 80
