"""Destinations resolved, not compared as text; nothing of the user's overwritten (issue 21,
item 5; rows 8, 9, 13, 17, 18)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from maskforge.cli import main
from maskforge.errors import AssetError, OutputError
from maskforge.export import export_folders
from maskforge.io.owned import OutputRecord
from maskforge.io.paths import check_write_target, check_write_targets
from maskforge.io.writer import shard_path, write_json_atomic, write_shard
from maskforge.occlude.importer import prepare_import
from maskforge.occlude.sheet import save_rgb_png


def test_a_symlinked_folder_into_the_input_is_caught(tmp_path: Path) -> None:
    """Row 8: DST holding `ln -s SRC/B DST/A` let overlay, clean --move-to and
    detect --export-images write into SRC."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "B").mkdir(parents=True)
    dst.mkdir()
    os.symlink(src / "B", dst / "A")
    with pytest.raises(OutputError, match="inside the input"):
        check_write_target(dst / "A" / "x.jpg", [src])
    with pytest.raises(OutputError, match="inside the input"):
        check_write_targets([dst / "C" / "y.jpg", dst / "A" / "deeper" / "z.jpg"], [src])
    assert check_write_target(dst / "C" / "y.jpg", [src]) == (dst / "C" / "y.jpg").resolve()
    os.symlink(src / "B" / "f.jpg", dst / "f.jpg")
    with pytest.raises(OutputError, match="symbolic link"):
        check_write_target(dst / "f.jpg", [tmp_path / "elsewhere"])


def test_overlay_into_a_subfolder_of_its_input_is_caught(tmp_path: Path) -> None:
    """Finding: `overlay SRC SRC/x` wrote 734 images into the input."""
    src = tmp_path / "src"
    (src / "A").mkdir(parents=True)
    with pytest.raises(OutputError, match="inside the input"):
        check_write_target(src / "x" / "A" / "1.jpg", [src])


def test_record_claims_only_what_maskforge_created(tmp_path: Path) -> None:
    """Row 9: a user's report/index.html, removed.csv, report.html in OUT were overwritten."""
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("my page")
    (tmp_path / "removed.csv").write_text("path,comment\n")
    rec = OutputRecord(tmp_path)
    assert not rec.is_ours
    with pytest.raises(OutputError, match="'removed.csv', 'report'"):
        rec.claim(["dataset", "removed.csv", "report", "report.html"])
    assert not (tmp_path / ".maskforge" / "created").exists()  # nothing recorded on refusal
    rec.claim(["dataset", "report.html"])
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "shard-00000.parquet").write_bytes(b"x")
    again = OutputRecord(tmp_path)
    assert again.is_ours and again.owns(tmp_path / "dataset" / "shard-00000.parquet")
    again.claim(["dataset", "report.html"])  # a rerun: its own files
    assert again.foreign(["report/index.html", "removed.csv", "dataset/x"]) == ["report/index.html", "removed.csv"]


def _fake_run(out: Path, stems: list[str]) -> Path:
    rows = [{"sample_id": f"{i:016x}", "identity": "A", "label": 0, "source_path": f"A/{s}.jpg",
             "variant": "original", "image": s.encode()[:8], "image_format": "jpeg"} for i, s in enumerate(stems)]  # fmt: skip
    write_shard(pa.Table.from_pylist(rows), shard_path(out / "dataset", 0), {})
    write_json_atomic({"maskforge_manifest": 1, "status": "complete", "input": str(out.parent / "in"),
                       "dataset_files": ["dataset/shard-00000.parquet"]}, out / "manifest.json")  # fmt: skip
    return out


def test_export_of_long_names_is_shortened_before_the_first_write(tmp_path: Path) -> None:
    """Row 13: a 251-byte stem gave ENAMETOOLONG after 100 of 120 files, and again on rerun."""
    stems = [f"{i:03d}" + "n" * 248 for i in range(5)] + ["short"]
    out = _fake_run(tmp_path / "out", stems)
    assert export_folders(out, tmp_path / "dst") == 6
    names = sorted(p.name for p in (tmp_path / "dst" / "A").iterdir())
    assert len(names) == 6 and all(len(n.encode()) <= 255 for n in names) and "short_original.jpg" in names
    assert export_folders(out, tmp_path / "dst") == 6  # the rerun redoes it
    assert sorted(p.name for p in (tmp_path / "dst" / "A").iterdir()) == names


def test_export_through_a_link_into_the_input_is_refused(tmp_path: Path) -> None:
    out = _fake_run(tmp_path / "out", ["a"])
    (tmp_path / "in" / "B").mkdir(parents=True)
    dst = tmp_path / "dst"
    dst.mkdir()
    os.symlink(tmp_path / "in" / "B", dst / "A")
    with pytest.raises(OutputError, match="inside the input"):
        export_folders(out, dst)
    assert list((tmp_path / "in" / "B").iterdir()) == []


def _bomb_png(path: Path, side: int = 30000) -> Path:
    """A PNG whose header says side x side RGBA (the pixels are never there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))  # fmt: skip
    return path


def test_assets_import_of_a_size_bomb_is_one_message(tmp_path: Path) -> None:
    """Row 17: a 30000x30000 PNG gave a DecompressionBombError traceback."""
    png = _bomb_png(tmp_path / "bomb.png")
    with pytest.raises(AssetError, match="too large to be an occluder PNG"):
        prepare_import(png, "mask")
    result = CliRunner().invoke(main, ["assets", "import", str(png), "--kind", "mask", "--output", str(tmp_path / "o")])
    assert result.exit_code == 2 and "too large" in result.output and "Traceback" not in result.output
    small = _bomb_png(tmp_path / "big.png", side=8000)  # under Pillow's own limit, over ours
    with pytest.raises(AssetError, match="8000x8000 pixels"):
        prepare_import(small, "mask")


def test_preview_and_build_never_overwrite_the_users_files(tmp_path: Path) -> None:
    """Row 18: `assets preview NAME --output notes.txt` and `assets build --out DIR` overwrote them."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(OutputError, match="maskforge did not write it"):
        save_rgb_png(notes, np.zeros((4, 4, 3), np.uint8))
    assert notes.read_text() == "my notes"
    png = tmp_path / "p.png"
    save_rgb_png(png, np.zeros((4, 4, 3), np.uint8))
    save_rgb_png(png, np.ones((4, 4, 3), np.uint8))  # its own picture: replaced
    out = tmp_path / "assets"
    out.mkdir()
    (out / "surgical.json").write_text("mine")
    result = CliRunner().invoke(main, ["assets", "build", "--out", str(out)])
    assert result.exit_code == 2 and "surgical.json" in result.output
    assert (out / "surgical.json").read_text() == "mine" and sorted(p.name for p in out.iterdir()) == ["surgical.json"]
