"""``maskforge audit`` reads thumbnails only from the run's recorded input folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner
from PIL import Image

from maskforge.clean.table import METADATA_KEY
from maskforge.cli import main


def test_tampered_source_paths_are_not_read(tmp_path: Path) -> None:
    # today's main: "../" and absolute source paths make thumbnails of any image on disk
    src, secret, out = tmp_path / "src", tmp_path / "private", tmp_path / "out"
    for folder, name, colour in [(src / "ann", "ok.jpg", (0, 200, 0)),
                                 (secret, "a.jpg", (200, 0, 0)), (secret, "b.jpg", (0, 0, 200))]:
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 40), colour).save(folder / name)
    paths = ["ann/ok.jpg", "../private/a.jpg", str(secret / "b.jpg")]
    n = len(paths)
    table = pa.table({
        "sample_id": [f"{i:016x}" for i in range(n)], "identity": ["ann"] * n, "source_path": paths,
        "clean_score": [0.9] * n, "threshold": [0.4] * n, "flagged": [True] * n,
        "method": ["robust"] * n,
    }).replace_schema_metadata({METADATA_KEY: json.dumps({"source_root": str(src)})})
    out.mkdir()
    pq.write_table(table, out / "clean_scores.parquet")
    result = CliRunner().invoke(main, ["audit", str(out)])
    assert result.exit_code == 0, result.output
    thumbs = sorted(p.name for p in (out / "report" / "thumbnails").iterdir())
    assert thumbs == ["0000000000000000.jpg", "_missing.png"]  # only the image under src
    with Image.open(out / "report" / "thumbnails" / "0000000000000000.jpg") as im:
        assert im.convert("RGB").getpixel((10, 10))[1] > 150
    page = (out / "report" / "pages" / "page-0001.html").read_text()
    assert page.count("not shown: outside the input folder") == 2


def test_manifest_input_wins_over_table_metadata(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "ann").mkdir(parents=True)
    Image.new("RGB", (40, 40), (0, 200, 0)).save(src / "ann" / "ok.jpg")
    table = pa.table({
        "sample_id": ["0" * 16], "identity": ["ann"], "source_path": ["ann/ok.jpg"],
        "clean_score": [0.9], "threshold": [0.4], "flagged": [True], "method": ["robust"],
    }).replace_schema_metadata({METADATA_KEY: json.dumps({"source_root": "/"})})
    out.mkdir()
    pq.write_table(table, out / "clean_scores.parquet")
    (out / "manifest.json").write_text(json.dumps({"status": "complete", "input": str(src)}))
    assert CliRunner().invoke(main, ["audit", str(out)]).exit_code == 0
    assert (out / "report" / "thumbnails" / ("0" * 16 + ".jpg")).is_file()
