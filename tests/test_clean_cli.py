"""``maskforge clean`` / ``maskforge audit`` end to end on a few real faces (~15 faces, 2 runs)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from maskforge.clean.table import REQUIRED_COLUMNS
from maskforge.cli import main

from .lfw_sets import INTRUDER, planted_set


@pytest.fixture
def dataset(lfw_dir: Path, tmp_path: Path) -> Path:
    """3 identities x 4 images, one foreign image planted in Hans_Blix, one single-image identity."""
    root = planted_set(lfw_dir, tmp_path / "src")
    (root / "Solo").mkdir()
    shutil.copy(sorted((lfw_dir / "AJ_Cook").glob("*.jpg"))[0], root / "Solo" / "solo.jpg")
    (root / "Solo" / "notes.txt").write_text("not an image")
    return root


def read_removed(out: Path) -> list[dict]:
    with open(out / "removed.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_clean_audit_keep_roundtrip(dataset: Path, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "out"
    moved = tmp_path / "flagged"
    res = runner.invoke(
        main,
        ["clean", str(dataset), "--output", str(out), "--embedder", "dlib-resnet",
         "--copy-to", str(moved)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    removed = read_removed(out)
    assert [r["path"] for r in removed] == [f"Hans_Blix/{INTRUDER[1]}"]
    assert removed[0]["identity"] == "Hans_Blix" and removed[0]["method"] == "robust"
    assert float(removed[0]["score"]) > float(removed[0]["threshold"])
    assert (moved / "Hans_Blix" / INTRUDER[1]).is_file()
    assert (dataset / "Hans_Blix" / INTRUDER[1]).is_file()  # copy leaves the source alone

    table = pq.read_table(out / "clean_scores.parquet")
    assert set(REQUIRED_COLUMNS) <= set(table.column_names)
    assert table.num_rows == 14
    rows = {r["source_path"]: r for r in table.to_pylist()}
    assert rows["Solo/solo.jpg"]["status"] == "too_few_images"
    assert rows[f"Hans_Blix/{INTRUDER[1]}"]["flagged"] is True
    assert sum(r["flagged"] for r in rows.values()) == 1
    index = out / "report" / "index.html"
    assert index.is_file() and (out / "report.html").is_file()
    assert len(list((out / "report" / "pages").glob("*.html"))) == 1

    index.unlink()
    res = runner.invoke(main, ["audit", str(out)])
    assert res.exit_code == 0, res.output
    assert index.is_file()

    keep = tmp_path / "keep.csv"
    keep.write_text(f"path\nHans_Blix/{INTRUDER[1]}\n")
    out2 = tmp_path / "out2"
    res = runner.invoke(
        main,
        ["clean", str(dataset), "--output", str(out2), "--embedder", "dlib-resnet",
         "--method", "mean-distance", "--keep", str(keep)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert read_removed(out2) == []
    rows = {r["source_path"]: r for r in pq.read_table(out2 / "clean_scores.parquet").to_pylist()}
    assert rows[f"Hans_Blix/{INTRUDER[1]}"]["status"] == "whitelisted"
    assert rows[f"Hans_Blix/{INTRUDER[1]}"]["method"] == "mean-distance"


def test_clean_errors(tmp_path: Path):
    runner = CliRunner()
    res = runner.invoke(main, ["audit", str(tmp_path)])
    assert res.exit_code == 2 and "clean_scores.parquet" in res.output
    (tmp_path / "src").mkdir()
    res = runner.invoke(main, ["clean", str(tmp_path / "src"), "--output", str(tmp_path / "o")])
    assert res.exit_code == 2 and "no images" in res.output
    res = runner.invoke(
        main,
        [
            "clean",
            str(tmp_path / "src"),
            "-o",
            str(tmp_path / "o"),
            "--move-to",
            "a",
            "--copy-to",
            "b",
        ],
    )
    assert res.exit_code == 2 and "not both" in res.output
