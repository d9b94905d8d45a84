"""Objects in front of the lower face that are not hands (issue 20, item 3).

- The lfw-dev images with a microphone, a ball, a headset, a tube, hair or another head in front
  of the lower face (the survey of docs/occluders.md): the pixels marked on each object (looked at
  on 3x crops) keep their colour, or the face is rejected (``occluded_lower_face``). The known
  misses are strict xfails, so a fix shows.
- Bearded and moustached lfw-dev faces with nothing in front: nothing found.
- A property: an object of random shape and non-skin colour drawn from outside the face into the
  lower face of a synthetic face keeps its pixels' colour after the render in ``keep`` mode (or the
  face is rejected); the face without it gets nothing.
- On the synthetic face: a thin dark line from outside (a tube) and a round dark blob just inside
  the jaw line (a microphone's head) are found; an elongated one (a shadow) is not.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from maskforge.occlude import render_occluder
from maskforge.occlude.front import decide, front_key, lower_face
from maskforge.occlude.front_objects import find_objects, objects_key

from .test_occlude_photo_look import LM as LM68
from .test_occlude_photo_look import _face as synthetic_face

#: lfw-dev images with an object other than a hand in front of the lower face, and pixels (x, y)
#: on it inside the region the default mask covers.
OBJECTS = {
    "Carlos_Moya_0008": [(129, 185), (136, 189), (122, 189)],  # tennis ball over the chin
    "David_Bisbal_0001": [(122, 187), (118, 194), (122, 179)],  # microphone held at the chin
    "Kalpana_Chawla_0001": [(138, 171), (129, 167), (145, 167)],  # headset microphone on the mouth
    "Abdullah_Gul_0006": [(109, 182), (114, 186), (103, 181)],  # blurred microphone under the chin
    "Alejandro_Toledo_0010": [(148, 173)],  # microphone head at the right jaw
    "David_Nalbandian_0011": [(146, 186), (153, 182), (142, 179)],  # tennis ball over the jaw
    "Britney_Spears_0008": [(111, 187), (110, 180), (113, 193)],  # headset microphone at the jaw
    "Jessica_Biel_0001": [(76, 166), (79, 171), (73, 163)],  # hair over the left jaw
    "Christopher_Reeve_0001": [(117, 183), (100, 188)],  # breathing tube across the chin
    "Charles_Moose_0011": [(120, 177), (113, 181), (128, 177)],  # another person's head
}
#: Listed objects the per-pixel test misses (docs/occluders.md says why).
MISSED = {
    "Abdullah_Gul_0006": (
        "blurred grey microphone whose edge dlib takes for the jaw: inside the jaw line only a "
        "3.6% crescent, neutral (chroma 0.16 of the skin's) at 0.50 of the darker patch's "
        "lightness, reaching 0.12 jaw widths in; 8 lfw-dev faces with nothing in front have a "
        "neutral crescent as large and deep (suits, background, a listed beard)"
    ),
}
#: Bearded or moustached lfw-dev faces with nothing in front.
BEARDS = [
    "Antonio_Banderas_0001", "Jonathan_Arden_0001", "Jason_Kidd_0006", "Fidel_Castro_0001",
    "John_Bolton_0001", "Abdullah_Gul_0009", "Graeme_Lloyd_0001", "Ken_Balk_0001",
]  # fmt: skip


def _lfw_face(lfw_dir, name):
    from maskforge.detect import Landmarker68, make_detector, select_face
    from maskforge.io.decode import decode_image

    img = decode_image(lfw_dir / name.rsplit("_", 1)[0] / f"{name}.jpg")
    face, _ = select_face(make_detector("dlib-hog").detect([img])[0], img.shape[:2])
    assert face is not None, f"{name}: no face found"
    return img, np.asarray(Landmarker68()(img, face.box), np.float64)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=MISSED[n])) if n in MISSED else n
     for n in OBJECTS],
)  # fmt: skip
def test_objects_of_lfw_dev_stay_in_front(lfw_dir, name):
    img, lm = _lfw_face(lfw_dir, name)
    xs, ys = np.array(OBJECTS[name]).T
    before = render_occluder(img, lm, "surgical-blue", np.random.default_rng(1))
    assert before.mask[ys, xs].all(), "the marked pixels are under the mask without the check"
    found = find_objects(img, lm)
    front = decide([], lm, img.shape, "keep", found)
    assert front.objects, f"{name}: nothing found"
    again = find_objects(img.copy(), lm.copy())  # deterministic
    assert found.keep is not None and again.keep is not None
    assert found.keep.tobytes() == again.keep.tobytes() and found.cover == again.cover
    if front.reject is not None:  # the other allowed outcome
        assert "object" in front.reject and "lower face" in front.reject
        return
    after = render_occluder(img, lm, "surgical-blue", np.random.default_rng(1), keep=front.keep)
    assert not after.mask[ys, xs].any(), f"{name}: mask over the object"
    assert (after.image[ys, xs] == img[ys, xs]).all()
    assert after.mask.sum() > 0.3 * before.mask.sum(), f"{name}: the mask is still drawn"
    assert decide([], lm, img.shape, "skip", find_objects(img, lm)).reject is not None


@pytest.mark.parametrize("name", BEARDS)
def test_beards_are_the_face(lfw_dir, name):
    img, lm = _lfw_face(lfw_dir, name)
    found = find_objects(img, lm)
    assert found.keep is None, f"{name}: {found.kinds} found, {found.cover:.0%}"
    assert decide([], lm, img.shape, "skip", found).reject is None


@settings(max_examples=25, deadline=None)
@given(
    noise=st.floats(0, 8), blur=st.floats(0, 2), gradient=st.floats(0, 0.4), seed=st.integers(0, 99)
)
def test_nothing_in_front_of_the_synthetic_face(noise, blur, gradient, seed):
    """The face without an object, with any noise, blur and side light: nothing found."""
    img = synthetic_face(noise=noise, blur=blur, gradient=gradient, seed=seed)
    found = find_objects(img, LM68)
    assert found.keep is None and found.cover == 0.0
    assert decide([], LM68, img.shape, "keep", found).keep is None


def _lab_to_rgb(lab: tuple[float, float, float]) -> tuple[int, int, int]:
    px = cv2.cvtColor(np.array([[lab]], np.float32), cv2.COLOR_Lab2RGB)[0, 0]
    return tuple(int(v) for v in np.clip(np.round(px * 255), 0, 255))  # type: ignore[return-value]


#: Colours of objects: black (a microphone), or saturated hues away from skin's (~50 degrees).
colours = st.one_of(
    st.builds(lambda lum: (lum, 0.0, 0.0), st.floats(0, 6)),
    st.builds(
        lambda lum, hue, chroma: (lum, chroma * np.cos(np.radians(hue)), chroma * np.sin(np.radians(hue))),
        st.floats(35, 85), st.floats(105, 330), st.floats(45, 80),
    ),
).map(_lab_to_rgb)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    side=st.floats(-80, 80),
    end_x=st.floats(-0.3, 0.3),
    end_y=st.floats(0.2, 0.7),
    thick=st.floats(0.15, 0.35),
    head=st.floats(0.0, 0.25),
    colour=colours,
    seed=st.integers(0, 2**16),
    spec=st.sampled_from(["surgical-blue", "n95", "cloth-black"]),
)
def test_an_object_from_outside_keeps_its_colour(
    side, end_x, end_y, thick, head, colour, seed, spec
):
    """A bar (an arm, a stem, a lock of hair) from outside the jaw to a point of the lower face at
    least a third of the way up from the chin to the nose, with an optional round head there (a
    microphone, a ball), over at least 3% of the lower face (objects under 2% are not looked
    for: :data:`maskforge.occlude.front_objects.MIN_COVER`)."""
    img, lm = synthetic_face(), LM68
    width = float(np.hypot(*(lm[16] - lm[0])))
    nose, chin = lm[33], lm[8]
    end = nose + (chin - nose) * end_y + np.array([end_x * width, 0.0])
    angle = np.radians(90.0 + side)  # from below the chin (0) to either side (+-80)
    start = chin + 0.9 * width * np.array([np.cos(angle), np.sin(angle)])
    obj = np.zeros(img.shape[:2], np.uint8)
    p, q = tuple(int(v) for v in start.round()), tuple(int(v) for v in end.round())
    cv2.line(obj, p, q, 1, max(int(thick * width), 2))
    if head > 0.05:
        cv2.circle(obj, q, int(head * width), 1, -1)
    keep_px = obj.astype(bool)
    face = lower_face(lm, img.shape)
    assume((keep_px & face).sum() >= 0.03 * face.sum())
    drawn = img.copy()
    drawn[keep_px] = colour
    front = decide([], lm, drawn.shape, "keep", find_objects(drawn, lm))
    if front.reject is not None:
        return
    assert front.keep is not None, "the object was not found"
    res = render_occluder(drawn, lm, spec, np.random.default_rng(seed), keep=front.keep)
    assert (res.image[keep_px] == drawn[keep_px]).all(), "a pixel of the object was painted over"
    assert not res.mask[keep_px].any()
    assert res.mask[face & ~front.keep].mean() > 0.5  # the mask is drawn


def _towards_face(k: int, by: float) -> np.ndarray:
    """Landmark ``k`` of the synthetic face moved ``by`` pixels towards the nose (27-35)."""
    c = LM68[27:36].mean(0)
    u = (c - LM68[k]) / np.linalg.norm(c - LM68[k])
    return np.asarray(LM68[k] + by * u)


@pytest.mark.parametrize("side", [-60.0, -45.0, 45.0, 60.0])
def test_a_thin_dark_line_from_outside_is_found(side):
    """A 2 px dark tube from beside the chin to halfway up to the nose (any hue: brown here, as a
    tube reflecting the skin): found as a ``line`` and, its outline not reliable, the face
    rejected."""
    width = float(np.hypot(*(LM68[16] - LM68[0])))
    end = LM68[33] + (LM68[8] - LM68[33]) * 0.45
    angle = np.radians(90.0 + side)
    start = LM68[8] + 0.6 * width * np.array([np.cos(angle), np.sin(angle)])
    p, q = tuple(int(v) for v in start.round()), tuple(int(v) for v in end.round())
    img = synthetic_face()
    cv2.line(img, p, q, (45, 30, 25), 2)
    found = find_objects(img, LM68)
    assert found.kinds == ("line",) and found.keep is not None and found.keep[q[1], q[0]]
    front = decide([], LM68, img.shape, "keep", found)
    assert front.reject is not None and "line" in front.reject


@pytest.mark.parametrize("k", [3, 4, 12, 13])
def test_a_round_dark_blob_at_the_jaw_is_found(k):
    """A dark disc just inside the jaw line (a microphone's head, 2% of the lower face): found
    (``dark``); an ellipse of the same area (3:1, a shadow or a piece of beard) is not."""
    width = float(np.hypot(*(LM68[16] - LM68[0])))
    r = int(0.06 * width)
    c = tuple(int(v) for v in _towards_face(k, 0.8 * r).round())
    img = synthetic_face()
    cv2.circle(img, c, r, (30, 30, 30), -1)
    found = find_objects(img, LM68)
    assert found.kinds == ("dark",) and found.keep is not None and found.keep[c[1], c[0]]
    assert found.cover >= 0.01
    flat = synthetic_face()
    angle = float(np.degrees(np.arctan2(*(LM68[k + 1] - LM68[k - 1])[::-1])))
    cv2.ellipse(flat, c, (int(r * 1.7), int(r / 1.7)), angle, 0, 360, (30, 30, 30), -1)
    assert find_objects(flat, LM68).keep is None


@pytest.mark.parametrize("spot", [(0.0, -0.4), (0.3, -0.3), (-0.2, 0.1)])
def test_a_highlight_on_an_object_stays_in_front(spot):
    """A yellow ball over the chin with a near-white highlight (bright and grey: neither dark nor
    of a foreign colour, so not an object pixel by itself; lfw-dev ``David_Nalbandian_0011``'s
    ball has one): the highlight is a hole in what the test finds, filled, so after the render in
    ``keep`` mode every pixel of the ball, the highlight too, keeps its colour."""
    img = synthetic_face()
    width = float(np.hypot(*(LM68[16] - LM68[0])))
    r = int(0.16 * width)
    ball = LM68[8] - (0.0, 0.1 * width)
    c = tuple(int(v) for v in ball.round())
    cv2.circle(img, c, r, (230, 200, 20), -1)
    h = tuple(int(v) for v in (ball + np.array(spot) * r).round())
    cv2.circle(img, h, int(0.3 * r), (250, 250, 240), -1)
    disc = np.zeros(img.shape[:2], np.uint8)
    cv2.circle(disc, c, r, 1, -1)
    front = decide([], LM68, img.shape, "keep", find_objects(img, LM68))
    assert front.reject is None and front.keep is not None
    assert front.keep[h[1], h[0]], "the highlight was not taken as part of the ball"
    res = render_occluder(img, LM68, "surgical", np.random.default_rng(0), keep=front.keep)
    on = disc.astype(bool)
    assert (res.image[on] == img[on]).all() and not res.mask[on].any()


@pytest.mark.parametrize("factor", [2.5, 4.0])
def test_a_large_face_is_tested_at_a_bounded_scale(factor, monkeypatch):
    """A face wider than ``MAX_JAW`` (the synthetic face with a yellow ball over the chin,
    scaled up ``factor`` times) is tested on a crop no wider than that, finds what the
    face at its own scale finds, and the pixels found lie where the scaled-up ones do."""
    from maskforge.occlude import front_objects

    img = synthetic_face()
    width = float(np.hypot(*(LM68[16] - LM68[0])))
    ball = tuple(int(v) for v in (LM68[8] - (0.0, 0.1 * width)).round())
    cv2.circle(img, ball, int(0.16 * width), (230, 200, 20), -1)
    small = find_objects(img, LM68)
    assert small.kinds == ("colour",) and small.keep is not None
    big = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    assert width * factor > front_objects.MAX_JAW
    seen: list[float] = []
    real = front_objects._find

    def spy(im: np.ndarray, lm: np.ndarray) -> front_objects.Objects:
        seen.append(float(np.hypot(*(lm[16] - lm[0]))))
        return real(im, lm)

    monkeypatch.setattr(front_objects, "_find", spy)
    found = find_objects(big, LM68 * factor)
    assert seen and max(seen) <= front_objects.MAX_JAW + 1.0
    assert found.kinds == small.kinds and found.keep is not None
    assert found.keep.shape == big.shape[:2]
    assert abs(found.cover - small.cover) < 0.05
    up = cv2.resize(small.keep.astype(np.uint8), big.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    inter, union = (found.keep & up.astype(bool)).sum(), (found.keep | up.astype(bool)).sum()
    assert inter / union > 0.8


def test_the_test_is_in_the_occluder_key():
    assert objects_key().startswith("objects4:")
    assert (
        objects_key() in front_key("keep")
        and objects_key() in front_key("skip")
        and front_key("off") == "off"
    )


def test_overlay_keeps_the_object_or_logs_the_reject(lfw_dir, tmp_path):
    """Through ``maskforge overlay``: ``skip`` logs the ball and the microphone as
    ``occluded_lower_face``; ``keep`` (the default) writes masks that leave the ball's marked
    pixels out and rejects the microphone or leaves it out too."""
    import csv

    from maskforge.app.overlay import overlay_folder
    from maskforge.io.decode import decode_image
    from maskforge.vocab import OCCLUDED_LOWER_FACE

    names = ("Carlos_Moya_0008", "David_Bisbal_0001")
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    for name in names:
        data = (lfw_dir / name.rsplit("_", 1)[0] / f"{name}.jpg").read_bytes()
        (src / "a" / f"{name}.jpg").write_bytes(data)
    s = overlay_folder(src, tmp_path / "skip", seed=1, in_front="skip")
    with open(tmp_path / "skip" / "overlay_log.csv", newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert s.reasons == {OCCLUDED_LOWER_FACE: 2}
    assert all(rows[f"a/{n}.jpg"]["reason"] == OCCLUDED_LOWER_FACE for n in names)
    kept = overlay_folder(src, tmp_path / "keep", seed=1, masks_dir=tmp_path / "masks")
    assert kept.ok + kept.skipped == 2
    assert (
        next((tmp_path / "masks").rglob("Carlos_Moya_0008*"), None) is not None
    )  # behind the ball
    for name in names:
        mask_file = next((tmp_path / "masks").rglob(f"{name}*"), None)
        if mask_file is None:  # rejected: logged as such
            continue
        mask = decode_image(mask_file)[..., 0] > 127
        xs, ys = np.array(OBJECTS[name]).T
        assert mask.any() and not mask[ys, xs].any(), f"{name}: mask over the object"


def test_decide_objects_by_mode():
    from maskforge.occlude.front import MAX_COVER, MIN_OVERLAP
    from maskforge.occlude.front_objects import Objects

    shape = (256, 256, 3)
    face = lower_face(LM68, shape)
    ys, xs = np.nonzero(face)
    small = np.zeros(shape[:2], bool)
    small[ys.max() - 12 :, :] = True  # the chin's bottom rows and below
    cover = float((small & face).sum() / face.sum())
    assert MIN_OVERLAP <= cover < MAX_COVER
    ball = Objects(keep=small, cover=cover, kinds=("colour",))
    kept = decide([], LM68, shape, "keep", ball)
    assert kept.reject is None and kept.keep is not None and (kept.keep == small).all()
    assert kept.objects == ("colour",) and kept.hands == 0
    skipped = decide([], LM68, shape, "skip", ball)
    assert skipped.reject is not None and "1 object (colour)" in skipped.reject
    hair = Objects(keep=small, cover=cover, kinds=("dark",), reliable=False)
    unsure = decide([], LM68, shape, "keep", hair)
    assert unsure.reject is not None and "not found reliably" in unsure.reject
    big = Objects(keep=face, cover=1.0, kinds=("colour",))
    assert decide([], LM68, shape, "keep", big).reject is not None
    assert decide([], LM68, shape, "keep", Objects()) == decide([], LM68, shape, "keep")


def test_variants_record_the_object_reject(lfw_dir, tmp_path):
    """A run's variant stage (``keep``, the default): Jessica_Biel_0001's hair over the jaw is
    dark, its outline unsure: one rejects row of stage ``occlude`` for the masked variant."""
    from maskforge.pipeline.context import RunContext
    from maskforge.pipeline.variant_stage import VariantMaker
    from maskforge.recipe import Recipe
    from maskforge.vocab import OCCLUDED_LOWER_FACE

    recipe = Recipe.model_validate(
        {
            "variants": [{"name": "original"}, {"name": "mask", "occluder": "surgical-blue"}],
            "detect": {},
        }
    )
    img, lm = _lfw_face(lfw_dir, "Jessica_Biel_0001")
    row = {"sample_id": "s1", "source_path": "a/x.jpg", "identity": "a", "variant": "original",
           "pixels": img, "image": b"", "landmarks68": lm.astype(np.float32)}  # fmt: skip
    made, rejects = VariantMaker(RunContext(recipe=recipe, out=tmp_path)).make(row)
    assert [m["variant"] for m in made] == ["original"]
    assert [(r["stage"], r["reason"]) for r in rejects] == [("occlude", OCCLUDED_LOWER_FACE)]
    assert "object (dark)" in rejects[0]["detail"]
