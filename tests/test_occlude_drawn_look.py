"""The drawn masks' surface detail (issue 14): folds that survive 112 px, cup lighting, the
soft shadow along the top edge. Measured on a flat grey canvas with the canonical landmarks, with
the face-luminance shading off, so only the asset's own shading shows. Each threshold sits between
the figure of the flat-looking assets before issue 14 and today's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskforge.occlude import AssetLibrary, render_occluder
from maskforge.occlude.anchors import canonical_landmarks
from maskforge.seeding import rng_for

GREY = 180


@pytest.fixture(scope="module")
def lib():
    return AssetLibrary.load()


def _render(lib, spec, size=112, iod=35.0):
    """(luminance, covered mask, landmarks) of ``spec`` on a flat grey ``size`` px canvas whose
    canonical face has ``iod`` px between the eyes (35 px: a 112 px ArcFace crop)."""
    lm = canonical_landmarks(iod, (size / 2, size * 0.43))
    img = np.full((size, size, 3), GREY, np.uint8)
    r = render_occluder(img, lm, spec, rng_for(0), yaw=0.0, library=lib, shade=False)
    return r.image.astype(np.float32).mean(axis=2), r.mask, lm


def test_surgical_pleats_survive_112px(lib):
    """Down the middle of a white surgical mask at 112 px, the pleats still modulate the
    luminance: std of the high-passed profile >= 9 grey levels (flat drawing before: 5.7)."""
    lum, mask, _ = _render(lib, "surgical+#ffffff")
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rows = [y for y in range(lum.shape[0]) if inner[y, 40:72].all()]
    col = lum[rows, 40:72].mean(axis=1)
    high = col - np.convolve(col, np.ones(9) / 9, mode="same")
    assert len(rows) > 30 and high[4:-4].std() >= 9.0


@pytest.mark.parametrize(("spec", "spread"), [("n95", 80.0), ("kn95", 55.0)])
def test_cups_are_lit_not_flat(lib, spec, spread):
    """A white N95/KN95 at 112 px is shaded like a moulded cup / folded panels: the 5th to 95th
    percentile luminance spread inside it is wide (before: 42 and 40 grey levels, a white blob)."""
    lum, mask, _ = _render(lib, spec)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    v = lum[inner]
    assert np.percentile(v, 95) - np.percentile(v, 5) >= spread


def test_kn95_specular_is_white_over_black(lib):
    """The highlight is not multiplied by the colour: a black KN95 still has bright spots."""
    lum, mask, _ = _render(lib, "kn95-black", size=250, iod=100.0)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    v = lum[inner]
    assert np.percentile(v, 99) - np.median(v) >= 12


def test_soft_shadow_along_the_top_edge(lib):
    """Just above a mask's top edge the skin is darkened (a soft contact shadow), 0.06 IOD above
    it nothing has changed, and over the nose bridge there is no shadow."""
    lum, mask, lm = _render(lib, "surgical", size=250, iod=100.0)
    cx = lm[27, 0]
    x = int(round(cx + 0.6 * 100))  # under the eye, off the nose bridge
    top = int(np.flatnonzero(mask[:, x])[0])
    assert lum[top - 2, x] < GREY - 4  # darkened just above the edge
    assert lum[top - 2, x] > GREY - 80  # ... softly
    assert np.all(lum[: top - 6, x] == GREY)  # gone 0.06 IOD above
    xc = int(round(cx))
    topc = int(np.flatnonzero(mask[:, xc])[0])
    assert np.all(lum[: topc - 2, xc] == GREY)  # none at the nose bridge
