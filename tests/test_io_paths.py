"""maskforge.io.paths: destinations never escape their folder, names never coincide, and a
destination is compared with the input after resolving symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskforge.errors import OutputError
from maskforge.io.paths import check_destination, is_within, path_under, unique_targets

DEST = Path("/srv/export")
part = st.sampled_from(["a", "B", "..", ".", "pic.jpg", "pic.png", "PIC.JPG", "x y", "é", ""])
source_path = st.builds(
    lambda absolute, parts: ("/" if absolute else "") + "/".join(parts),
    st.booleans(),
    st.lists(part, min_size=1, max_size=5),
).filter(lambda s: any(p not in ("", ".", "/") for p in s.split("/")))


@given(source_path, st.sampled_from([None, ".png", ".jpg"]))
def test_path_under_stays_inside_dest(sp: str, suffix: str | None):
    target = path_under(DEST, sp, suffix)
    assert target != DEST and target.is_relative_to(DEST)
    assert ".." not in target.relative_to(DEST).parts
    assert os.path.normpath(target) == str(target)  # nothing left to collapse: no escape


@given(st.lists(source_path, min_size=1, max_size=12))
def test_unique_targets_are_distinct_and_inside(paths: list[str]):
    chosen = unique_targets(DEST, paths, lambda sp: path_under(DEST, sp, ".png"))
    assert set(chosen) == set(paths)
    names = [str(p).lower() for p in chosen.values()]
    assert len(set(names)) == len(names)
    assert all(p.is_relative_to(DEST) for p in chosen.values())


def test_unique_targets_keeps_the_first_name_and_numbers_the_rest():
    chosen = unique_targets(DEST, ["a/pic.png", "a/pic.jpg"], lambda sp: path_under(DEST, sp, ".png"))
    assert chosen == {"a/pic.jpg": DEST / "a" / "pic.png", "a/pic.png": DEST / "a" / "pic_2.png"}
    assert path_under(DEST, "/data/a/x.jpg") == DEST / "data" / "a" / "x.jpg"


def test_check_destination_sees_through_symlinks_and_dots(tmp_path: Path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(src)
    for same in (src, link, src / "sub" / "..", Path(str(src) + "/")):
        with pytest.raises(OutputError, match="never writes into its input"):
            check_destination(same, src, what="--output")
    with pytest.raises(OutputError, match="inside"):
        check_destination(link / "sub" / "new", src, what="--output")
    check_destination(link / "sub" / "new", src, what="DST_DIR", inside=False)  # allowed
    check_destination(tmp_path / "out", src, what="--output")
    assert is_within(link / "sub", src) and not is_within(tmp_path / "srcx", src)
    listing = tmp_path / "list.csv"
    listing.write_text("path,identity\n")
    with pytest.raises(OutputError):
        check_destination(tmp_path, listing, what="--output")  # a list file's own folder
    check_destination(tmp_path / "out", listing, what="--output")
