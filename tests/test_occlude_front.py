"""Something in front of the face stays in front (issue 20, item 3).

- On the lfw-dev images with a hand in front of the lower face, pixels marked by hand on the
  hand (looked at on 3x crops; the palm detector never saw these marks) get no mask and keep
  their colour, while the same render without the check covers some of them.
- A property: whatever object the compositor is told is in front (random shapes and colours
  drawn over the lower face), its pixels keep their colour and are not in the occlusion mask.
- The reject ``occluded_lower_face`` is recorded: in the overlay log, and as a rejects row of
  stage ``occlude`` for each variant with an occluder.
"""

from __future__ import annotations

import csv
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.occlude import render_occluder
from maskforge.occlude.front import (
    MAX_COVER,
    Front,
    FrontGuard,
    decide,
    hand_outline,
    lower_face,
)
from maskforge.occlude.render import BEHIND_FEATHER
from maskforge.vocab import OCCLUDED_LOWER_FACE, REJECT_REASONS

from .test_occlude_photo_look import LM as LM68
from .test_occlude_photo_look import _face as synthetic_face

#: lfw-dev images with a hand in front of the lower face, and pixels (x, y) on that hand inside
#: the region a mask covers there (Cate_Blanchett_0002 named in the issue notes has no hand; her
#: _0004 does).
HANDS = {
    "Adoor_Gopalakarishnan_0001": [(88, 145), (95, 160), (103, 172)],  # hand on the cheek
    "Jack_Straw_0004": [(100, 157), (97, 167), (103, 150)],  # raised hand
    "John_Paul_II_0004": [(75, 143), (74, 135)],  # hands on both cheeks
    "Cate_Blanchett_0004": [(105, 178), (103, 176)],  # fingertip on the chin
    "Jeremy_Greenstock_0013": [(127, 163), (117, 173), (137, 160)],  # fist on the mouth
}


@pytest.fixture(scope="module")
def lfw_faces(lfw_dir):
    from maskforge.detect import Landmarker68, make_detector, select_face
    from maskforge.io.decode import decode_image

    det, lmk = make_detector("dlib-hog"), Landmarker68()
    out = {}
    for name in HANDS:
        img = decode_image(lfw_dir / name.rsplit("_", 1)[0] / f"{name}.jpg")
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        out[name] = (img, np.asarray(lmk(img, face.box), np.float64))
    return out


@pytest.fixture(scope="module")
def guard():
    return FrontGuard("keep", device="cpu")


def test_no_mask_over_the_hands_of_lfw_dev(lfw_faces, guard):
    names = list(HANDS)
    fronts = guard([lfw_faces[n][0] for n in names], [lfw_faces[n][1] for n in names])
    covered_before = 0
    for name, front in zip(names, fronts, strict=True):
        img, lm = lfw_faces[name]
        if front.reject is not None:  # a recorded reject is the other allowed outcome
            continue
        assert front.keep is not None, f"{name}: no hand found"
        before = render_occluder(img, lm, "surgical-blue", np.random.default_rng(1))
        after = render_occluder(img, lm, "surgical-blue", np.random.default_rng(1), keep=front.keep)
        xs, ys = np.array(HANDS[name]).T
        covered_before += int(before.mask[ys, xs].sum())
        assert not after.mask[ys, xs].any(), f"{name}: mask over the hand"
        assert (after.image[ys, xs] == img[ys, xs]).all(), f"{name}: hand pixels changed"
        assert not after.mask[front.keep].any()
        assert after.mask.sum() > 0.2 * before.mask.sum(), f"{name}: the mask is still drawn"
    assert covered_before >= len(names), "without the check the mask covers these hands"
    assert fronts[names.index("John_Paul_II_0004")].hands == 2  # both cheeks


def test_hand_check_agrees_between_runtimes(lfw_faces, guard):
    """LiteRT (the default on the CPU) and torch find the same hands; their outlines differ by a
    few edge pixels at most (the models' outputs differ by ~1e-4). Each is the same twice."""
    pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert absent")
    names = list(HANDS)
    images, lms = [lfw_faces[n][0] for n in names], [lfw_faces[n][1] for n in names]
    by_torch = FrontGuard("keep", device="cpu", runtime="torch")
    lite, torch_fronts = guard(images, lms), by_torch(images, lms)
    assert (guard.hands.runtime, by_torch.hands.runtime) == ("litert", "torch")
    for a, b in zip(lite, torch_fronts, strict=True):
        assert a.hands == b.hands and (a.reject is None) == (b.reject is None)
        if a.keep is not None:
            assert (a.keep ^ b.keep).sum() <= 0.01 * a.keep.sum()
    for first, guard_ in ((lite, guard), (torch_fronts, by_torch)):
        for a, b in zip(first, guard_(images, lms), strict=True):
            assert a.reject == b.reject
            assert (a.keep is None and b.keep is None) or a.keep.tobytes() == b.keep.tobytes()


@settings(max_examples=40, deadline=None)
@given(
    cx=st.floats(-0.5, 0.5),
    cy=st.floats(0.0, 1.0),
    rx=st.floats(0.05, 0.6),
    ry=st.floats(0.05, 0.6),
    angle=st.floats(0, 180),
    color=st.tuples(*[st.integers(0, 255)] * 3),
    seed=st.integers(0, 2**16),
    spec=st.sampled_from(["surgical-blue", "n95", "cloth-black", "kn95"]),
)
def test_pixels_of_an_object_in_front_keep_their_colour(cx, cy, rx, ry, angle, color, seed, spec):
    img = synthetic_face()
    lm = LM68
    width = float(np.hypot(*(lm[16] - lm[0])))
    nose, chin = lm[33], lm[8]
    centre = (nose + (chin - nose) * cy + np.array([cx * width, 0.0])).round().astype(int)
    axes = (max(int(rx * width), 1), max(int(ry * width), 1))
    obj = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(obj, tuple(int(v) for v in centre), axes, angle, 0, 360, 1, -1)
    drawn = img.copy()
    drawn[obj.astype(bool)] = color  # the object, in front of the lower face
    keep = obj.astype(bool)
    res = render_occluder(drawn, lm, spec, np.random.default_rng(seed), keep=keep)
    assert (res.image[keep] == drawn[keep]).all()
    assert not res.mask[keep].any()
    plain = render_occluder(drawn, lm, spec, np.random.default_rng(seed))
    dist = cv2.distanceTransform((~keep).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = dist > BEHIND_FEATHER
    assert (res.image[far] == plain.image[far]).all()  # elsewhere the same render
    # next to the object: between the render and the photo (the occluder fades out there)
    near = ~keep & ~far
    lo = np.minimum(plain.image[near], drawn[near]).astype(int) - 1
    hi = np.maximum(plain.image[near], drawn[near]).astype(int) + 1
    assert ((res.image[near] >= lo) & (res.image[near] <= hi)).all()


def test_the_occluder_fades_out_next_to_what_is_in_front():
    """Next to a thing in front of the face (a square over the mouth, keep), the mask's pixels
    at 1 px are a blend of the render and the photo (anti-aliased against the thing's outline),
    at 2 px and beyond they are the render's; the thing's own pixels are the photo's."""
    img = synthetic_face()
    keep = np.zeros(img.shape[:2], bool)
    x, y = (int(v) for v in LM68[62].round())
    keep[y - 10 : y + 10, x - 10 : x + 10] = True
    img[keep] = (20, 200, 40)
    res = render_occluder(img, LM68, "surgical-blue", np.random.default_rng(3), keep=keep)
    plain = render_occluder(img, LM68, "surgical-blue", np.random.default_rng(3))
    assert (res.image[keep] == img[keep]).all()
    row = y  # along the row through the square's centre, right of it
    one, two = x + 10, x + 11  # 1 px and 2 px from the square
    expect = plain.image[row, one] + (1 - 1 / BEHIND_FEATHER) * (
        img[row, one].astype(float) - plain.image[row, one]
    )
    assert np.abs(res.image[row, one] - expect).max() <= 1.0
    assert not (res.image[row, one] == plain.image[row, one]).all()
    assert (res.image[row, two] == plain.image[row, two]).all()
    assert res.mask[row, one] and not res.mask[keep].any()


@settings(max_examples=30, deadline=None)
@given(
    pts=st.lists(st.tuples(st.floats(20, 180), st.floats(20, 180)), min_size=21, max_size=21),
)
def test_hand_outline_holds_every_point(pts):
    points = np.array(pts, np.float64)
    outline = hand_outline(points, (200, 200, 3))
    xs, ys = np.round(points).astype(int).T
    assert outline[ys, xs].all()


def _hand(points, score=0.9, presence=0.9):
    return SimpleNamespace(box=np.array([0, 0, 1, 1], np.float32), score=score,
                           keypoints=np.zeros((7, 2)), points=points, presence=presence)  # fmt: skip


def test_decide_by_mode():
    lm = LM68
    shape = (256, 256, 3)
    face = lower_face(lm, shape)
    ys, xs = np.nonzero(face)
    grid = np.stack(np.meshgrid(np.linspace(-8, 8, 3), np.linspace(-8, 8, 7)), -1).reshape(-1, 2)
    small = lm[57] + grid  # a 16 px hand on the lower lip: ~5% of the lower face
    assert decide([], lm, shape, "keep") == Front()
    assert decide([_hand(None)], lm, shape, "keep").keep is None  # a palm alone is no hand
    touching = decide([_hand(small)], lm, shape, "keep")
    assert touching.reject is None and touching.keep is not None
    assert decide([_hand(small)], lm, shape, "skip").reject is not None
    corners = [[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()], [xs.min(), ys.max()]]
    big = np.array(corners * 5 + [corners[0]], float)
    hiding = decide([_hand(big)], lm, shape, "keep")
    assert hiding.reject is not None and f"{MAX_COVER:.0%}" != hiding.reject
    assert OCCLUDED_LOWER_FACE in REJECT_REASONS["occlude"]


def test_overlay_records_the_reject(lfw_dir, tmp_path):
    from maskforge.app.overlay import overlay_folder

    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    for name in ("Jeremy_Greenstock_0013", "AJ_Cook_0001"):
        data = (lfw_dir / name.rsplit("_", 1)[0] / f"{name}.jpg").read_bytes()
        (src / "a" / f"{name}.jpg").write_bytes(data)
    s = overlay_folder(src, tmp_path / "skip", seed=1, in_front="skip")
    with open(tmp_path / "skip" / "overlay_log.csv", newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert rows["a/Jeremy_Greenstock_0013.jpg"]["status"] == "skipped"
    assert rows["a/Jeremy_Greenstock_0013.jpg"]["reason"] == OCCLUDED_LOWER_FACE
    assert rows["a/AJ_Cook_0001.jpg"]["status"] == "ok"
    assert s.reasons == {OCCLUDED_LOWER_FACE: 1}
    assert not (tmp_path / "skip" / "a" / "Jeremy_Greenstock_0013.jpg").exists()
    kept = overlay_folder(src, tmp_path / "keep", seed=1)  # the default: behind the hand
    assert kept.ok == 2 and kept.skipped == 0


def test_variants_record_the_reject(lfw_faces, tmp_path):
    from maskforge.pipeline.context import RunContext
    from maskforge.pipeline.variant_stage import VariantMaker
    from maskforge.recipe import Recipe

    recipe = Recipe.model_validate({
        "variants": [{"name": "original"}, {"name": "mask", "occluder": "surgical-blue"}],
        "occlude": {"in_front": "skip"}, "detect": {},
    })  # fmt: skip
    maker = VariantMaker(RunContext(recipe=recipe, out=tmp_path))
    img, lm = lfw_faces["Jeremy_Greenstock_0013"]
    row = {"sample_id": "s1", "source_path": "a/x.jpg", "identity": "a", "variant": "original",
           "pixels": img, "image": b"", "landmarks68": lm.astype(np.float32)}  # fmt: skip
    made, rejects = maker.make(row)
    assert [m["variant"] for m in made] == ["original"]
    assert len(rejects) == 1
    r = rejects[0]
    assert (r["stage"], r["reason"], r["sample_id"]) == ("occlude", OCCLUDED_LOWER_FACE, "s1")
    assert "hand" in r["detail"] and "mask" in r["detail"]

    keep = VariantMaker(RunContext(recipe=recipe.model_copy(update={"occlude": recipe.occlude.model_copy(
        update={"in_front": "keep"})}), out=tmp_path))  # fmt: skip
    made, rejects = keep.make(dict(row))
    assert [m["variant"] for m in made] == ["original", "mask"] and not rejects
    covered = cv2.imdecode(np.frombuffer(made[1]["occlusion_mask"], np.uint8), cv2.IMREAD_GRAYSCALE)
    xs, ys = np.array(HANDS["Jeremy_Greenstock_0013"]).T
    assert covered.any() and not covered[ys, xs].any()  # the mask is behind the fist


def test_in_front_is_part_of_the_occluder_cache_key():
    from maskforge.occlude.key import cache_key
    from maskforge.pipeline.plan import _assets_part
    from maskforge.recipe import Recipe

    keys = {mode: cache_key(None, None, mode) for mode in ("keep", "skip", "off")}
    assert len(set(keys.values())) == 3
    assert cache_key(None, None) == keys["keep"]  # the default
    variants = [{"name": "mask", "occluder": "surgical-blue"}]
    plans = {
        mode: Recipe.model_validate({"variants": variants, "detect": {}, "occlude": {"in_front": mode}})
        for mode in ("keep", "off")
    }
    assert _assets_part(plans["keep"]) == keys["keep"] and _assets_part(plans["off"]) == keys["off"]
