"""Fault injection on `maskforge clean --move-to` (issue 21): killed at a random point and rerun,
the flagged file ends moved once and counted; a --move-to folder linked into SRC is refused
before any file moves; keep.csv paths are taken as users write them (rows 8, 11, 21)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .faults import killed, maskforge, one_clear_message
from .lfw_sets import INTRUDER, planted_set

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]



@pytest.fixture
def src(lfw_dir: Path, tmp_path: Path) -> Path:
    """3 identities x 4 real faces and one foreign face planted in Hans_Blix."""
    root = planted_set(lfw_dir, tmp_path / "src")
    return root


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.jpg")}


def test_clean_move_killed_at_a_random_point_then_rerun(src: Path, tmp_path: Path) -> None:
    """Row 21: a resumed interrupted move reported `"moved": 0`."""
    before = _files(src)
    out, dest = tmp_path / "out", tmp_path / "flagged"
    args = ["clean", str(src), "--output", str(out), "--embedder", "dlib-resnet", "--move-to", str(dest),
            "--executor", "local", "--quiet"]  # fmt: skip
    killed(args, seed=5, low=2.0, high=12.0)
    result = maskforge(*args, timeout=300)
    one_clear_message(result)
    assert result.returncode == 0
    moved = f"Hans_Blix/{INTRUDER[1]}"
    assert _files(src) == before - {moved} and _files(dest) == {moved}
    record = json.loads((out / "clean_manifest.json").read_text())
    first_done = "moved" not in result.stdout and record["moved"] == 0  # the first run had finished
    assert record["moved"] == 1 or first_done


def test_move_to_linked_into_src_and_keep_paths(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row 8: DST holding `ln -s SRC/B DST/A` let clean --move-to write into SRC.
    Row 11: keep.csv with absolute or CWD-relative paths was silently ignored."""
    before = _files(src)
    dest = tmp_path / "flagged"
    dest.mkdir()
    os.symlink(src / "Halle_Berry", dest / "Hans_Blix")  # the flagged file would land in SRC
    out = tmp_path / "out"
    result = maskforge("clean", str(src), "--output", str(out), "--embedder", "dlib-resnet", "--move-to", str(dest),
                       "--executor", "local", "--quiet", timeout=300)  # fmt: skip
    one_clear_message(result)
    assert result.returncode == 2 and "inside the input" in result.stderr
    assert _files(src) == before  # nothing moved
    keep = tmp_path / "keep.csv"
    keep.write_text(f"path\n{src / 'Hans_Blix' / INTRUDER[1]}\n")  # absolute, as people paste them
    result = maskforge("clean", str(src), "--output", str(tmp_path / "out2"), "--embedder", "dlib-resnet",
                       "--keep", str(keep), "--executor", "local", "--quiet", timeout=300)  # fmt: skip
    one_clear_message(result)
    assert result.returncode == 0
    assert (tmp_path / "out2" / "removed.csv").read_text().count("\n") == 1  # header only: kept
    keep.write_text("path\nHans_Blix/nobody.jpg\n")
    result = maskforge("clean", str(src), "--output", str(tmp_path / "out3"), "--embedder", "dlib-resnet",
                       "--keep", str(keep), "--executor", "local", "--quiet", timeout=300)  # fmt: skip
    assert result.returncode == 2 and "Hans_Blix/nobody.jpg" in result.stderr and "Traceback" not in result.stderr
