"""Asset files: deterministic build, loading, validation, user folders, triangulation cover."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from maskforge.errors import AssetError
from maskforge.occlude import AssetLibrary, render_occluder
from maskforge.occlude.anchors import CANONICAL_68, AnchorSet
from maskforge.occlude.assets import build_assets, bundled_dir, load_asset
from maskforge.seeding import rng_for


def test_build_is_deterministic_and_matches_bundled(tmp_path):
    files = build_assets(tmp_path)
    assert len(files) == len(list(bundled_dir().glob("*"))) == 42
    for f in files:
        assert f.read_bytes() == (bundled_dir() / f.name).read_bytes(), f.name


def test_library_contents():
    lib = AssetLibrary.load()
    assert lib.names() == ["cloth", "glasses", "kn95", "n95", "sunglasses", "surgical"]
    for fam in ("surgical", "n95", "kn95", "cloth"):
        for wear in ("correct", "nose_exposed", "chin"):
            a = lib.get(fam, wear)
            assert a.kind == "mask" and a.wear == wear and a.colorable
            assert a.meta["license"] == "Apache-2.0" and "maskforge" in a.meta["provenance"]
    assert lib.get("glasses", "chin").name == "glasses"  # wear does not apply to glasses
    assert lib.get("surgical.chin").wear == "chin"
    with pytest.raises(AssetError, match="unknown occluder asset 'visor'.*available"):
        lib.get("visor")


def test_sidecar_schema_fields():
    meta = json.loads((bundled_dir() / "surgical.json").read_text())
    for key in (
        "schema",
        "name",
        "kind",
        "wear",
        "image",
        "color_map",
        "default_color",
        "anchors",
        "triangles",
        "license",
        "provenance",
        "colorable_parts",
    ):
        assert key in meta
    assert meta["default_color"] == "#aec6df"  # a real surgical blue (issue 20), not #1ca0f4
    a0 = meta["anchors"][8]
    assert a0["lm"] == 8 and {"x", "y"} <= set(a0)


@pytest.mark.parametrize("name", AssetLibrary.load().variants())
def test_triangulation_covers_every_visible_pixel(name):
    """Every pixel with alpha lies inside the anchor triangulation (else it could never be
    drawn), and the stored anchors are their constructions on the canonical face."""
    a = AssetLibrary.load().get(name)
    cover = np.zeros(a.rgba.shape[:2], np.uint8)
    for tri in a.triangles:
        cv2.fillConvexPoly(cover, np.round(a.points[tri] * 16).astype(np.int32), 1, shift=4)
    cover = cv2.dilate(cover, np.ones((3, 3), np.uint8))
    assert not ((a.rgba[..., 3] > 0) & (cover == 0)).any()
    iod = a.meta["template_iod_px"]
    w = a.rgba.shape[1]
    origin = (w / 2, 90.0 if a.kind == "mask" else 128.0)
    expected = a.anchors.evaluate(CANONICAL_68 * iod + origin)
    assert np.allclose(expected, a.points, atol=2e-3)


def test_anchor_constructions():
    lm = np.random.default_rng(0).uniform(0, 200, (68, 2))
    aset = AnchorSet([{"lm": 8}, {"lerp": [30, 8, 0.5]}, {"lm": 27, "eye": [0.0, 1.0]}])
    p = aset.evaluate(lm)
    assert np.allclose(p[0], lm[8]) and np.allclose(p[1], (lm[30] + lm[8]) / 2)
    u = lm[42:48].mean(0) - lm[36:42].mean(0)
    assert np.allclose(p[2], lm[27] + np.array([-u[1], u[0]]))
    for bad in ({"lm": 68}, {"lerp": [1, 2]}, {"foo": 1}, {"lm": 3, "eye": ["a", 0]}):
        with pytest.raises(AssetError):
            AnchorSet([bad, {"lm": 1}, {"lm": 2}])


def _write_user_asset(folder, name="visor", kind="mask", **over):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[16:48, 8:56] = (200, 30, 30, 255)
    Image.fromarray(rgba, "RGBA").save(folder / f"{name}.png")
    meta = {
        "schema": "maskforge-occluder/1",
        "name": name,
        "kind": kind,
        "image": f"{name}.png",
        "colorable": True,
        "default_color": "#00ff00",
        "anchors": [
            {"x": 4, "y": 4, "lm": 1},
            {"x": 60, "y": 4, "lm": 15},
            {"x": 4, "y": 60, "lm": 5},
            {"x": 60, "y": 60, "lm": 11},
            {"x": 32, "y": 32, "lerp": [33, 51, 0.5]},
        ],
    }
    meta.update(over)
    (folder / f"{name}.json").write_text(json.dumps(meta))
    return folder / f"{name}.json"


def test_user_asset_folder(tmp_path):
    _write_user_asset(tmp_path)
    lib = AssetLibrary.load(extra_dirs=[tmp_path])
    assert "visor" in lib.names()
    a = lib.get("visor")
    assert len(a.triangles) == 4  # Delaunay of the 5 anchors
    img = np.full((250, 250, 3), 128, np.uint8)
    lm = (CANONICAL_68 * 45 + (125, 100)).astype(np.float32)
    res = render_occluder(img, lm, "visor", rng_for(0), library=lib)
    inside = res.image[res.mask]
    assert res.mask.sum() > 500 and np.all(inside[:, 1] > inside[:, 0])  # green default colour
    with pytest.raises(AssetError, match="no 'chin' variant"):
        lib.get("visor", "chin")


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"kind": "hat"}, "'kind' must be one of"),
        ({"image": "missing.png"}, "is missing"),
        ({"anchors": [{"x": 1, "y": 1, "lm": 3}]}, "3\\+ points"),
        ({"anchors": [{"x": "a", "y": 1, "lm": 3}] * 3}, "numeric 'x' and 'y'"),
        ({"wear": "sideways"}, "'wear' must be one of"),
        ({"default_color": "blueish"}, "default_color"),
        ({"triangles": [[0, 1, 99]]}, "'triangles'"),
    ],
)
def test_bad_sidecars_say_what_is_wrong(tmp_path, over, message):
    js = _write_user_asset(tmp_path, **over)
    with pytest.raises(AssetError, match=message):
        load_asset(js)


def test_not_json(tmp_path):
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(AssetError, match="not readable JSON"):
        AssetLibrary.load(extra_dirs=[tmp_path])
    with pytest.raises(AssetError, match="does not exist"):
        AssetLibrary.load(extra_dirs=[tmp_path / "absent"])
