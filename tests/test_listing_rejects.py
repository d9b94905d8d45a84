"""Files the listing skips reach the run's rejects.parquet by name (stage ``list``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image

import maskforge


def test_skipped_files_are_named_rejects(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for rel, fmt in [("ann/1.jpg", "JPEG"), ("ann/2.tif", "TIFF"), ("bob/3.gif", "GIF")]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (120, 60, 200)).save(src / rel, format=fmt)
    (src / "bob" / "notes.txt").write_text("x")
    (src / "loose.jpg").write_bytes((src / "ann" / "1.jpg").read_bytes())
    recipe = tmp_path / "plain.toml"
    recipe.write_text("seed = 0\n[source]\nshard_size = 10\n")
    out = tmp_path / "out"
    maskforge.run(str(recipe), input=str(src), output=str(out), executor="local")
    assert maskforge.read_shards(out).count_rows() == 3  # the .tif and the .gif are decoded too
    rejects = {(r["source_path"], r["stage"], r["reason"])
               for r in pq.read_table(out / "rejects.parquet").to_pylist()}
    assert rejects == {("bob/notes.txt", "list", "not_an_image_file"),
                       ("loose.jpg", "list", "not_in_identity_folder")}
