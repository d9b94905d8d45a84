"""RecordIO: maskforge's reader and writer against the independent packer of tests/recordio_ref.py,
and RecordIO folders as a source (labels, header records, provenance, corrupt records)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.errors import DecodeError, SourceError
from maskforge.io.recordio import (
    MAGIC,
    RecordWriter,
    frame_record,
    pack_image_record,
    read_index,
    read_payload,
    read_property,
    read_record,
    scan_records,
    unpack_image_record,
    write_property,
)
from maskforge.io.sources import list_samples, read_sample_bytes

from . import recordio_ref as ref

MAGIC_LE = struct.pack("<I", MAGIC)


def _image(i: int, n: int = 37) -> bytes:
    """Fake image bytes of odd lengths; some hold the magic at a 4-aligned position."""
    body = bytes((i * 7 + k) % 251 for k in range(n + i))
    return body[:8] + MAGIC_LE + body[8:] if i % 3 == 0 else body


def test_frame_matches_the_reference_packer() -> None:
    for i in range(12):
        p = ref.payload(i, _image(i))
        assert frame_record(p) == ref.frame(p)
    assert len(frame_record(MAGIC_LE * 3)) % 4 == 0


@given(st.lists(st.sampled_from([b"\x0a", b"\x23", b"\xd7", b"\xce", MAGIC_LE, b"xy"]), max_size=30))
def test_frame_roundtrip_property(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    framed = frame_record(data)
    assert framed == ref.frame(data)
    assert ref._record(framed, 0) == data
    import io

    assert read_payload(io.BytesIO(framed), 0) == data


def test_maskforge_writes_the_reference_reads(tmp_path: Path) -> None:
    payloads = [pack_image_record(i % 4, _image(i), id=i) for i in range(9)]
    payloads.append(pack_image_record([5.0, 1.5, -2.0], _image(20), id=9))  # multi-label
    with RecordWriter(tmp_path / "train.rec", tmp_path / "train.idx") as w:
        keys = [w.write(p) for p in payloads]
    write_property(tmp_path / "property", 6, 112, 112)
    assert keys == list(range(10))
    got = ref.read_all(tmp_path / "train.rec", tmp_path / "train.idx")
    for i in range(9):
        assert got[i] == (0, (float(i % 4),), _image(i))
    flag, labels, image = got[9]
    assert (flag, image) == (3, _image(20))
    assert labels == pytest.approx((5.0, 1.5, -2.0))
    assert (tmp_path / "property").read_text().strip() == "6,112,112"
    assert read_property(tmp_path / "property") == (6, 112, 112)
    assert not list(tmp_path.glob(".*.tmp"))


def test_writer_leaves_nothing_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), RecordWriter(tmp_path / "a.rec", tmp_path / "a.idx") as w:
        w.write(pack_image_record(0, b"abc"))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_reference_writes_maskforge_reads(tmp_path: Path) -> None:
    payloads = [ref.payload(i, _image(i), rid=i) for i in range(7)]
    payloads.append(ref.payload([3.0, 7.0], _image(8), rid=7))
    rec = ref.write(tmp_path, payloads, num_classes=7)
    offsets = dict(read_index(tmp_path / "train.idx"))
    for i in range(7):
        r = read_record(rec, offsets[i])
        assert (r.flag, r.label, r.id, r.image) == (0, float(i), i, _image(i))
    multi = read_record(rec, offsets[7])
    assert (multi.flag, multi.labels, multi.image) == (2, (3.0, 7.0), _image(8))
    with open(rec, "rb") as fh:
        streamed = [(off, p) for off, p in scan_records(fh)]
    assert [off for off, _ in streamed] == [offsets[k] for k in range(8)]
    assert [unpack_image_record(p).image for _, p in streamed] == [_image(i) for i in range(7)] + [_image(8)]


def _dataset(tmp_path: Path) -> tuple[Path, list[list[bytes]]]:
    identities = [[_image(10 * a + b) for b in range(n)] for a, n in enumerate([3, 1, 4, 2])]
    ref.write(tmp_path / "ms1m", ref.insightface_layout(identities), num_classes=4)
    return tmp_path / "ms1m", identities


@pytest.mark.parametrize("with_idx", [True, False])
def test_insightface_folder_lists_like_identity_folders(tmp_path: Path, with_idx: bool) -> None:
    folder, identities = _dataset(tmp_path)
    if not with_idx:
        (folder / "train.idx").unlink()
    listing = list_samples(folder)
    assert listing.labels == {f"{k:08d}": k for k in range(4)}
    assert listing.skipped == {}  # header records are structure, not rejects
    assert [s.label for s in listing.samples] == [0, 0, 0, 1, 2, 2, 2, 2, 3, 3]
    assert [s.source_path for s in listing.samples][:4] == [f"train.rec#{k}" for k in (1, 2, 3, 4)]
    assert all(s.path == (folder / "train.rec").resolve() for s in listing.samples)
    images = [read_sample_bytes(s) for s in listing.samples]
    assert images == [img for imgs in identities for img in imgs]
    assert len({s.sample_id for s in listing.samples}) == 10
    # the .rec file itself is the same source
    assert [s.sample_id for s in list_samples(folder / "train.rec").samples] == [
        s.sample_id for s in listing.samples
    ]


def test_multi_label_records_use_the_first_label(tmp_path: Path) -> None:
    payloads = [ref.payload([float(k % 2), 30.0 + k], _image(k)) for k in range(4)]
    listing = list_samples(ref.write(tmp_path, payloads))
    assert [(s.identity, s.source_path) for s in listing.samples] == [
        ("00000000", "train.rec#0"), ("00000000", "train.rec#2"),
        ("00000001", "train.rec#1"), ("00000001", "train.rec#3"),
    ]  # fmt: skip


def _corrupt(folder: Path, key: int, at: int, data: bytes) -> None:
    offsets = dict(read_index(folder / "train.idx"))
    raw = bytearray((folder / "train.rec").read_bytes())
    raw[offsets[key] + at : offsets[key] + at + len(data)] = data
    (folder / "train.rec").write_bytes(bytes(raw))


@pytest.mark.parametrize("with_idx", [True, False])
def test_bad_magic_is_a_reject_and_the_rest_is_listed(tmp_path: Path, with_idx: bool) -> None:
    folder, _ = _dataset(tmp_path)
    _corrupt(folder, 5, 0, b"JUNK")
    if not with_idx:
        (folder / "train.idx").unlink()
    listing = list_samples(folder)
    assert listing.skipped == {"bad_magic": 1}
    (row,) = listing.reject_rows()
    assert (row["stage"], row["reason"], row["source_path"]) == ("list", "bad_magic", "train.rec#5")
    assert "byte" in row["detail"]
    assert len(listing.samples) == 9
    assert "train.rec#5" not in {s.source_path for s in listing.samples}


def test_truncated_file_and_bad_label_are_rejects(tmp_path: Path) -> None:
    payloads = [ref.payload(0, _image(1)), ref.payload(-1, _image(2)), ref.payload(1.5, _image(4)),
                ref.payload(1, _image(5))]  # fmt: skip
    rec = ref.write(tmp_path, payloads)
    rec.write_bytes(rec.read_bytes()[:-10])
    listing = list_samples(tmp_path)
    assert listing.skipped == {"bad_label": 2, "truncated_record": 1}
    assert [s.source_path for s in listing.samples] == ["train.rec#0"]


def test_a_record_corrupted_after_listing_fails_at_read(tmp_path: Path) -> None:
    folder, _ = _dataset(tmp_path)
    listing = list_samples(folder)
    _corrupt(folder, 2, 0, b"\0\0\0\0")
    sample = next(s for s in listing.samples if s.source_path == "train.rec#2")
    with pytest.raises(DecodeError) as exc:
        read_sample_bytes(sample)
    assert exc.value.reason == "bad_magic"


def test_no_image_record_is_a_source_error(tmp_path: Path) -> None:
    ref.write(tmp_path, [ref.payload([2.0, 2.0], b"")])
    with pytest.raises(SourceError, match="no image records"):
        list_samples(tmp_path / "train.rec")


@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)), max_size=4),
    st.integers(0, 64),
    st.booleans(),
)
def test_damaged_files_never_crash_property(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, bytes]], cut: int, with_idx: bool
) -> None:
    """Random overwrites and truncation: listing gives rows and rejects (or one SourceError when
    no image record is left); reading a listed record gives bytes or a DecodeError."""
    folder = tmp_path_factory.mktemp("damaged")
    identities = [[_image(10 * a + b) for b in range(3)] for a in range(3)]
    rec = ref.write(folder, ref.insightface_layout(identities))
    raw = bytearray(rec.read_bytes())
    for at, data in edits:
        at %= len(raw)
        raw[at : at + len(data)] = data
    rec.write_bytes(bytes(raw[: len(raw) - cut]))
    if not with_idx:
        (folder / "train.idx").unlink()
    try:
        listing = list_samples(folder)
    except SourceError:
        return
    assert all(r["stage"] == "list" and r["reason"] for r in listing.reject_rows())
    for s in listing.samples:
        try:
            assert isinstance(read_sample_bytes(s), bytes)
        except DecodeError as exc:
            assert exc.reason


@pytest.mark.parametrize("with_idx", [True, False])
def test_a_damaged_header_naming_billions_of_records_is_cheap(tmp_path: Path, with_idx: bool) -> None:
    """Record 0's identity-header range came from a damaged file as [1, 1e12): the listing once
    built a set of every key in it (a random hypothesis draw took 24 GB). Now a range."""
    identities = [[_image(10 * a + b) for b in range(3)] for a in range(2)]
    payloads = ref.insightface_layout(identities)
    payloads[0] = ref.payload([1.0, 1e12], b"")
    rec = ref.write(tmp_path, payloads)
    if not with_idx:
        (tmp_path / "train.idx").unlink()
    with pytest.raises(SourceError):  # every image record lies inside the announced range
        list_samples(tmp_path)
    assert rec.is_file()
