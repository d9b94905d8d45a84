"""The run report (pipeline.html, contact sheet) comes from the jinja2 templates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import maskforge
from maskforge.grid import tile_grid


def test_run_report_content_and_escaping(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for i in range(6):
        p = src / f"id{i % 3}" / f"{i}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (50, 40), (40 * i, 100, 200)).save(p)
    (src / "id0" / "broken.jpg").write_bytes(b"not an image")
    recipe = tmp_path / "plain.toml"
    recipe.write_text("seed = 0\n[source]\nshard_size = 10\n")
    out = tmp_path / "out<b>"
    maskforge.run(str(recipe), input=str(src), output=str(out), executor="local")
    page = (out / "report" / "pipeline.html").read_text()
    assert (out / "report" / "index.html").read_text() == page  # no cleaning: index is the summary
    assert "maskforge run: " in page and "out&lt;b&gt;" in page and "out<b>" not in page
    for title in ("Counts", "Rejects by stage and reason", "Variants", "Images per identity", "Time"):
        assert f"<h2>{title}</h2>" in page
    assert "<tr><td>decode:not_an_image</td><td>1</td></tr>" in page
    assert "<tr><td>samples written</td><td>6</td></tr>" in page
    assert '<img src="contact_sheet.png"' in page
    with Image.open(out / "report" / "contact_sheet.png") as im:
        assert im.size == (112, 6 * 112)  # one variant per sample, one sample per row


def test_tile_grid_layout() -> None:
    red = np.zeros((10, 20, 3), np.uint8)
    red[..., 0] = 255
    grid = tile_grid([[red, None], [red]], (10, 20), labels=["a", "b"])
    assert grid.shape == (22 + 2 * 10, 2 * 20, 3) and grid.dtype == np.uint8
    assert (grid[22:32, :20] == red).all()
    assert (grid[22:32, 20:] == 255).all() and (grid[32:, 20:] == 255).all()  # blank and padding
    assert tile_grid([[red]], 5).shape == (5, 5, 3)  # resized to the tile
