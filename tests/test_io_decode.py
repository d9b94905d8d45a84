from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from maskforge.errors import DecodeError
from maskforge.io.decode import decode_image, decode_with_info, encode_image, jpeg_roundtrip

from .zoo import ZOO, gradient


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_decodes_or_rejects_with_reason(name: str) -> None:
    factory, expected = ZOO[name]
    data = factory()
    if isinstance(expected, str):
        with pytest.raises(DecodeError) as info:
            decode_image(data)
        assert info.value.reason == expected
    else:
        img = decode_image(data)
        assert img.dtype == np.uint8
        assert img.ndim == 3 and img.shape[2] == 3
        assert img.shape[:2] == expected
        assert img.flags["C_CONTIGUOUS"]


def test_exif_rotation_applied() -> None:
    _, expected = ZOO["rotated.jpg"]
    img, info = decode_with_info(ZOO["rotated.jpg"][0]())
    assert img.shape[:2] == (64, 48)
    assert info["as_is"] is False  # stored bytes would show the unrotated image
    # Orientation 6 = rotate 90 degrees clockwise: the source's top-left corner (dark red,
    # blue 0) ends up at the top-right.
    src = gradient(64, 48)
    assert np.abs(img[0, -1].astype(int) - src[0, 0].astype(int)).max() < 30


def test_rgba_composited_on_white() -> None:
    img = decode_image(ZOO["rgba.png"][0]())
    assert tuple(img[40, 10]) == (255, 255, 255)  # transparent half
    assert tuple(img[5, 10]) == (200, 0, 0)


def test_sixteen_bit_scaled_to_eight() -> None:
    img = decode_image(ZOO["sixteen.png"][0]())
    arr = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 20)
    expect = np.rint(arr * 255 / 65535).astype(np.uint8)
    assert np.array_equal(img[..., 0], expect)
    assert np.array_equal(img[..., 0], img[..., 2])


def test_pixel_limit_is_configurable() -> None:
    data = ZOO["ok.jpg"][0]()
    with pytest.raises(DecodeError) as info:
        decode_image(data, max_pixels=64 * 48 - 1)
    assert info.value.reason == "too_many_pixels"
    assert decode_image(data, max_pixels=64 * 48).shape == (48, 64, 3)


def test_min_side() -> None:
    with pytest.raises(DecodeError) as info:
        decode_image(ZOO["tiny.png"][0](), min_side=2)
    assert info.value.reason == "too_small"


def test_unreadable_path(tmp_path) -> None:
    with pytest.raises(DecodeError) as info:
        decode_image(tmp_path / "missing.jpg")
    assert info.value.reason == "unreadable"


def test_plain_rgb_jpeg_is_stored_as_is(tmp_path) -> None:
    path = tmp_path / "a.jpg"
    Image.fromarray(gradient()).save(path, quality=90)
    img, info = decode_with_info(path)
    assert info == {"format": "JPEG", "mode": "RGB", "as_is": True}
    assert img.shape == (48, 64, 3)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_lossless_encode_roundtrip(fmt: str) -> None:
    img = gradient()
    data = encode_image(img, fmt, quality=101 if fmt == "webp" else 95)
    back = decode_image(data)
    if fmt == "png":
        assert np.array_equal(back, img)
    else:
        assert back.shape == img.shape


def test_real_face_decodes(lfw_images) -> None:
    img = decode_image(lfw_images[0])
    assert img.shape == (250, 250, 3)


@pytest.mark.parametrize("quality", [40, 75, 95])
def test_jpeg_roundtrip_is_an_rgb_jpeg(quality: int) -> None:
    """The JPEG round trip that augment's ``jpeg`` and the masks' re-applied compression share
    encodes RGB as RGB: on a pattern whose fine detail is in red and blue (JPEG keeps luma at
    full resolution, chroma at half), it matches Pillow's RGB JPEG at the same quality (both
    libjpeg), and is far from what an encoder handed the channels swapped makes."""
    rng = np.random.default_rng(7)
    img = np.zeros((64, 48, 3), np.uint8)
    img[..., 0] = np.where(np.indices((64, 48)).sum(0) % 2 == 0, 255, 0)
    img[..., 1] = 80
    img[..., 2] = rng.integers(0, 256, (64, 48))
    out = jpeg_roundtrip(img, quality)
    assert out.shape == img.shape and out.dtype == np.uint8
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    ref = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.int16)
    ok, swapped = cv2.imencode(".jpg", img, (cv2.IMWRITE_JPEG_QUALITY, quality))
    wrong = np.asarray(cv2.imdecode(swapped, cv2.IMREAD_COLOR), np.int16)
    assert np.abs(out.astype(np.int16) - ref).mean() < 2.0
    assert np.abs(wrong - ref).mean() > 10.0
    assert np.array_equal(out, jpeg_roundtrip(img, quality))
