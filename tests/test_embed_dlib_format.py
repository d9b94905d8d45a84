"""dlib's serialization format and the ResNet built from the .dat (no faces needed, ~2 s)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.embed.dlib_format import (
    DlibFormatError,
    Reader,
    parse_dlib_network,
    read_dlib_network,
)
from maskforge.models import dlib_model_path


def pack_int(value: int) -> bytes:
    """dlib's portable integer, written from its spec (control byte, little-endian magnitude)."""
    mag = abs(value)
    body = mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "little") if mag else b"\x00"
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


@given(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1))
def test_portable_int_round_trip(value):
    r = Reader(pack_int(value) + pack_int(7))
    assert r.int() == value and r.int() == 7 and r.pos == len(r.data)


@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_portable_float_round_trip(value):
    mantissa, exponent = np.frexp(np.float64(value))
    m = int(np.ldexp(mantissa, 53))
    data = pack_int(m) + pack_int(int(exponent) - 53)
    assert Reader(data).float() == pytest.approx(value, rel=0, abs=0)


def test_known_encodings_and_special_values():
    # from the .dat: the loss layer's margin (0.04) and distance threshold (0.6)
    r = Reader(bytes.fromhex("030ad7a3811c039a99998118"))
    assert r.float() == pytest.approx(0.04, rel=1e-7) and r.float() == pytest.approx(0.6, rel=1e-7)
    assert Reader(pack_int(1) + pack_int(32000)).float() == float("inf")
    assert np.isnan(Reader(pack_int(1) + pack_int(32002)).float())
    assert Reader(b"\x01\xff").int() == 255 and Reader(b"\x82\x00\x01").int() == -256
    with pytest.raises(DlibFormatError):
        Reader(b"\x71\x00").int()  # reserved bits set
    with pytest.raises(DlibFormatError, match="ends"):
        Reader(b"\x04\x01").int()


def test_tensor_versions():
    dims = b"".join(pack_int(v) for v in (1, 2, 1, 1))
    raw = pack_int(2) + dims + struct.pack("<2f", 1.5, -2.0)
    np.testing.assert_array_equal(Reader(raw).tensor().ravel(), [1.5, -2.0])
    portable = pack_int(1) + dims + pack_int(3) + pack_int(-1) + pack_int(-1) + pack_int(0)
    np.testing.assert_array_equal(Reader(portable).tensor().ravel(), [1.5, -1.0])


@pytest.fixture(scope="module")
def dat_bytes():
    return dlib_model_path("resnet_embedder").read_bytes()


def test_reads_dlib_face_resnet(dat_bytes):
    net = parse_dlib_network(dat_bytes)
    kinds = [layer.kind for layer in net.layers]
    assert net.loss == "loss_metric_2"
    assert net.loss_params["distance_threshold"] == pytest.approx(0.6)
    assert net.input_params["size"] == (150, 150)
    assert kinds.count("con") == 29 and kinds.count("add_prev") == 14 and kinds.count("relu") == 29
    assert kinds[:4] == ["con", "affine", "relu", "max_pool"] and kinds[-2:] == ["avg_pool", "fc"]
    stem = net.layers[0]
    assert stem.tensors["weight"].shape == (32, 3, 7, 7) and stem.params["stride"] == (2, 2)
    assert net.layers[-1].tensors["weight"].shape == (256, 128)


def test_truncated_or_foreign_files_fail_clearly(dat_bytes, tmp_path):
    with pytest.raises(DlibFormatError, match="dlib model"):
        parse_dlib_network(dat_bytes[: len(dat_bytes) // 2])
    bad = tmp_path / "shape.dat"
    bad.write_bytes(dlib_model_path("shape_predictor_5").read_bytes())
    with pytest.raises(DlibFormatError):
        read_dlib_network(bad)


def test_converted_weights_cached_by_sha256(tmp_path, monkeypatch):
    import maskforge.embed.dlib_net as dn
    from maskforge.embed.base import sha256_file

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    dat = dlib_model_path("resnet_embedder")
    first = dn.load_dlib_resnet(dat)
    files = list((tmp_path / "maskforge").iterdir())
    assert [f.name for f in files] == [f"dlib-resnet-{sha256_file(dat)[:16]}-v{dn.CONVERTER_VERSION}.pt"]

    def boom(_dat):
        raise AssertionError("converted again although cached")

    monkeypatch.setattr(dn, "convert", boom)
    second = dn.load_dlib_resnet(dat)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())
    files[0].write_bytes(b"not a torch file")  # a damaged cache file is rebuilt
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    dn.load_dlib_resnet(dat)
    assert files[0].stat().st_size > 1_000_000


def test_padded_add_is_dlibs_add_prev():
    import torch

    from maskforge.embed.dlib_net import padded_add

    a = torch.ones(1, 4, 3, 3)
    b = torch.full((1, 2, 4, 4), 2.0)
    out = padded_add(a, b)
    assert out.shape == (1, 4, 4, 4)
    assert out[0, :2, :3, :3].eq(3).all() and out[0, 2:, :3, :3].eq(1).all()
    assert out[0, :2, 3, :].eq(2).all() and out[0, 2:, 3, :].eq(0).all()
