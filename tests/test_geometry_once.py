"""The one flip table and the one point/box transform, shared by detect and augment."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maskforge.augment import FLIP_5, FLIP_68, HorizontalFlip, Targets
from maskforge.detect.align import apply_transform, mirror_box, transform_box
from maskforge.detect.landmarks import MIRROR5, MIRROR68, mirror_points

coords = st.floats(0, 200, allow_nan=False, width=32)


def test_one_table() -> None:
    assert FLIP_68 is MIRROR68 and FLIP_5 is MIRROR5


@settings(max_examples=50, deadline=None)
@given(arrays(np.float32, (68, 2), elements=coords), arrays(np.float32, (5, 2), elements=coords),
       st.lists(coords, min_size=4, max_size=4), st.integers(201, 400))
def test_flip_is_an_involution_and_matches_augment(lm68, lm5, box, width) -> None:
    x1, x2 = sorted(box[::2])
    y1, y2 = sorted(box[1::2])
    bbox = np.array([x1, y1, x2, y2], np.float32)
    np.testing.assert_allclose(mirror_points(mirror_points(lm68, width), width), lm68, atol=1e-3)
    np.testing.assert_allclose(mirror_box(mirror_box(bbox, width), width), bbox, atol=1e-3)
    image = np.zeros((220, width, 3), np.uint8)
    out = HorizontalFlip(p=1.0).apply(Targets(image, lm5, lm68, bbox))
    np.testing.assert_array_equal(out.landmarks68, mirror_points(lm68, width))
    np.testing.assert_array_equal(out.landmarks5, mirror_points(lm5, width))
    np.testing.assert_array_equal(out.bbox, mirror_box(bbox, width))


@settings(max_examples=50, deadline=None)
@given(st.floats(-3, 3), st.floats(0.2, 3), st.floats(-50, 50), st.floats(-50, 50),
       arrays(np.float32, (7, 2), elements=coords))
def test_box_transform_bounds_the_mapped_corners(angle, scale, tx, ty, pts) -> None:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    m = np.array([[c, -s, tx], [s, c, ty]])
    box = np.concatenate([pts.min(0), pts.max(0)])
    mapped = apply_transform(m, pts)
    bounds = transform_box(m, box)
    assert (mapped >= bounds[:2] - 1e-3).all() and (mapped <= bounds[2:] + 1e-3).all()
    assert apply_transform(m, None) is None and transform_box(m, None) is None
