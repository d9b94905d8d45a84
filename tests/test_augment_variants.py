"""Variant plans and apply_variant: parsing, counts, determinism, occluder stacking, replay."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.augment import (
    MASK_PALETTE,
    OccluderChoice,
    Targets,
    Variant,
    apply_variant,
    build_pipeline,
    builtin_plan,
    parse_variants,
    select_per_identity,
    variant_seed,
)
from maskforge.errors import RecipeError
from maskforge.seeding import rng_for

PIPE = build_pipeline(None)


def fake_render(image, landmarks68, name, rng, wear, color):
    """Paints a rectangle over the mouth (or the eyes for glasses) in a colour from the name."""
    pts = landmarks68[36:48] if "glasses" in name else landmarks68[48:68]
    x1, y1 = np.floor(pts.min(axis=0)).astype(int) - 2
    x2, y2 = np.ceil(pts.max(axis=0)).astype(int) + 2
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w - 1), min(y2, h - 1)
    shade = zlib.crc32(name.encode()) % 200 + int(rng.integers(0, 50))
    out = image.copy()
    out[y1 : y2 + 1, x1 : x2 + 1] = shade
    mask = np.zeros((h, w), bool)
    mask[y1 : y2 + 1, x1 : x2 + 1] = True
    return out, mask, {"shade": shade, "box": [int(x1), int(y1), int(x2), int(y2)]}


def face(seed: int = 0, size: int = 48) -> Targets:
    g = np.random.default_rng(seed)
    image = g.integers(0, 256, (size, size, 3), dtype=np.uint8)
    lm = np.zeros((68, 2), np.float32)
    lm[:, 0] = g.uniform(0.2 * size, 0.8 * size, 68)
    lm[:36, 1] = g.uniform(0.2 * size, 0.9 * size, 36)
    lm[36:48, 1] = g.uniform(0.3 * size, 0.4 * size, 12)
    lm[48:68, 1] = g.uniform(0.65 * size, 0.8 * size, 20)
    return Targets(image, landmarks68=lm, bbox=[0.1 * size, 0.1 * size, 0.9 * size, 0.95 * size])


def same(a: Targets, b: Targets) -> bool:
    return (
        a.image.tobytes() == b.image.tobytes()
        and a.landmarks68.tobytes() == b.landmarks68.tobytes()
        and (a.occlusion_mask is None) == (b.occlusion_mask is None)
        and (a.occlusion_mask is None or a.occlusion_mask.tobytes() == b.occlusion_mask.tobytes())
    )


# --- plans --------------------------------------------------------------------------------------


def test_builtin_plans():
    ref = builtin_plan("reference")
    assert [v.key for v in ref] == ["original", "aug", "mask+aug", "mask+aug#2"]
    assert [v.augment for v in ref] == [False, True, True, True]
    assert ref[0].occluder is None and ref[2].occluder.names == MASK_PALETTE
    glasses = builtin_plan("reference-glasses")
    assert len(glasses) == 6
    assert [v.key for v in glasses[4:]] == ["glasses+aug", "sunglasses+mask+aug"]
    stacked = glasses[5].occluders
    assert [o.names for o in stacked] == [MASK_PALETTE, ("sunglasses",)]
    json.dumps([v.to_dict() for v in glasses])
    with pytest.raises(RecipeError, match="unknown variant plan"):
        builtin_plan("nope")
    assert parse_variants("reference-glasses") == glasses  # `variants = "..."` in a recipe


def test_parse_variants_full_syntax():
    vs = parse_variants([
        {"name": "orig"},
        {"name": "m", "augment": True, "count": 3, "occluder": {
            "choice": ["surgical-blue", "n95"], "weights": [3, 1], "color": ["#1f5fa0", "white"],
            "wear": {"correct": 0.8, "nose_exposed": 0.1, "chin": 0.1}}},
        {"name": "both", "occluders": ["mask", {"name": "sunglasses"}]},
        {"name": "cloth", "occluder": {"choice": {"cloth-black": 2, "kn95": 1}, "wear": "chin"}},
    ])
    assert [v.key for v in vs] == ["orig", "m", "m#2", "m#3", "both", "cloth"]
    assert [v.index for v in vs] == [0, 0, 1, 2, 0, 0]
    m = vs[1].occluder
    assert m.names == ("surgical-blue", "n95") and m.weights == (3.0, 1.0)
    assert m.colors == ("#1f5fa0", "white") and m.wears == ("correct", "nose_exposed", "chin")
    assert vs[5].occluder.wears == ("chin",) and vs[5].occluder.weights == (2.0, 1.0)
    assert len(vs[4].occluders) == 2


def test_occluder_pick_follows_weights():
    choice = OccluderChoice(choice={"a": 3.0, "b": 1.0}, wear={"correct": 1.0, "chin": 1.0})
    rng = np.random.default_rng(0)
    picks = [choice.pick(rng) for _ in range(4000)]
    share_a = sum(p[0] == "a" for p in picks) / len(picks)
    share_chin = sum(p[1] == "chin" for p in picks) / len(picks)
    assert abs(share_a - 0.75) < 0.03 and abs(share_chin - 0.5) < 0.03
    assert all(p[2] is None for p in picks)


@pytest.mark.parametrize("spec, match", [
    ([], "non-empty list"),
    ([{"occluder": "n95"}], r"variants\[0\].name"),
    ([{"name": "a", "augmnt": True}], r"unknown key 'variants\[0\].augmnt' \(did you mean 'augment'\?\)"),
    ([{"name": "a", "augment": "yes"}], "augment"),
    ([{"name": "a", "count": 0}], "count"),
    ([{"name": "a#1"}], "name"),
    ([{"name": "a", "occluder": 3}], "occluder"),
    ([{"name": "a", "occluder": "n 95"}], "name like"),
    ([{"name": "a", "occluder": {"choice": ["n95"], "wear": "upside_down"}}], "wear must be one of"),
    ([{"name": "a", "occluder": {"choice": ["n95", "kn95"], "weights": [1]}}], "one weight per name"),
    ([{"name": "a", "occluder": {"choice": {"n95": -1}}}], r"variants\[0\].occluder.choice.n95 must be > 0"),
    ([{"name": "a", "occluder": {"choice": ["n95"], "colour": "red"}}], r"unknown key 'variants\[0\].occluder.colour' \(did you mean 'color'\?\)"),
    ([{"name": "a", "occluder": {"choice": ["n95"], "name": "n95"}}], "exactly one"),
    ([{"name": "a", "occluder": "n95", "occluders": ["n95"]}], "not both"),
    ([{"name": "a", "occluders": []}], r"variants\[0\].occluders must be a non-empty array"),
])
def test_parse_variants_errors(spec, match):
    with pytest.raises(RecipeError, match=match):
        parse_variants(spec)


# --- apply_variant -------------------------------------------------------------------------------


def test_apply_variant_reference_plan():
    t = face(1)
    plan = builtin_plan("reference-glasses")
    res = {v.key: apply_variant(t, v, PIPE, 7, "s1", render=fake_render) for v in plan}
    orig = res["original"]
    assert orig.reject is None and orig.augment == [] and orig.occluders == []
    assert same(orig.targets, t)
    for key in ("mask+aug", "mask+aug#2", "glasses+aug"):
        r = res[key]
        assert len(r.occluders) == 1 and r.occluders[0]["wear"] == "correct"
        assert r.targets.occlusion_mask is not None and r.targets.occlusion_mask.any()
    assert res["mask+aug"].occluders[0]["name"] in MASK_PALETTE
    stacked = res["sunglasses+mask+aug"]
    assert [o["name"] for o in stacked.occluders][1] == "sunglasses"
    assert len({r.seed for r in res.values()}) == 6
    json.dumps([{"occ": r.occluders, "aug": r.augment} for r in res.values()])


def test_occlusion_mask_is_union_and_record_replays():
    t = face(2)
    v = Variant("stack", (OccluderChoice.parse("n95"), OccluderChoice.parse("sunglasses")), augment=True)
    plain = Variant("stack", v.occluders, augment=False)
    r = apply_variant(t, v, PIPE, 3, "s9", render=fake_render)
    occluded = apply_variant(t, plain, PIPE, 3, "s9", render=fake_render).targets
    # occluder streams do not depend on whether the variant is augmented
    _, m1, _ = fake_render(t.image, t.landmarks68, "n95", np.random.default_rng(0), "correct", None)
    _, m2, _ = fake_render(t.image, t.landmarks68, "sunglasses", np.random.default_rng(0), "correct", None)
    assert np.array_equal(occluded.occlusion_mask, m1 | m2)
    assert same(PIPE.replay(occluded, json.loads(json.dumps(r.augment))), r.targets)


def test_apply_variant_needs_render_and_landmarks():
    v = builtin_plan("reference")[2]
    with pytest.raises(ValueError, match="render"):
        apply_variant(face(), v, PIPE, 0, "s")
    for render in (fake_render, None):  # missing landmarks: a reject, with or without a renderer
        r = apply_variant(face().replace(landmarks68=None), v, PIPE, 0, "s", render=render)
        assert r.reject["reason"] == "no_landmarks68" and r.reject["stage"] == "augment"
    r = apply_variant(face(), v, PIPE, 0, "s", render=lambda *a: None)
    assert r.reject["reason"] == "occluder_failed"
    # variants without occluders need no render; augmented ones need a pipeline
    assert apply_variant(face(), builtin_plan()[1], PIPE, 0, "s").reject is None
    with pytest.raises(ValueError, match="pipeline"):
        apply_variant(face(), builtin_plan()[1], None, 0, "s")
    assert same(apply_variant(face(), builtin_plan()[0], None, 0, "s").targets, face())


def test_seeds_change_results():
    t = face(4)
    v = builtin_plan()[3]
    outs = [apply_variant(t, v, PIPE, seed, "s", render=fake_render) for seed in range(6)]
    assert len({o.targets.image.tobytes() for o in outs}) == 6
    same_seed = apply_variant(t, v, PIPE, 0, "s", render=fake_render)
    assert same(same_seed.targets, outs[0].targets) and same_seed.augment == outs[0].augment
    other_sample = apply_variant(t, v, PIPE, 0, "s-other", render=fake_render)
    assert other_sample.targets.image.tobytes() != outs[0].targets.image.tobytes()


def expand(samples, plan, seed, order, batch):
    """Process (sample, variant) jobs in a given order and batch size, like workers would."""
    jobs = [(sid, v) for sid in samples for v in plan]
    jobs = [jobs[i] for i in order]
    out = {}
    for start in range(0, len(jobs), batch):
        for sid, v in jobs[start : start + batch]:
            r = apply_variant(samples[sid], v, PIPE, seed, sid, render=fake_render)
            out[(sid, v.key)] = r
    return out


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=6), st.integers(1, 4), st.integers(0, 2**31),
    st.sampled_from(["reference", "reference-glasses"]), st.randoms(use_true_random=False),
    st.integers(1, 7),
)
def test_output_count_and_order_independence(sizes, n, seed, plan_name, rnd, batch):
    ids = [f"p{i}/{j}" for i, s in enumerate(sizes) for j in range(s)]
    idents = [sid.split("/")[0] for sid in ids]
    sel = select_per_identity(ids, idents, n, min_images=2, seed=seed)
    plan = builtin_plan(plan_name)
    samples = {sid: face(k % 3, 24) for k, sid in enumerate(sel.sample_ids)}
    jobs = len(samples) * len(plan)
    straight = expand(samples, plan, seed, list(range(jobs)), jobs or 1)
    kept = [s for s in sizes if s >= 2]
    assert len(straight) == sum(min(n, s) for s in kept) * len(plan)
    order = list(range(jobs))
    rnd.shuffle(order)
    shuffled = expand(samples, plan, seed, order, batch)
    assert straight.keys() == shuffled.keys()
    for key, r in straight.items():
        assert same(r.targets, shuffled[key].targets) and r.augment == shuffled[key].augment


def test_row_seed_reproduces_the_variant():
    t = face(5)
    v = builtin_plan()[2]
    r = apply_variant(t, v, PIPE, 11, "abc", render=fake_render)
    assert r.seed == variant_seed(11, "abc", v) and 0 <= r.seed < 2**63
    name, wear, color = v.occluder.pick(rng_for(r.seed, "occluder", 0))
    assert r.occluders[0]["name"] == name and r.occluders[0]["wear"] == wear
    occluded = apply_variant(t, Variant(v.name, v.occluders, False, v.index), None, 11, "abc",
                             render=fake_render).targets
    again, record = PIPE(occluded, rng_for(r.seed, "augment"))
    assert record == r.augment and same(again, r.targets)
