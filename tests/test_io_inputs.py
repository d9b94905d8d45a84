"""Inputs: regular files only, any name, CSV fields of any length (issue 21, item 4; rows 6, 7, 11, 12)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from maskforge.errors import DecodeError, SourceError
from maskforge.io.csvfile import read_csv_rows, resolve_listed
from maskforge.io.decode import decode_image, encode_image
from maskforge.io.inputs import InputFileError, input_problem, read_input
from maskforge.io.sources import list_samples

pytestmark = pytest.mark.timeout(30)  # a FIFO or /dev/zero must never hang a test

JPG = encode_image(np.full((16, 16, 3), 128, np.uint8), "jpeg")


def hostile_tree(root: Path) -> Path:
    """Two good images and every kind of name and file a careless or hostile user may leave."""
    (root / "Alice").mkdir(parents=True)
    (root / "Alice" / "a.jpg").write_bytes(JPG)
    os.mkfifo(root / "Alice" / "fifo.jpg")  # opens block until a writer comes
    os.symlink("/dev/zero", root / "Alice" / "zero.jpg")  # endless bytes
    (root / "Alice" / "folder.jpg").mkdir()  # a folder where a file should be
    os.symlink(root / "missing.jpg", root / "Alice" / "broken.jpg")
    latin = os.fsencode(root) + b"/Bob"
    os.makedirs(latin)
    with open(latin + b"/caf\xe9.jpg", "wb") as fh:  # a Latin-1 name
        fh.write(JPG)
    (root / "Bob" / ("n" * 251 + ".jpg")).write_bytes(JPG)  # a 255-byte name
    (root / "loose.jpg").write_bytes(JPG)  # a file where an identity folder should be
    return root


def test_input_problem_never_opens(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.jpg")
    os.symlink("/dev/zero", tmp_path / "z.jpg")
    assert input_problem(tmp_path / "p.jpg")[0] == "not_a_regular_file"
    assert "FIFO" in input_problem(tmp_path / "p.jpg")[1]
    assert input_problem(tmp_path / "z.jpg")[0] == "not_a_regular_file"
    assert input_problem(tmp_path / "none.jpg")[0] == "missing"
    (tmp_path / "big.jpg").write_bytes(b"x" * 100)
    assert input_problem(tmp_path / "big.jpg", max_bytes=10)[0] == "too_large"
    with pytest.raises(InputFileError) as info:
        read_input(tmp_path / "big.jpg", max_bytes=10)
    assert info.value.reason == "too_large"


def test_decode_rejects_fifo_and_device_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.jpg")
    os.symlink("/dev/zero", tmp_path / "z.jpg")
    for name in ("p.jpg", "z.jpg"):
        with pytest.raises(DecodeError) as info:
            decode_image(tmp_path / name)
        assert info.value.reason == "not_a_regular_file"


def test_listing_a_hostile_tree(tmp_path: Path) -> None:
    listing = list_samples(hostile_tree(tmp_path / "in"))
    paths = {s.source_path for s in listing.samples}
    assert paths == {"Alice/a.jpg", "Bob/caf\\xe9.jpg", "Bob/" + "n" * 251 + ".jpg"}
    latin = next(s for s in listing.samples if "caf" in s.source_path)
    assert latin.path.read_bytes() == JPG  # the real (Latin-1) name still opens the file
    assert decode_image(latin.path).shape == (16, 16, 3)
    reasons = {s.path: s.reason for s in listing.skipped_files}
    assert reasons["Alice/fifo.jpg"] == reasons["Alice/zero.jpg"] == "not_a_regular_file"
    assert reasons["Alice/broken.jpg"] == "missing"
    assert reasons["loose.jpg"] == "not_in_identity_folder"
    assert all(r.encode("utf-8") for r in reasons)
    assert listing.labels == {"Alice": 0, "Bob": 1}


def test_list_file_skips_fifo_rows(tmp_path: Path) -> None:
    hostile_tree(tmp_path / "in")
    lst = tmp_path / "in" / "list.csv"
    lst.write_text("path,identity\nAlice/a.jpg,A\nAlice/fifo.jpg,A\nAlice/zero.jpg,B\n")
    listing = list_samples(lst)
    assert [s.source_path for s in listing.samples] == ["Alice/a.jpg"]
    assert {s.reason for s in listing.skipped_files} == {"not_a_regular_file"}


def test_csv_fields_of_any_length(tmp_path: Path) -> None:
    """Row 12: a 200 KB field was a _csv.Error traceback."""
    big = "x" * 200_000
    path = tmp_path / "k.csv"
    path.write_text(f"path,comment\nA/a.jpg,{big}\n")
    before = csv.field_size_limit()
    header, rows = read_csv_rows(path)
    assert header == ["path", "comment"] and rows[0]["comment"] == big
    assert csv.field_size_limit() == before  # process state restored


def test_a_fifo_named_as_a_csv_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pairs.csv")
    with pytest.raises(InputFileError):
        read_csv_rows(tmp_path / "pairs.csv")


def test_listed_paths_resolve_as_users_write_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = hostile_tree(tmp_path / "in")
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "b.jpg").write_bytes(JPG)
    monkeypatch.chdir(tmp_path)
    a = (root / "Alice" / "a.jpg").resolve()
    assert resolve_listed(str(a), csv_dir=lists, roots=[root]) == a  # absolute
    assert resolve_listed("b.jpg", csv_dir=lists, roots=[root]) == (lists / "b.jpg").resolve()  # CSV-relative
    assert resolve_listed("Alice/a.jpg", csv_dir=lists, roots=[root]) == a  # input-relative
    assert resolve_listed("in/Alice/a.jpg", csv_dir=lists, roots=[root]) == a  # working-folder relative
    assert resolve_listed("nothing.jpg", csv_dir=lists, roots=[root]) is None


def test_unlistable_source_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        list_samples(tmp_path / "nope")
