"""Every transform: shape/dtype, replay, JSON params, p=0; geometry of crop/rotate/flip/cutout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.augment import (
    FLIP_5,
    FLIP_68,
    REGISTRY,
    Blur,
    Brightness,
    ColorJitter,
    Compose,
    GaussianNoise,
    HorizontalFlip,
    ImpulseNoise,
    JpegCompression,
    LowerFaceCutout,
    RandomCrop,
    Rotate,
    Targets,
    lower_face_polygon,
    replay,
)
from maskforge.seeding import rng_for

ALL = [
    RandomCrop(p=1.0, scale=1.15),
    RandomCrop(p=1.0, scale=(1.0, 1.3)),
    Rotate(p=1.0, limit=10),
    Rotate(p=1.0, limit=(-30, 30), center="face", border="constant"),
    HorizontalFlip(p=1.0),
    Brightness(p=1.0),
    ColorJitter(p=1.0, hue=20),
    Blur(p=1.0),
    ImpulseNoise(p=1.0, amount=(0.01, 0.05)),
    ImpulseNoise(p=1.0, amount=0.02, per_channel=False),
    GaussianNoise(p=1.0),
    GaussianNoise(p=1.0, per_channel=False),
    JpegCompression(p=1.0),
    LowerFaceCutout(p=1.0, fill=["gray", "black", "random", "noise"]),
]
IDS = [repr(t) for t in ALL]


def face_targets(h: int = 112, w: int = 96, seed: int = 0) -> Targets:
    """A textured image with a plausible 68-point face, 5 points, box and a partial mask."""
    g = np.random.default_rng(seed)
    image = g.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    lm68 = np.column_stack([g.uniform(0.25 * w, 0.75 * w, 68), g.uniform(0.3 * h, 0.8 * h, 68)])
    lm5 = np.column_stack([g.uniform(0.3 * w, 0.7 * w, 5), g.uniform(0.3 * h, 0.7 * h, 5)])
    mask = np.zeros((h, w), dtype=bool)
    mask[h // 2 :, : w // 3] = True
    return Targets(image, lm5, lm68, [0.2 * w, 0.2 * h, 0.8 * w, 0.9 * h], mask)


def assert_same(a: Targets, b: Targets) -> None:
    assert a.image.tobytes() == b.image.tobytes()
    for name in ("landmarks5", "landmarks68", "bbox", "occlusion_mask"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.tobytes() == y.tobytes(), name


def test_every_registered_transform_is_covered():
    assert {t.name for t in ALL} == set(REGISTRY)


@pytest.mark.parametrize("tr", ALL, ids=IDS)
def test_transform_contract(tr):
    t = face_targets()
    pipe = Compose([tr])
    out, record = pipe(t, rng_for(7, "s1", "aug"))
    # shape / dtype kept
    assert out.image.shape == t.image.shape and out.image.dtype == np.uint8
    assert out.image.flags.c_contiguous
    assert out.landmarks68.shape == (68, 2) and out.landmarks68.dtype == np.float32
    assert out.landmarks5.shape == (5, 2) and out.bbox.shape == (4,)
    assert out.occlusion_mask.shape == t.image.shape[:2] and out.occlusion_mask.dtype == bool
    # params JSON round-trip exactly
    assert len(record) == 1 and record[0]["name"] == tr.name
    text = json.dumps(record)
    assert json.loads(text) == record
    # replay (by the pipeline, and by name only) gives identical bytes
    assert_same(pipe.replay(t, json.loads(text)), out)
    assert_same(replay(t, json.loads(text)), out)
    # same generator -> same result; input untouched
    again, record2 = pipe(t, rng_for(7, "s1", "aug"))
    assert record2 == record
    assert_same(again, out)
    assert_same(t, face_targets())
    # p = 0 is the identity
    off = type(tr)(p=0.0)
    same, rec0 = Compose([off])(t, rng_for(7, "s1", "aug"))
    assert rec0 == []
    assert_same(same, t)


@pytest.mark.parametrize("tr", [t for t in ALL if t.name != "flip"], ids=lambda t: repr(t))
def test_transform_changes_pixels_and_seed_matters(tr):
    t = face_targets(seed=3)
    outs = [Compose([tr])(t, rng_for(s, "x"))[0].image for s in range(4)]
    assert all(o.tobytes() != t.image.tobytes() for o in outs)
    assert len({o.tobytes() for o in outs}) > 1


def test_transforms_work_without_annotations():
    t = Targets(np.full((40, 50, 3), 90, np.uint8))
    for tr in ALL:
        out, _ = Compose([tr])(t, rng_for(1, "bare"))
        assert out.image.shape == (40, 50, 3)
        assert out.landmarks68 is None and out.bbox is None
        if tr.name != "cutout":
            assert out.occlusion_mask is None


# --- horizontal flip ---------------------------------------------------------------------------


def test_flip_tables_are_involutions_with_fixed_midline():
    assert sorted(FLIP_68.tolist()) == list(range(68))
    assert (FLIP_68[FLIP_68] == np.arange(68)).all()
    assert (FLIP_5[FLIP_5] == np.arange(5)).all()
    fixed = {i for i in range(68) if FLIP_68[i] == i}
    assert fixed == {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}
    for a, b in [(0, 16), (17, 26), (21, 22), (31, 35), (36, 45), (39, 42), (40, 47), (48, 54),
                 (60, 64), (65, 67), (55, 59)]:
        assert FLIP_68[a] == b and FLIP_68[b] == a


@settings(max_examples=40, deadline=None)
@given(st.integers(8, 64), st.integers(8, 64), st.integers(0, 2**32 - 1))
def test_flip_twice_is_identity(h, w, seed):
    t = face_targets(h, w, seed)
    flip = HorizontalFlip(p=1.0)
    once = flip.apply(t)
    twice = flip.apply(once)
    assert twice.image.tobytes() == t.image.tobytes()
    assert np.array_equal(twice.occlusion_mask, t.occlusion_mask)
    np.testing.assert_allclose(twice.landmarks68, t.landmarks68, atol=1e-4)
    np.testing.assert_allclose(twice.landmarks5, t.landmarks5, atol=1e-4)
    np.testing.assert_allclose(twice.bbox, t.bbox, atol=1e-4)
    # pixels really mirror
    assert np.array_equal(once.image, t.image[:, ::-1])


def test_flip_maps_indices_semantically():
    t = face_targets(60, 80)
    f = HorizontalFlip(p=1.0).apply(t)
    lm, out = t.landmarks68, f.landmarks68
    # the left-eye outer corner (36) becomes the right-eye outer corner (45) and vice versa
    np.testing.assert_allclose(out[45], [79 - lm[36, 0], lm[36, 1]], atol=1e-4)
    np.testing.assert_allclose(out[36], [79 - lm[45, 0], lm[45, 1]], atol=1e-4)
    np.testing.assert_allclose(out[16], [79 - lm[0, 0], lm[0, 1]], atol=1e-4)
    np.testing.assert_allclose(out[30], [79 - lm[30, 0], lm[30, 1]], atol=1e-4)
    np.testing.assert_allclose(f.landmarks5[0], [79 - t.landmarks5[1, 0], t.landmarks5[1, 1]], atol=1e-4)
    np.testing.assert_allclose(f.landmarks5[3], [79 - t.landmarks5[4, 0], t.landmarks5[4, 1]], atol=1e-4)
    x1, y1, x2, y2 = t.bbox
    np.testing.assert_allclose(f.bbox, [79 - x2, y1, 79 - x1, y2], atol=1e-4)


# --- crop / rotate keep points on the pixels -----------------------------------------------------


def dot_targets(h: int, w: int, x: int, y: int) -> Targets:
    """Black image with a bright 3x3 blob centred at (x, y) and a landmark there."""
    image = np.zeros((h, w, 3), np.uint8)
    image[y - 1 : y + 2, x - 1 : x + 2] = 255
    lm5 = np.tile(np.array([[x, y]], np.float32), (5, 1))
    return Targets(image, landmarks5=lm5)


def blob_centre(image: np.ndarray) -> np.ndarray:
    grey = image[..., 0].astype(np.float64)
    ys, xs = np.nonzero(grey > 0)
    w = grey[ys, xs]
    return np.array([np.sum(xs * w) / w.sum(), np.sum(ys * w) / w.sum()])


@settings(max_examples=40, deadline=None)
@given(st.integers(40, 120), st.integers(0, 10_000), st.floats(1.0, 1.4))
def test_crop_moves_points_with_pixels(size, seed, scale):
    g = np.random.default_rng(seed)
    x, y = (int(v) for v in g.integers(int(size * 0.3), int(size * 0.7), 2))
    t = dot_targets(size, size, x, y)
    tr = RandomCrop(p=1.0, scale=scale)
    out, rec = Compose([tr])(t, np.random.default_rng(seed))
    ox, oy = rec[0]["params"]["x"], rec[0]["params"]["y"]
    assert 0 <= ox <= round(size * scale) - size and 0 <= oy <= round(size * scale) - size
    np.testing.assert_allclose(blob_centre(out.image), out.landmarks5[0], atol=0.35)


@settings(max_examples=40, deadline=None)
@given(st.integers(40, 120), st.integers(0, 10_000), st.floats(-45, 45), st.sampled_from(["image", "face"]))
def test_rotate_moves_points_with_pixels(size, seed, angle, center):
    g = np.random.default_rng(seed)
    x, y = (int(v) for v in g.integers(int(size * 0.3), int(size * 0.7), 2))
    t = dot_targets(size, size, x, y)
    out = Rotate(p=1.0, center=center, border="constant").apply(t, angle=angle, center=center)
    np.testing.assert_allclose(blob_centre(out.image), out.landmarks5[0], atol=0.35)
    if center == "face":  # rotating about the only point leaves it in place
        np.testing.assert_allclose(out.landmarks5[0], [x, y], atol=1e-3)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(-30, 30))
def test_rotate_preserves_distances_from_centre(seed, angle):
    t = face_targets(80, 80, seed)
    c = np.array(t.face_center())
    out = Rotate(p=1.0).apply(t, angle=angle, center="face")
    before = np.linalg.norm(t.landmarks68 - c, axis=1)
    after = np.linalg.norm(out.landmarks68 - c, axis=1)
    np.testing.assert_allclose(after, before, atol=1e-3)
    # the face centre stays put, so the face stays where it was
    np.testing.assert_allclose(out.landmarks68.mean(axis=0), c, atol=1e-3)


@pytest.mark.parametrize("move", [
    lambda t: Rotate(p=1.0).apply(t, angle=13.0, center="image"),
    lambda t: RandomCrop(p=1.0).apply(t, scale=1.3, x=7, y=12),
    lambda t: HorizontalFlip(p=1.0).apply(t),
], ids=["rotate", "crop", "flip"])
def test_masks_move_with_pixels(move):
    t = face_targets(64, 64, 5)
    mask = np.zeros((64, 64), bool)
    mask[20:44, 16:40] = True
    t = t.replace(occlusion_mask=mask)
    out = move(t)
    assert out.occlusion_mask.dtype == bool and out.occlusion_mask.flags.c_contiguous
    assert set(np.unique(out.occlusion_mask.view(np.uint8))) <= {0, 1}
    # the mask moves like the pixels: paint the masked pixels white, move both
    painted = t.replace(image=np.repeat(np.where(mask[..., None], 255, 0).astype(np.uint8), 3, axis=2))
    moved = move(painted)
    agree = (moved.image[..., 0] > 127) == out.occlusion_mask
    assert agree.mean() > 0.98


# --- cutout ---------------------------------------------------------------------------------------


def test_cutout_region_sources():
    t = face_targets(100, 100, 2)
    _, src = lower_face_polygon(t)
    assert src == "landmarks68"
    assert lower_face_polygon(t.replace(landmarks68=None))[1] == "landmarks5"
    assert lower_face_polygon(t.replace(landmarks68=None, landmarks5=None))[1] == "bbox"
    bare = Targets(np.zeros((50, 40, 3), np.uint8))
    poly, src = lower_face_polygon(bare)
    assert src == "image" and poly[:, 1].min() == 25


def test_cutout_erases_lower_face_and_marks_mask():
    image = np.full((100, 100, 3), 200, np.uint8)
    # eyes at y=40, nose 55, mouth 70: the region spans from below the eyes to below the mouth
    lm5 = np.array([[35, 40], [65, 40], [50, 55], [40, 70], [60, 70]], np.float32)
    t = Targets(image, landmarks5=lm5)
    out = LowerFaceCutout(p=1.0, fill="black").apply(t, fill="black")
    m = out.occlusion_mask
    assert m[70, 50] and m[60, 50] and not m[40, 50] and not m[20, 50]
    assert (out.image[m] == 0).all() and (out.image[~m] == 200).all()


def test_cutout_from_68_points_covers_mouth_not_eyes():
    # a synthetic 68-point face: jaw on a U, eyes at y=40, nose bridge 27-30 down to y=55, mouth y=72
    jaw_x = np.linspace(20, 80, 17)
    jaw_y = 40 + 45 * np.sin(np.linspace(0, np.pi, 17))
    lm = np.zeros((68, 2), np.float32)
    lm[:17] = np.column_stack([jaw_x, jaw_y])
    lm[17:27] = np.column_stack([np.linspace(25, 75, 10), np.full(10, 32)])
    lm[27:31] = np.column_stack([np.full(4, 50), np.linspace(42, 55, 4)])
    lm[31:36] = np.column_stack([np.linspace(44, 56, 5), np.full(5, 58)])
    lm[36:48] = np.column_stack([np.r_[np.linspace(30, 42, 6), np.linspace(58, 70, 6)], np.full(12, 40)])
    lm[48:68] = np.column_stack([np.linspace(40, 60, 20), np.full(20, 72)])
    t = Targets(np.full((100, 100, 3), 200, np.uint8), landmarks68=lm)
    out = LowerFaceCutout(p=1.0).apply(t, fill="gray")
    m = out.occlusion_mask
    assert m[np.rint(lm[48:68, 1]).astype(int), np.rint(lm[48:68, 0]).astype(int)].all()
    assert not m[np.rint(lm[36:48, 1]).astype(int), np.rint(lm[36:48, 0]).astype(int)].any()
    assert (out.image[m] == 128).all()


# --- photometric values ---------------------------------------------------------------------------


def test_photometric_values():
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2] = [200, 0, 0]  # red
    img[2:] = [50, 100, 150]
    t = Targets(img)
    b = Brightness(p=1.0).apply(t, factor=1.3).image
    assert b[0, 0].tolist() == [255, 0, 0] and b[3, 3].tolist() == [65, 130, 195]
    grey = ColorJitter(p=1.0).apply(t, saturation=0.0).image
    assert (grey.max(axis=2) - grey.min(axis=2) <= 1).all()
    flat = ColorJitter(p=1.0).apply(t, contrast=0.0).image
    assert flat.min() == flat.max()
    green = ColorJitter(p=1.0).apply(t, hue=120.0).image  # red -> green
    assert green[0, 0, 1] > 150 and green[0, 0, 0] < 10 and green[0, 0, 2] < 10
    same = ColorJitter(p=1.0).apply(t, hue=360.0).image
    assert np.abs(same.astype(int) - img).max() <= 3
    noisy = GaussianNoise(p=1.0).apply(Targets(np.full((64, 64, 3), 128, np.uint8)), sigma=10.0, seed=3).image
    assert abs(noisy.std() - 10.0) < 0.5 and abs(noisy.mean() - 128) < 0.5
    imp = ImpulseNoise(p=1.0).apply(Targets(np.full((100, 100, 3), 128, np.uint8)), amount=0.1, seed=1).image
    changed = (imp != 128).mean()
    assert 0.08 < changed < 0.1 and set(np.unique(imp)) == {0, 128, 255}
    jpeg = JpegCompression(p=1.0).apply(t.replace(image=np.full((16, 16, 3), 90, np.uint8)), quality=50).image
    assert np.abs(jpeg.astype(int) - 90).max() <= 2


@pytest.mark.parametrize("border", ["reflect", "constant", "replicate"])
def test_rgba_warp_path_equals_plain_warp(border):
    import cv2

    from maskforge.augment.geometric import BORDERS
    from maskforge.augment.targets import warp_image

    img = np.random.default_rng(4).integers(0, 256, (57, 63, 3), dtype=np.uint8)
    m = cv2.getRotationMatrix2D((30.2, 25.7), 17.0, 1.1)
    plain = cv2.warpAffine(img, m, (63, 57), flags=cv2.INTER_LINEAR, borderMode=BORDERS[border])
    assert np.array_equal(warp_image(img, m, BORDERS[border], cv2.INTER_LINEAR), plain)
