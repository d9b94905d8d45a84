"""Rendering occluders on real faces: every asset x wear, placement, halo, determinism, crops."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from maskforge.occlude import AssetLibrary, Occlude, OccluderSpec, render_occluder
from maskforge.occlude.look import FLAT_LOOK, PhotoLook
from maskforge.occlude.quality import changed_pixels, placement_stats
from maskforge.seeding import rng_for

N_FACES = 24


@pytest.fixture(scope="module")
def faces(lfw_images):
    """(image, landmarks68) of the first faces of a spread of LFW images, landmarks computed
    directly with dlib (HOG detector + 68-point predictor)."""
    dlib = pytest.importorskip("dlib")
    from maskforge.models import dlib_model_path

    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(str(dlib_model_path("shape_predictor_68")))
    out = []
    for p in lfw_images[:: max(1, len(lfw_images) // (N_FACES * 2))]:
        img = np.asarray(Image.open(p).convert("RGB"))
        rects = det(img, 0)
        if not rects:
            continue
        s = sp(img, rects[0])
        lm = np.array([[s.part(i).x, s.part(i).y] for i in range(68)], np.float32)
        out.append((img, lm))
        if len(out) == N_FACES:
            break
    assert len(out) >= N_FACES // 2
    return out


@pytest.fixture(scope="module")
def lib():
    return AssetLibrary.load()


def _variants(lib_):
    return [(a.family, a.wear, a.kind) for a in (lib_.get(n) for n in lib_.variants())]


VARIANTS = _variants(AssetLibrary.load())


@pytest.mark.parametrize(
    ("family", "wear", "kind"), VARIANTS, ids=[f"{f}.{w}" for f, w, _ in VARIANTS]
)
def test_every_asset_and_wear(faces, lib, family, wear, kind):
    spec = OccluderSpec(family, wear=wear)
    for img, lm in faces[:6]:
        before = img.copy()
        res = render_occluder(img, lm, spec, rng_for(1, "t"), library=lib)
        again = render_occluder(img, lm, spec, rng_for(1, "t"), library=lib)
        assert np.array_equal(img, before), "input image must not be modified"
        assert res.image.shape == img.shape and res.image.dtype == np.uint8
        assert res.mask.shape == img.shape[:2] and res.mask.dtype == bool
        assert res.image.tobytes() == again.image.tobytes(), "same seed, same bytes"
        assert np.array_equal(res.mask, again.mask)
        assert res.info["kind"] == kind and res.info["wear"] == wear and res.info["name"] == family
        changed = changed_pixels(img, res.image)
        # the mask is consistent with the changed pixels: covered pixels changed, and every
        # changed pixel lies within the anti-aliased edge band around the mask (thin ear loops,
        # under half covered at this scale, and clear lenses are the only exceptions)
        assert res.mask.sum() > 50
        assert changed[res.mask].mean() > 0.97
        near = cv2.dilate(res.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if kind == "mask":
            # since issue 20 a mask also casts a soft contact shadow on the skin under its lower
            # edge (up to 0.16 IOD below it): those pixels change by design
            k = int(0.16 * np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0))) + 1
            below = cv2.dilate(res.mask.astype(np.uint8), np.ones((k, 5), np.uint8), anchor=(2, k - 1))
            near |= below.astype(bool)
            # and it is blurred to the face's own sharpness, so thin ear loops may fall under
            # half cover: the sharp (flat look) footprint bounds what changes
            flat = render_occluder(img, lm, spec, rng_for(1, "t"), library=lib, look=FLAT_LOOK)
            near |= cv2.dilate(flat.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            assert (changed & ~near).sum() <= 0.04 * changed.sum()
        st = placement_stats(img, res.image, lm, res.mask)
        assert not st["eyes_touched"] or kind != "mask"
        if kind == "mask" and wear == "correct":
            assert st["nose"] >= 0.99 and st["mouth"] >= 0.99 and st["chin"] >= 0.8
        elif kind == "mask" and wear == "nose_exposed":
            assert st["mouth"] >= 0.95 and st["chin"] >= 0.8
            assert changed[int(round(lm[30, 1])), int(round(lm[30, 0]))] == 0  # nose tip free
        elif kind == "mask":  # chin: mouth free, chin covered
            assert st["mouth"] <= 0.1 and st["chin"] >= 0.8
        else:
            assert st["eye_corners"] >= 0.75 and not st["mouth_touched"]


def test_placement_quality_on_subset(faces, lib):
    """The issue's placement targets, on the fixture faces (the full-set figures are in
    docs/occluders.md, from benchmarks/bench_overlay.py)."""
    for fam in ("surgical", "n95", "kn95", "cloth"):
        stats = [
            placement_stats(
                img,
                (r := render_occluder(img, lm, fam, rng_for(0, i), library=lib)).image,
                lm,
                r.mask,
            )
            for i, (img, lm) in enumerate(faces)
        ]
        assert np.mean([s["cover"] for s in stats]) >= 0.97, fam
        assert np.mean([not s["eyes_touched"] for s in stats]) >= 0.995, fam
        assert np.mean([s["outside"] for s in stats]) < 0.01, fam
    for fam in ("glasses", "sunglasses"):
        stats = [
            placement_stats(
                img, render_occluder(img, lm, fam, rng_for(0, i), library=lib).image, lm
            )
            for i, (img, lm) in enumerate(faces)
        ]
        assert np.mean([s["eye_corners"] for s in stats]) >= 0.97, fam
        assert not any(s["mouth_touched"] for s in stats), fam


def _user_asset(folder, rgba, anchors, kind="mask", name="probe"):
    Image.fromarray(rgba, "RGBA").save(folder / f"{name}.png")
    (folder / f"{name}.json").write_text(
        json.dumps(
            {
                "schema": "maskforge-occluder/1",
                "name": name,
                "kind": kind,
                "image": f"{name}.png",
                "colorable": False,
                "anchors": anchors,
                "license": "test",
                "provenance": "test",
            }
        )
    )


def test_no_halo_white_edged_asset_over_black(tmp_path, faces):
    """A black disc whose transparent surround is *white* (straight alpha): composited over
    black it must stay black everywhere (premultiplied interpolation never brightens)."""
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[..., :3] = 255
    cover = np.zeros((800, 800), np.float32)
    cv2.circle(cover, (400, 400), 300, 1.0, -1, cv2.LINE_AA)
    alpha = cv2.resize(cover, (200, 200), interpolation=cv2.INTER_AREA)
    rgba[..., 3] = np.round(alpha * 255).astype(np.uint8)
    rgba[alpha > 0, :3] = 0  # the drawn part (including its soft edge) is black
    anchors = [
        {"x": 20.0, "y": 20.0, "lm": 17},
        {"x": 180.0, "y": 20.0, "lm": 26},
        {"x": 20.0, "y": 180.0, "lm": 6},
        {"x": 180.0, "y": 180.0, "lm": 10},
        {"x": 100.0, "y": 100.0, "lm": 30},
    ]
    _user_asset(tmp_path, rgba, anchors)
    lib = AssetLibrary.load(extra_dirs=[tmp_path])
    _, lm = faces[0]
    black = np.zeros((250, 250, 3), np.uint8)
    # (without ear loops: they are drawn light grey over the black face, by design; nor the
    # fabric texture: it is there even on black cloth, TEXTURE_FLOOR, by design too)
    look = PhotoLook(ear_loops=False, texture=0.0)
    res = render_occluder(black, lm, "probe", rng_for(0), library=lib, look=look)
    assert res.mask.sum() > 500
    assert res.image.max() == 0, "light halo: transparent texels leaked their colour"
    # and over white, pixels only darken in proportion to coverage (no dark fringe beyond it)
    white = np.full((250, 250, 3), 255, np.uint8)
    res_w = render_occluder(white, lm, "probe", rng_for(0), library=lib, shade=False)
    assert res_w.image.min() == 0 and (res_w.image[~res.mask] >= 0).all()


def test_aligned_crop_frame_matches_full_frame(faces, lib):
    """Landmarks in a crop's frame: the occluder in the crop equals the crop of the full-image
    occluder (the warp is translation-equivariant, up to float rounding)."""
    img, lm = faces[1]
    # the flat look: the photographic look measures the camera on the image (grey-world colour
    # cast over the whole frame, JPEG grid), which a crop legitimately changes
    full = render_occluder(img, lm, "kn95", rng_for(3), library=lib, look=FLAT_LOOK)
    x0, y0 = 20, 15
    crop = np.ascontiguousarray(img[y0:, x0:])
    res = render_occluder(crop, lm - (x0, y0), "kn95", rng_for(3), library=lib, look=FLAT_LOOK)
    diff = np.abs(res.image.astype(int) - full.image[y0:, x0:].astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001  # float rounding only
    assert (res.mask != full.mask[y0:, x0:]).sum() <= 3
    assert res.mask.sum() > 1000


def test_scaled_aligned_crop(faces, lib):
    """An aligned 112x112 crop (rotated, scaled) with its landmarks in the crop frame."""
    img, lm = faces[2]
    m = cv2.getRotationMatrix2D((125.0, 125.0), 12.0, 112 / 250)
    m[:, 2] += (56 - 125, 56 - 125)  # centre of the source -> centre of the crop
    small = cv2.warpAffine(img, m, (112, 112))
    lm_small = (np.hstack([lm, np.ones((68, 1))]) @ m.T).astype(np.float32)
    res = render_occluder(small, lm_small, "surgical-green", rng_for(0), library=lib)
    st = placement_stats(small, res.image, lm_small, res.mask)
    assert st["mouth"] >= 0.95 and st["nose"] >= 0.95
    assert not st["eyes_touched"]
    assert st["outside"] < 0.02


def test_occlude_transform_seeded_per_sample(faces, lib):
    img, lm = faces[0]
    t = Occlude("surgical-blue:0.5,n95:0.3,cloth-black:0.2", seed=7, library=lib)
    a, ma = t(img, lm, "id-1")
    b, mb = t(img, lm, "id-1")
    assert a.tobytes() == b.tobytes() and np.array_equal(ma, mb)
    outs = {t(img, lm, f"id-{k}")[0].tobytes() for k in range(12)}
    assert len(outs) >= 2, "different samples draw different occluders"
    pil, mask = t(Image.fromarray(img), lm, "id-1")
    assert isinstance(pil, Image.Image) and np.array_equal(np.asarray(pil), a)
    none, m0 = Occlude("n95", seed=1, p=0.0, library=lib)(img, lm, "x")
    assert none is img and not m0.any()
    import pickle

    t2 = pickle.loads(pickle.dumps(Occlude("n95+chin", seed=3)))
    assert t2.choices.wear == "chin"


def test_turned_face_far_side_stays_on_face(faces, lib):
    """On the most turned fixture face, the mask's pixels stay within the face outline."""
    from maskforge.occlude.anchors import yaw_from_landmarks

    img, lm = max(faces, key=lambda f: abs(yaw_from_landmarks(f[1])))
    for fam in ("surgical", "n95"):
        res = render_occluder(img, lm, fam, rng_for(0), library=lib)
        assert placement_stats(img, res.image, lm, res.mask)["outside"] < 0.02
