from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.errors import SourceError
from maskforge.io.sharding import make_shards
from maskforge.io.sources import SourceSample, list_samples, sample_id_for


def touch(root: Path, rel: str, data: bytes = b"x") -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


@pytest.mark.parametrize(
    "files",
    [
        ["0000045/001.jpg", "0000045/002.jpg", "0000099/001.jpg"],  # CASIA-WebFace
        ["n000002/0001_01.jpg", "n000002/0002_01.jpg", "n000003/0001_01.jpg"],  # VGGFace2
        ["Ann_Lee/Ann_Lee_0001.jpg", "Ann_Lee/Ann_Lee_0002.jpg", "Bob/Bob_0001.jpg"],  # LFW
    ],
)
def test_folder_layouts(tmp_path: Path, files: list[str]) -> None:
    for f in reversed(files):
        touch(tmp_path, f)
    listing = list_samples(tmp_path)
    assert [s.source_path for s in listing.samples] == files
    ids = sorted({f.split("/")[0] for f in files})
    assert listing.labels == {name: i for i, name in enumerate(ids)}
    assert [s.label for s in listing.samples] == [ids.index(f.split("/")[0]) for f in files]
    assert all(s.path.is_file() and s.path.is_absolute() for s in listing.samples)


def test_extensions_hidden_and_other_files(tmp_path: Path) -> None:
    for rel in ["a/1.JPG", "a/2.jpeg", "a/3.Png", "a/4.bmp", "a/5.WEBP", "a/.6.jpg", "a/notes.txt",
                "a/.hidden/7.jpg", ".git/x.jpg", "loose.jpg", "b/deep/er/8.jpg"]:
        touch(tmp_path, rel)
    listing = list_samples(tmp_path)
    assert [s.source_path for s in listing.samples] == [
        "a/1.JPG", "a/2.jpeg", "a/3.Png", "a/4.bmp", "a/5.WEBP", "b/deep/er/8.jpg"]
    assert listing.samples[-1].identity == "b"
    assert listing.skipped == {"hidden": 3, "not_an_image_file": 1, "not_in_identity_folder": 1}


def test_ids_stable_and_derived_from_path(tmp_path: Path) -> None:
    for rel in ["x/1.jpg", "y/2.jpg", "y/1.jpg"]:
        touch(tmp_path, rel)
    a, b = list_samples(tmp_path), list_samples(tmp_path)
    assert [s.sample_id for s in a.samples] == [s.sample_id for s in b.samples]
    assert a.samples[0].sample_id == sample_id_for("x/1.jpg")
    assert len({s.sample_id for s in a.samples}) == 3
    # ids depend on the relative path, not on where the dataset lives
    other = tmp_path.parent / (tmp_path.name + "-copy")
    for rel in ["x/1.jpg", "y/2.jpg", "y/1.jpg"]:
        touch(other, rel)
    assert [s.sample_id for s in list_samples(other).samples] == [s.sample_id for s in a.samples]


def test_csv_list_with_hints(tmp_path: Path) -> None:
    touch(tmp_path, "imgs/p1.jpg")
    touch(tmp_path, "imgs/p2.jpg")
    with open(tmp_path / "list.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "identity", "bbox"])
        w.writerow(["imgs/p2.jpg", "zed", ""])
        w.writerow(["imgs/p1.jpg", "amy", "10,20,110,140"])
        w.writerow(["imgs/readme.md", "amy", ""])
    listing = list_samples(tmp_path / "list.csv")
    assert [(s.identity, s.source_path) for s in listing.samples] == [("amy", "imgs/p1.jpg"), ("zed", "imgs/p2.jpg")]
    assert listing.samples[0].hints == {"bbox": [10.0, 20.0, 110.0, 140.0]}
    assert listing.samples[1].hints is None
    assert listing.skipped == {"not_an_image_file": 1}


def test_parquet_list(tmp_path: Path) -> None:
    touch(tmp_path, "p1.jpg")
    pq.write_table(pa.table({"path": [str(tmp_path / "p1.jpg")], "identity": ["amy"]}), tmp_path / "l.parquet")
    listing = list_samples(tmp_path / "l.parquet")
    assert listing.samples[0].source_path == "p1.jpg"


def test_list_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("file,who\na.jpg,x\n")
    with pytest.raises(SourceError, match="path, identity|path,identity|identity"):
        list_samples(tmp_path / "bad.csv")
    with pytest.raises(SourceError, match="does not exist"):
        list_samples(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        list_samples(tmp_path / "empty")


def _samples(sizes: list[int]) -> list[SourceSample]:
    out = []
    for i, n in enumerate(sizes):
        for j in range(n):
            rel = f"id{i:04d}/{j:04d}.jpg"
            out.append(SourceSample(sample_id_for(rel), f"id{i:04d}", i, rel, Path(rel)))
    return out


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 60), min_size=1, max_size=40), shard_size=st.integers(1, 100))
def test_shards_hold_whole_identities(sizes: list[int], shard_size: int) -> None:
    samples = _samples(sizes)
    shards = make_shards(samples, shard_size)
    seen = [s.sample_id for sh in shards for s in sh.samples]
    assert sorted(seen) == sorted(s.sample_id for s in samples)  # every sample exactly once
    owner: dict[str, int] = {}
    for sh in shards:
        for s in sh.samples:
            assert owner.setdefault(s.identity, sh.index) == sh.index  # identity never split
        # a shard exceeds the target only when it is a single oversized identity
        assert len(sh.samples) <= shard_size or len(sh.identities) == 1
    assert [sh.index for sh in shards] == list(range(len(shards)))
    assert make_shards(list(reversed(samples)), shard_size) == shards  # order-independent


def _image(path: Path, fmt: str) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), (10, 200, 30)).save(path, format=fmt)


def test_symlink_loop_lists_each_real_file_once(tmp_path: Path) -> None:
    # today's main: a link back to the root inside an identity folder lists files again and again
    # (12 files -> thousands of samples), under the wrong identities
    files = [f"{ident}/{i}.jpg" for ident in ("ann", "bob", "cy") for i in range(4)]
    for rel in files:
        touch(tmp_path, rel)
    (tmp_path / "ann" / "loop").symlink_to(tmp_path)  # back to the root
    (tmp_path / "bob" / "self").symlink_to(tmp_path / "bob")  # back to its own folder
    (tmp_path / "ann" / "bobs").symlink_to(tmp_path / "bob")  # a sibling identity's folder
    (tmp_path / "cy" / "again.jpg").symlink_to(tmp_path / "cy" / "0.jpg")  # a second name
    listing = list_samples(tmp_path)
    assert sorted(s.source_path for s in listing.samples) == sorted(files)
    assert {s.source_path: s.identity for s in listing.samples} == {f: f.split("/")[0] for f in files}
    reasons = {(s.path, s.reason) for s in listing.skipped_files}
    assert ("ann/loop", "symlink_loop") in reasons and ("bob/self", "symlink_loop") in reasons
    assert ("cy/again.jpg", "duplicate_file") in reasons
    assert ("ann/bobs/0.jpg", "duplicate_file") in reasons
    assert listing.skipped["duplicate_file"] == 5


def test_file_outside_root_reached_by_link_is_listed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside, "x.jpg")
    root = tmp_path / "data"
    touch(root, "ann/1.jpg")
    (root / "ann" / "more").symlink_to(outside)
    listing = list_samples(root)
    assert [s.source_path for s in listing.samples] == ["ann/1.jpg", "ann/more/x.jpg"]


def test_one_file_under_two_identities_in_a_list_is_an_error(tmp_path: Path) -> None:
    # today's main: silently given to the first identity
    touch(tmp_path, "imgs/p1.jpg")
    touch(tmp_path, "imgs/p2.jpg")
    (tmp_path / "list.csv").write_text(
        "path,identity\nimgs/p1.jpg,amy\nimgs/p2.jpg,amy\n./imgs/p1.jpg,zed\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"imgs/p1.jpg: row 2 \('amy'\), row 4 \('zed'\)"):
        list_samples(tmp_path / "list.csv")
    # the same file twice under one identity is only a duplicate, recorded by name
    (tmp_path / "list.csv").write_text(
        "path,identity\nimgs/p1.jpg,amy\nimgs/p2.jpg,amy\nimgs/./p1.jpg,amy\n", encoding="utf-8")
    listing = list_samples(tmp_path / "list.csv")
    assert [s.source_path for s in listing.samples] == ["imgs/p1.jpg", "imgs/p2.jpg"]
    assert [(s.reason, s.detail) for s in listing.skipped_files] == [
        ("duplicate_file", "same file as imgs/p1.jpg")]


def test_every_pillow_format_is_tried_and_skips_are_named(tmp_path: Path) -> None:
    # today's main: .tif/.gif are counted as skipped without names, never tried
    from maskforge.io.decode import decode_image

    for name, fmt in [("a.tif", "TIFF"), ("b.TIFF", "TIFF"), ("c.gif", "GIF"), ("d.webp", "WEBP"),
                      ("e.bmp", "BMP"), ("f.ppm", "PPM"), ("g.png", "PNG")]:
        _image(tmp_path / "ann" / name, fmt)
    touch(tmp_path, "ann/notes.txt")
    touch(tmp_path, "ann/.DS_Store")
    listing = list_samples(tmp_path)
    assert [s.source_path for s in listing.samples] == [
        "ann/a.tif", "ann/b.TIFF", "ann/c.gif", "ann/d.webp", "ann/e.bmp", "ann/f.ppm", "ann/g.png"]
    for s in listing.samples:
        assert decode_image(s.path).shape == (24, 32, 3)
    assert [(s.path, s.reason) for s in listing.skipped_files] == [
        ("ann/.DS_Store", "hidden"), ("ann/notes.txt", "not_an_image_file")]
    assert listing.skipped == {"hidden": 1, "not_an_image_file": 1}


def test_output_folders_inside_the_input_are_not_listed(tmp_path: Path) -> None:
    for rel in ["ann/1.jpg", "bob/2.jpg", "out/report/thumbnails/3.jpg", "flagged/ann/4.jpg"]:
        touch(tmp_path, rel)
    (tmp_path / "out" / "manifest.json").write_text('{"maskforge_manifest": 1, "status": "running"}')
    listing = list_samples(tmp_path, exclude=[tmp_path / "flagged"])
    assert [s.source_path for s in listing.samples] == ["ann/1.jpg", "bob/2.jpg"]
    assert {(s.path, s.reason) for s in listing.skipped_files} == {
        ("out", "output_folder"), ("flagged", "output_folder")}
    # a list file naming files inside an excluded folder
    (tmp_path / "list.csv").write_text("path,identity\nann/1.jpg,ann\nflagged/ann/4.jpg,ann\n")
    listing = list_samples(tmp_path / "list.csv", exclude=[tmp_path / "flagged"])
    assert [s.source_path for s in listing.samples] == ["ann/1.jpg"]
    assert [s.reason for s in listing.skipped_files] == ["output_folder"]
