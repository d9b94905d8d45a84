"""A hostile input tree through `overlay`, and every label accounted for (issue 21, rows 6, 7, 8, 21)."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from maskforge import run

from .faults import RECIPE, maskforge, one_clear_message, tiny_tree

pytestmark = pytest.mark.timeout(300)


def test_overlay_of_a_hostile_tree(tmp_path: Path) -> None:
    """Row 6: a Latin-1 name aborted overlay with UnicodeEncodeError; row 7: a FIFO or a link to
    /dev/zero hung it; row 8: a DST folder linked into SRC let it write into SRC."""
    src = tiny_tree(tmp_path / "in", identities=1, per=1)
    os.mkfifo(src / "id00" / "fifo.jpg")
    os.symlink("/dev/zero", src / "id00" / "zero.jpg")
    latin = os.fsencode(src / "id00") + b"/caf\xe9.jpg"
    shutil.copy(src / "id00" / "0.jpg", latin)
    dst = tmp_path / "dst"
    result = maskforge("overlay", str(src), str(dst), "--quiet", timeout=120)
    one_clear_message(result)
    assert result.returncode == 0
    with open(dst / "overlay_log.csv", newline="", encoding="utf-8") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"id00/0.jpg", "id00/caf\\xe9.jpg", "id00/fifo.jpg", "id00/zero.jpg"}
    assert rows["id00/fifo.jpg"]["reason"] == rows["id00/zero.jpg"]["reason"] == "not_a_regular_file"
    assert rows["id00/caf\\xe9.jpg"]["status"] in ("ok", "skipped")  # no face in noise: skipped, not a crash
    linked = tmp_path / "dst2"
    linked.mkdir()
    (src / "zz").mkdir()
    os.symlink(src / "zz", linked / "id00")  # DST/id00 -> SRC/zz: every output would land in SRC
    before = sorted(os.listdir(src / "id00"))
    result = maskforge("overlay", str(src), str(linked), "--quiet", timeout=120)
    one_clear_message(result)
    assert result.returncode == 2 and "inside the input" in result.stderr
    assert sorted(os.listdir(src / "id00")) == before and os.listdir(src / "zz") == []


def test_a_label_without_rows_is_listed_as_dropped(tmp_path: Path) -> None:
    """Row 21: an identity whose images all failed kept its label, zero rows, and
    dropped_identities did not list it."""
    src = tiny_tree(tmp_path / "in", identities=2, per=1)
    (src / "id01" / "0.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "r.toml").write_text(RECIPE)
    run(tmp_path / "r.toml", input=src, output=tmp_path / "out", executor="local")
    counts = json.loads((tmp_path / "out" / "manifest.json").read_text())["counts"]
    assert counts["dropped_identities"] == {"no_usable_images": 1}
