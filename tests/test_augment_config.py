"""build_pipeline: the reference default, overrides, and clear RecipeErrors."""

from __future__ import annotations

import inspect

import pytest

from maskforge.augment import (
    CANONICAL_ORDER,
    REFERENCE_AUGMENT,
    REGISTRY,
    Blur,
    Brightness,
    RandomCrop,
    Rotate,
    build_pipeline,
)
from maskforge.errors import RecipeError


def test_default_is_the_reference_recipe():
    pipe = build_pipeline(None)
    assert pipe.names == ["crop", "rotate", "flip", "brightness", "impulse_noise", "blur"]
    assert build_pipeline({}).names == pipe.names
    crop = pipe.transforms[0]
    assert isinstance(crop, RandomCrop) and crop.scale == (1.15, 1.15)
    bright = pipe.transforms[3]
    assert isinstance(bright, Brightness) and bright.factor == (0.7, 1.3)
    assert set(REFERENCE_AUGMENT) <= set(REGISTRY) and set(CANONICAL_ORDER) == set(REGISTRY)


def test_overrides_add_and_drop():
    pipe = build_pipeline({"rotate": {"limit": 20, "center": "face"}, "blur": False,
                           "jpeg": True, "cutout": {"p": 0.2, "fill": "noise"}})
    assert pipe.names == ["crop", "rotate", "flip", "cutout", "brightness", "impulse_noise", "jpeg"]
    rot = pipe.transforms[1]
    assert isinstance(rot, Rotate) and rot.limit == (-20.0, 20.0) and rot.center == "face"
    assert rot.p == 0.5  # kept from the preset
    none = build_pipeline({"preset": "none", "blur": {"p": 1, "sigma": [1, 2]}})
    assert len(none) == 1 and isinstance(none.transforms[0], Blur)
    assert none.transforms[0].sigma == (1.0, 2.0)
    assert build_pipeline({"preset": "none"}).names == []
    custom = build_pipeline({"preset": "none", "blur": True, "crop": True, "order": ["blur", "crop"]})
    assert custom.names == ["blur", "crop"]


@pytest.mark.parametrize("cfg, match", [
    ({"rotat": {"p": 1}}, r"unknown key 'augment\.rotat' \(did you mean 'rotate'\?\); known keys here: .*rotate"),
    ({"rotate": {"limt": 3}}, r"unknown key 'augment\.rotate\.limt' \(did you mean 'limit'\?\); known keys here: border, center, limit, p"),
    ({"rotate": {"p": 1.5}}, r"augment\.rotate\.p must be a number in \[0, 1\], got 1\.5"),
    ({"rotate": {"center": "nose"}}, r"augment\.rotate\.center must be"),
    ({"crop": {"scale": 0.9}}, r"augment\.crop\.scale must lie in \[1, 4\]"),
    ({"brightness": {"factor": [1.3, 0.7]}}, r"augment\.brightness\.factor must be finite with lo <= hi"),
    ({"brightness": {"factor": "bright"}}, r"augment\.brightness\.factor must be a number or \[lo, hi\]"),
    ({"jpeg": {"quality": [0, 50]}}, r"augment\.jpeg\.quality"),
    ({"cutout": {"fill": "pink"}}, r"augment\.cutout\.fill must be one of"),
    ({"impulse_noise": {"per_channel": "yes"}}, r"augment\.impulse_noise\.per_channel"),
    ({"blur": 3}, r"augment\.blur must be a table of options, true or false, got 3"),
    ({"preset": "fancy"}, r"augment\.preset must be one of 'reference', 'none', got 'fancy'"),
    ({"order": ["crop"]}, r"augment\.order must list exactly the configured transforms; missing"),
    ({"order": "crop"}, r"augment\.order must be an array"),
])
def test_bad_config_raises_recipe_error(cfg, match):
    with pytest.raises(RecipeError, match=match):
        build_pipeline(cfg)


def test_not_a_table():
    with pytest.raises(RecipeError, match="augment must be a table"):
        build_pipeline(["crop"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_transform_validates_through_its_schema(name):
    """One idiom: the constructor's options are exactly its InitSchema's fields, and a
    default-constructed transform holds the schema-validated defaults."""
    from maskforge.augment.schema import BaseInitSchema

    cls = REGISTRY[name]
    assert issubclass(cls.InitSchema, BaseInitSchema)
    params = inspect.signature(cls.__init__).parameters
    options = {k: p.default for k, p in params.items() if k != "self"}
    assert list(options) == list(cls.InitSchema.model_fields)
    validated = cls.InitSchema.check(**options)
    tr = cls()
    assert {k: getattr(tr, k) for k in options} == validated.model_dump()
    with pytest.raises(ValueError, match=r"^p must be a number in \[0, 1\], got 2$"):
        cls(p=2)


@pytest.mark.parametrize("kwargs, match", [
    ({"contrast": -1}, r"^contrast must be >= 0, got -1$"),
    ({"saturation": [-1, 1]}, r"^saturation must be >= 0, got \[-1, 1\]$"),
    ({"hue": 181}, r"^hue must lie within \[-180, 180\] degrees, got 181$"),
])
def test_color_jitter_names_the_bad_option(kwargs, match):
    from maskforge.augment import ColorJitter

    with pytest.raises(ValueError, match=match):
        ColorJitter(**kwargs)
