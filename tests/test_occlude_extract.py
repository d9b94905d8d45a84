"""``maskforge assets extract``: mask assets cut out of real photos of masked faces (rwmfd-dev).

The photos are read from ``../shared/faces/rwmfd-dev`` (research licence: never copied into the
repository; the assets are written to a temporary folder).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from maskforge.errors import AssetError
from maskforge.occlude import AssetLibrary, render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.occlude.draw import mask_anchor_constructions
from maskforge.occlude.extract import extract_assets, prepare_extract
from maskforge.seeding import rng_for

#: Frontal photos with a clearly visible worn mask (black cloth, white surgical, red cloth).
PHOTOS = ("batch0001/0008.jpg", "batch0001/0010.jpg", "batch0001/0014.jpg")


@pytest.fixture(scope="module")
def detector():
    from maskforge.detect import make_detector

    return make_detector("mtcnn", device="cpu", min_face_size=40)


def test_extract_writes_a_placeable_asset(rwmfd_dir, tmp_path):
    written, refused = extract_assets([rwmfd_dir / p for p in PHOTOS], tmp_path / "assets")
    assert not refused and len(written) == len(PHOTOS)
    lib = AssetLibrary.load(extra_dirs=[tmp_path / "assets"])
    face = np.full((256, 256, 3), 170, np.uint8)
    lm = canonical_landmarks(60.0, (128.0, 100.0))
    for imp, _files in written:
        meta = json.loads((tmp_path / "assets" / f"{imp.name}.json").read_text())
        assert meta["kind"] == "mask" and meta["default_color"] is None
        assert "maskforge assets extract" in meta["provenance"]
        assert [{k: v for k, v in a.items() if k not in ("x", "y")} for a in meta["anchors"]] == [
            dict(c) for c in mask_anchor_constructions()
        ]  # the same constructions as `assets import` and the drawn masks
        res = render_occluder(face, lm, imp.name, rng_for(0, imp.name), library=lib)
        # it covers the nose tip, mouth and chin of the canonical face and leaves the eyes
        for i in (33, 51, 57, 8):
            assert res.mask[int(lm[i, 1]) - 1, int(lm[i, 0])], i
        # the eyes' row is clear between the outer eye corners (the ear loops reach eye height
        # at the sides of the face, by the ears)
        assert not res.mask[int(lm[36:48, 1].max()) - 2, int(lm[36, 0]) : int(lm[45, 0]) + 1].any()


def test_same_photo_same_bytes(rwmfd_dir, detector):
    a = prepare_extract(rwmfd_dir / PHOTOS[0], detector=detector)
    b = prepare_extract(rwmfd_dir / PHOTOS[0], detector=detector)
    assert a.files == b.files


def test_refused_without_a_mask(lfw_images, detector):
    """An unmasked face: one message saying what was found."""
    with pytest.raises(AssetError, match="no mask region could be segmented: 1 face"):
        prepare_extract(lfw_images[0], detector=detector)


def test_cli_extract(rwmfd_dir, lfw_images, tmp_path):
    from maskforge.cli import main

    runner = CliRunner()
    out = tmp_path / "assets"
    r = runner.invoke(main, ["assets", "extract", str(rwmfd_dir / PHOTOS[2]), str(lfw_images[0]),
                             "--output", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "photo-0014" in r.output and "left out:" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["photo-0014.json", "photo-0014.png"]
    r = runner.invoke(main, ["assets", "extract", str(lfw_images[0]), "--output", str(tmp_path / "x")])
    assert r.exit_code == 2 and "no mask region" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x").exists()  # nothing written when no photo is usable
