"""``maskforge assets import``: anchors fitted from a user's PNG (issue 14).

Every PNG here is drawn by the test itself: a mask-shaped alpha with a fabric-like texture, a
pair of glasses, and broken inputs for each refusal.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskforge.cli.assets import command as assets_cmd
from maskforge.errors import AssetError
from maskforge.occlude import AssetLibrary, render_occluder
from maskforge.occlude.anchors import CANONICAL_68, AnchorSet
from maskforge.occlude.assets import triangulate
from maskforge.occlude.draw import glasses_anchor_constructions, mask_anchor_constructions
from maskforge.occlude.importer import import_assets, prepare_import
from maskforge.occlude.quality import changed_pixels, placement_stats
from maskforge.occlude.sheet import detect_faces, schematic_face
from maskforge.seeding import rng_for


def mask_png(
    w: int = 360,
    h: int = 240,
    arch: float = 0.07,
    bulge: float = 0.10,
    turn: float = 0.0,
    loops: bool = True,
    color=(70, 130, 200),
) -> np.ndarray:
    """(h, w, 4) RGBA: a mask-shaped alpha (top edge rising to the middle, bottom edge bulging
    to the chin) with pleats, noise grain and ear loops; ``turn`` > 0 narrows the right half."""
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    hl, hr = w * 0.4 * (1 - 0.4 * max(-turn, 0)), w * 0.4 * (1 - 0.4 * max(turn, 0))
    cx = w * 0.1 + hl
    u = np.where(xs < cx, (xs - cx) / hl, (xs - cx) / hr)
    top = h * (0.18 + arch * u**2)
    bottom = h * (0.78 + bulge * np.clip(1 - u**2, 0, 1) ** 1.5)
    d = np.minimum.reduce([ys - top, bottom - ys, (1 - np.abs(u)) * min(hl, hr)])
    alpha = np.clip(d / 1.5 + 0.5, 0, 1)
    v = np.clip((ys - top) / (bottom - top), 0, 1)
    shade = 1 - 0.2 * u**2 - 0.25 * np.exp(-((((v % 0.25) - 0.12) * 30) ** 2))
    shade = shade + 0.06 * rng.standard_normal((h, w))
    rgb = np.clip(np.asarray(color, np.float32)[None, None] * shade[..., None], 0, 255)
    if loops:
        for sgn, half in ((-1, hl), (1, hr)):
            x0 = int(cx + sgn * half * 0.97)
            pts = np.array(
                [[x0, int(h * 0.25)], [x0 + sgn * 20, int(h * 0.45)], [x0, int(h * 0.7)]]
            )
            line = np.zeros((h, w), np.uint8)
            cv2.polylines(line, [pts.astype(np.int32)], False, 255, 2, cv2.LINE_AA)
            la = line / 255.0
            rgb = rgb * (1 - la[..., None]) + 235 * la[..., None]
            alpha = np.maximum(alpha, la)
    out = np.dstack([rgb, alpha * 255]).round().astype(np.uint8)
    out[out[..., 3] == 0, :3] = (255, 0, 255)  # junk colour under full transparency
    return out


def glasses_png(w: int = 400, h: int = 150, lens_w: float = 0.17) -> np.ndarray:
    """(h, w, 4) RGBA: two elliptic rims (opaque), a bridge, faint lenses, temple stubs."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    frame = np.zeros((h, w), np.float32)
    lens = np.zeros((h, w), np.float32)
    for cx in (w * 0.3, w * 0.7):
        e = np.hypot((xs - cx) / (w * lens_w), (ys - h * 0.5) / (h * 0.32))
        lens = np.maximum(lens, (e < 1).astype(np.float32))
        frame = np.maximum(frame, (np.abs(e - 1) < 0.08).astype(np.float32))
    frame = np.maximum(frame, ((np.abs(xs - w / 2) < w * 0.08) & (np.abs(ys - h * 0.32) < 3)))
    a = np.maximum(frame, 0.1 * lens)
    rgb = np.where(frame[..., None] > 0, (60, 30, 10), (220, 230, 240))
    return np.dstack([rgb, a * 255]).astype(np.uint8)


def save(path, rgba, mode="RGBA"):
    Image.fromarray(rgba if mode == "RGBA" else rgba[..., :3], mode).save(path)
    return path


def run(*args):
    return CliRunner().invoke(assets_cmd, ["import", *map(str, args)])


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A folder with an imported mask (front, left, right), a colourable one and glasses."""
    src = tmp_path_factory.mktemp("src")
    out = tmp_path_factory.mktemp("assets")
    r = run(save(src / "blue.png", mask_png()), "--kind", "mask", "--output", out)
    assert r.exit_code == 0, r.output
    for side, turn in (("left", -0.6), ("right", 0.6)):
        png = save(src / f"blue_{side}.png", mask_png(turn=turn))
        r = run(png, "--kind", "mask", "--output", out, "--name", "blue", "--side", side)
        assert r.exit_code == 0, r.output
    r = run(src / "blue.png", "--kind", "mask", "--output", out, "--name", "paint", "--colorable")
    assert r.exit_code == 0, r.output
    r = run(save(src / "specs.png", glasses_png()), "--kind", "glasses", "--output", out)
    assert r.exit_code == 0, r.output
    return src, out


def test_import_writes_a_usable_asset(imported):
    """NAME.png + NAME.json in the maskforge-occluder/1 schema, found like a bundled asset; the
    same anchor constructions and triangulation as the drawn masks; no visible pixel outside
    the mesh."""
    _, out = imported
    lib = AssetLibrary.load(extra_dirs=[out])
    assert {"blue", "paint", "specs"} <= set(lib.names())
    assert sorted(p.name for p in out.glob("blue*")) == [
        "blue.json", "blue.left.json", "blue.left.png", "blue.png", "blue.right.json",
        "blue.right.png",
    ]  # fmt: skip
    a = lib.get("blue")
    meta = json.loads((out / "blue.json").read_text())
    assert meta["schema"] == "maskforge-occluder/1" and meta["kind"] == "mask"
    assert meta["default_color"] is None and not a.colorable
    assert a.anchors.constructions == mask_anchor_constructions()
    canon = AnchorSet(mask_anchor_constructions()).evaluate(CANONICAL_68)
    assert np.array_equal(a.triangles, triangulate(canon))
    cover = np.zeros(a.rgba.shape[:2], np.uint8)
    for tri in a.triangles:
        cv2.fillConvexPoly(cover, np.round(a.points[tri] * 16).astype(np.int32), 1, shift=4)
    assert not ((a.rgba[..., 3] > 0) & (cover == 0)).any()
    assert not a.rgba[a.rgba[..., 3] == 0, :3].any()  # junk colour under alpha 0 is gone
    g = lib.get("specs")
    assert g.kind == "glasses" and g.anchors.constructions == glasses_anchor_constructions()


def test_import_is_deterministic(tmp_path):
    png = save(tmp_path / "m.png", mask_png())
    a, b = (prepare_import(png, "mask", colorable=True) for _ in range(2))
    assert a.files == b.files and len(a.files) == 3


def _rendered(lib, name, face=None, spec_extra=""):
    img, lm = face or schematic_face(256)
    return img, lm, render_occluder(img, lm, name + spec_extra, rng_for(0), yaw=0.0, library=lib)


def test_imported_mask_lands_where_the_drawn_mask_does(imported):
    """The outline is fitted onto the drawn surgical mask's outline: on the canonical face the
    two cover nearly the same pixels (IoU >= 0.9), nose/mouth/chin covered, eyes clear, and no
    more spill past the jaw line than the drawn mask (ear loops beyond the jaw are cut)."""
    _, out = imported
    lib = AssetLibrary.load(extra_dirs=[out])
    img, lm, mine = _rendered(lib, "blue")
    _, _, drawn = _rendered(lib, "surgical")
    iou = (mine.mask & drawn.mask).sum() / (mine.mask | drawn.mask).sum()
    assert iou >= 0.9, iou
    s = placement_stats(img, mine.image, lm, mine.mask)
    ref = placement_stats(img, drawn.image, lm, drawn.mask)
    assert s["cover"] == 1.0 and not s["eyes_touched"]
    assert s["outside"] <= ref["outside"] + 0.002  # no more spill past the jaw than drawn
    assert mine.info["asset"] == "blue"


def test_photo_keeps_its_colours_and_colorable_recolours(imported):
    """Without a colour the PNG's own colours are drawn (shading off: the mean colour under
    the mask equals the PNG's); --colorable takes a spec's colour, shaded by luminance."""
    _, out = imported
    lib = AssetLibrary.load(extra_dirs=[out])
    img, lm = schematic_face(256)
    for name in ("blue", "paint"):  # paint: colourable, but no colour asked -> photo colours
        r = render_occluder(img, lm, name, rng_for(0), yaw=0.0, library=lib, shade=False)
        inner = cv2.erode(r.mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        a = lib.get(name).rgba
        png_mean = a[a[..., 3] == 255, :3].mean(0)
        assert np.abs(r.image[inner].mean(0) - png_mean).max() < 12, name
    r = render_occluder(img, lm, "paint+#ff0000", rng_for(0), yaw=0.0, library=lib)
    red = r.image[r.mask].mean(0)
    assert red[0] > 150 and red[1] < 90 and red[2] < 90
    r = render_occluder(img, lm, "blue+#ff0000", rng_for(0), yaw=0.0, library=lib)
    blue = r.image[r.mask].mean(0)  # a photo that is not colourable keeps its colours
    assert blue[2] > blue[0] + 40


def test_side_templates_are_picked_by_yaw(imported):
    _, out = imported
    lib = AssetLibrary.load(extra_dirs=[out])
    assert lib.get("blue", yaw=-30).side == "left" and lib.get("blue", yaw=30).side == "right"
    assert lib.get("blue", yaw=-5).side == "front" and lib.get("blue").side == "front"
    assert lib.get("paint", yaw=40).name == "paint"  # no side template: the front one
    img, lm = schematic_face(256)
    for yaw, name in ((35.0, "blue.right"), (-35.0, "blue.left"), (0.0, "blue")):
        r = render_occluder(img, lm, "blue", rng_for(0), yaw=yaw, library=lib)
        assert r.info["asset"] == name and r.mask.sum() > 1000


def test_imported_glasses_hold_the_eye_corners(imported):
    _, out = imported
    lib = AssetLibrary.load(extra_dirs=[out])
    img, lm, r = _rendered(lib, "specs")
    s = placement_stats(img, r.image, lm)
    assert s["eye_corners"] == 1.0 and not s["mouth_touched"]
    changed = changed_pixels(img, r.image)
    iod = np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0))
    ys, xs = np.nonzero(changed)
    near = np.hypot(xs - lm[27, 0], ys - lm[27, 1]) < 0.2 * iod
    assert near.any()  # the bridge sits at landmark 27
    assert (np.abs(xs - lm[27, 0]) < 0.05 * iod).sum() < 0.2 * iod * 5  # ... and is thin


def test_imported_mask_on_real_faces(imported, lfw_images):
    """Placement figures of the drawn masks, on a spread of lfw-dev faces (detected by the
    package): nose/mouth/chin covered, eyes clear, little spill."""
    _, out = imported
    lib = AssetLibrary.load(extra_dirs=[out])
    faces = detect_faces(lfw_images[:: max(1, len(lfw_images) // 16)][:16])
    assert len(faces) >= 12
    stats = []
    for i, (img, lm) in enumerate(faces):
        r = render_occluder(img, lm, "blue", rng_for(0, i), library=lib)
        stats.append(placement_stats(img, r.image, lm, r.mask))
    assert np.mean([s["cover"] for s in stats]) >= 0.97
    assert np.mean([s["chin"] for s in stats]) >= 0.97
    assert not any(s["eyes_touched"] for s in stats)
    assert np.mean([s["outside"] for s in stats]) < 0.01


def _two_pieces():
    m = mask_png(loops=False)
    m[:, 170:190, 3] = 0
    return m


def _slanted():  # its top edge rises all the way to the right corner: no nose bridge point
    h, w = 200, 300
    ys, xs = np.mgrid[0:h, 0:w]
    inside = (xs > 20) & (xs < 280) & (ys > 160 - 0.5 * xs) & (ys < 190)
    return np.dstack([np.full((h, w, 3), 128), inside * 255]).astype(np.uint8)


def _flat_alpha(value):
    m = mask_png()
    m[..., 3] = value
    return m


REFUSALS = [
    ("no_alpha", lambda: mask_png(), "RGB", "mask", "no alpha channel"),
    ("empty", lambda: _flat_alpha(0), "RGBA", "mask", "alpha channel is empty"),
    ("full", lambda: _flat_alpha(255), "RGBA", "mask", "opaque almost everywhere"),
    ("pieces", _two_pieces, "RGBA", "mask", "in 2 separate pieces"),
    ("slanted", _slanted, "RGBA", "mask", "fit cannot place this outline"),
    ("one_lens", lambda: glasses_png()[:, :200], "RGBA", "glasses", "found 1 lens regions"),
    ("tiny_lenses", lambda: glasses_png(lens_w=0.06), "RGBA", "glasses", "cannot place these"),
]


@pytest.mark.parametrize(
    ("case", "make", "mode", "kind", "message"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals_say_what_was_found(tmp_path, case, make, mode, kind, message):
    png = save(tmp_path / f"{case}.png", make(), mode)
    r = run(png, "--kind", kind, "--output", tmp_path / "out")
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()  # nothing written


def test_destinations_checked_before_any_write(tmp_path):
    good = save(tmp_path / "good.png", mask_png())
    bad = save(tmp_path / "bad.png", _flat_alpha(0))
    out = tmp_path / "out"
    with pytest.raises(AssetError, match="alpha channel is empty"):
        import_assets([good, bad], "mask", out)
    assert not out.exists()  # the good one was not written either
    import_assets([good], "mask", out)
    before = (out / "good.json").read_bytes()
    r = run(good, "--kind", "mask", "--output", out)
    assert r.exit_code == 2 and "exist already" in r.output
    assert (out / "good.json").read_bytes() == before
    r = run(good, "--kind", "mask", "--output", tmp_path)  # the input's own folder
    assert r.exit_code == 2 and "folder of the input" in r.output
    r = run(good, "--kind", "glasses", "--output", out, "--wear", "chin")
    assert r.exit_code == 2 and "masks only" in r.output


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    w=st.integers(160, 320),
    aspect=st.floats(0.45, 0.85),
    arch=st.floats(0.0, 0.15),
    bulge=st.floats(0.0, 0.2),
    turn=st.floats(-0.6, 0.6),
)
def test_fit_sends_the_jaw_onto_the_bottom_edge(tmp_path, w, aspect, arch, bulge, turn):
    """For any mask-like outline, the anchors of jaw points 5..11 (around the chin) land just
    inside the PNG's bottom edge (covered, within 4 px of the edge at the template scale, where
    a drawn mask's edge is 2 px beyond the jaw), in order from left to right."""
    h = int(w * aspect)
    imp = prepare_import(
        save(tmp_path / "m.png", mask_png(w, h, arch, bulge, turn, loops=False)), "mask"
    )
    meta = json.loads(imp.files[f"{imp.name}.json"])
    rgba = np.asarray(Image.open(__import__("io").BytesIO(imp.files[f"{imp.name}.png"])))
    opaque = (rgba[..., 3] >= 128).astype(np.uint8)
    edge = opaque - cv2.erode(opaque, np.ones((3, 3), np.uint8))
    ey, ex = np.nonzero(edge)
    jaw = np.array([[a["x"], a["y"]] for a in meta["anchors"][5:12]])
    dist = np.hypot(jaw[:, None, 0] - ex[None], jaw[:, None, 1] - ey[None]).min(1)
    assert dist.max() < 4.0, dist  # the edge follows the jaw line ...
    inside = rgba[np.round(jaw[:, 1]).astype(int), np.round(jaw[:, 0]).astype(int), 3]
    assert (inside >= 128).all(), inside  # ... just beyond it: the mask closes under the chin
    assert (np.diff(jaw[:, 0]) > 0).all()  # in order along the edge: nothing folds


def test_preview_of_an_imported_family(imported, tmp_path):
    """`assets preview` shows the wear variants an imported family has (here only 'correct')."""
    _, out = imported
    png = tmp_path / "p.png"
    r = CliRunner().invoke(
        assets_cmd, ["preview", "blue", "--assets-dir", str(out), "--output", str(png)]
    )
    assert r.exit_code == 0, r.output
    assert "1 faces x 1 occluders" in r.output and Image.open(png).size[0] > 200
    listed = CliRunner().invoke(assets_cmd, ["list", "--assets-dir", str(out)])
    row = next(line for line in listed.output.splitlines() if line.startswith("blue.left "))
    assert " left " in row and " no " in row  # side column; a photo is not colourable


@pytest.mark.parametrize("mode", ["LA", "P"])
def test_alpha_in_other_png_modes(tmp_path, mode):
    """Grey + alpha and palette PNGs with a transparent colour are read like RGBA."""
    rgba = mask_png(loops=False)
    im = Image.fromarray(rgba, "RGBA")
    if mode == "LA":
        im = im.convert("LA")
    else:
        rgba = rgba.copy()
        rgba[..., 3] = np.where(rgba[..., 3] >= 128, 255, 0)
        im = Image.fromarray(rgba, "RGBA").quantize(64)  # transparent pixels get their own index
    im.save(tmp_path / "m.png")
    with Image.open(tmp_path / "m.png") as back:
        assert back.mode == mode and (mode == "LA" or "transparency" in back.info)
    imp = prepare_import(tmp_path / "m.png", "mask")
    assert imp.name == "m" and len(imp.files) == 2


@settings(max_examples=8, deadline=None)
@given(
    lens_w=st.floats(0.13, 0.18),  # wider rims would overlap (one lens)
    height=st.integers(110, 200),
    width=st.integers(300, 520),
)
def test_glasses_fit_puts_lenses_on_the_eyes(lens_w, height, width):
    """For any pair of two-lens glasses, the fitted anchors of the eye corners lie inside the
    lens rims of the PNG, and the bridge anchor (landmark 27) between the lenses."""
    from maskforge.occlude.fit import fit_glasses
    from maskforge.occlude.outline import find_lenses

    rgba = glasses_png(width, height, lens_w)
    lenses = find_lenses(rgba[..., 3] / 255.0, "g.png")
    fit = fit_glasses(lenses, "glasses", "g.png")
    by_lm = {
        c["lm"]: p for c, p in zip(fit.constructions, fit.points, strict=True) if "eye" not in c
    }
    for corner, box in (
        (36, lenses.left),
        (39, lenses.left),
        (42, lenses.right),
        (45, lenses.right),
    ):
        x, y = by_lm[corner]
        assert box[0] < x < box[2] and box[1] < y < box[3], corner
    assert lenses.left[2] < by_lm[27][0] < lenses.right[0]


def test_no_halo_from_the_colour_under_transparent_pixels(tmp_path):
    """The test PNG hides magenta under its fully transparent pixels; resampled premultiplied,
    none of it reaches the edge of the imported white mask drawn over black."""
    out = tmp_path / "a"
    import_assets(
        [save(tmp_path / "w.png", mask_png(color=(255, 255, 255), loops=False))], "mask", out
    )
    lib = AssetLibrary.load(extra_dirs=[out])
    img, lm = schematic_face(256)
    black = np.zeros_like(img)
    r = render_occluder(black, lm, "w", rng_for(0), yaw=0.0, library=lib, shade=False)
    px = r.image[changed_pixels(black, r.image)].astype(int)
    assert len(px) > 1000
    tint = np.minimum(px[:, 0], px[:, 2]) - px[:, 1]  # magenta: red and blue above green
    assert tint.max() <= 6
