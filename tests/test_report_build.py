"""The audit report: structure, pagination, escaping, and rendering in headless Chromium."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from maskforge.report import build_model, build_report


def jpeg(color: tuple[int, int, int], size: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="JPEG")
    return buf.getvalue()


def make_table(n_ids: int = 5, per_id: int = 6, flagged_per_id: int = 2, images: bool = True):
    rows = {k: [] for k in ("sample_id", "identity", "source_path", "clean_score", "threshold",
                            "flagged", "method", "status", "reason", "nearest_identity",
                            "nearest_distance", "embedder", "image")}  # fmt: skip
    rng = np.random.default_rng(0)
    for i in range(n_ids):
        name = f"person<{i}>" if i == 0 else f"person_{i}"
        for j in range(per_id):
            flag = j < flagged_per_id
            path = f"{name}/img,{j}.jpg" if j == 0 else f"{name}/img_{j}.jpg"
            rows["sample_id"].append(f"{i:04d}{j:012d}")
            rows["identity"].append(name)
            rows["source_path"].append(path)
            rows["clean_score"].append(float(0.6 + 0.01 * j if flag else 0.3 + 0.01 * j))
            rows["threshold"].append(0.44)
            rows["flagged"].append(flag)
            rows["method"].append("robust")
            rows["status"].append("flagged" if flag else "kept")
            rows["reason"].append("distance" if flag else "")
            rows["nearest_identity"].append("person_9" if flag else None)
            rows["nearest_distance"].append(0.5 if flag else None)
            rows["embedder"].append("dlib-resnet")
            rows["image"].append(
                jpeg(tuple(int(c) for c in rng.integers(0, 255, 3))) if images else None
            )
    # an identity with too few images (not scored)
    rows["sample_id"].append("f" * 16)
    rows["identity"].append("solo")
    rows["source_path"].append("solo/a.jpg")
    for k, v in (("clean_score", None), ("threshold", None), ("flagged", False), ("method", "robust"),
                 ("status", "too_few_images"), ("reason", ""), ("nearest_identity", None),
                 ("nearest_distance", None), ("embedder", "dlib-resnet"), ("image", None)):  # fmt: skip
        rows[k].append(v)
    if not images:
        del rows["image"]
    return pa.table(rows)


def test_report_structure(tmp_path):
    table = make_table()
    index = build_report(
        table, tmp_path / "report", per_page=2, max_images_per_page=3,
        links=[("pipeline summary", "pipeline.html")],
    )  # fmt: skip
    out = index.parent
    pages = sorted((out / "pages").glob("page-*.html"))
    assert len(pages) == 5  # 5 identities x 2 flagged, at most 3 images per page -> 1 identity/page
    html = index.read_text()
    assert "person&lt;0&gt;" in html and "person<0>" not in html  # escaped
    assert html.count('<tr><td data-v="') == 6  # every identity in the sortable table
    assert "not cleaned" in html and "histogram.svg" in html
    assert '<a href="pipeline.html">pipeline summary</a>' in html
    svg = ET.parse(out / "histogram.svg").getroot()  # well-formed SVG, no matplotlib
    assert svg.tag.endswith("svg") and int(svg.get("width")) >= 400
    bars = [e for e in svg.iter() if e.tag.endswith("rect") and e.get("fill") in ("#4c72b0", "#d62728")]
    assert len(bars) >= 2 and any(e.get("stroke-dasharray") for e in svg.iter())  # threshold line
    thumbs = list((out / "thumbnails").glob("*.jpg"))
    assert len(thumbs) == 5 * 2 + 5 * 4  # flagged + 4 typical per identity
    page = pages[0].read_text()
    assert 'data-line="&#34;person&lt;0&gt;/img,0.jpg&#34;"' in page  # CSV-quoted keep line
    assert "../index.html" in page and "page-0002.html" in page
    for p in pages:  # every image a page refers to exists
        for src in re.findall(r'src="\.\./thumbnails/([^"]+)"', p.read_text()):
            assert (out / "thumbnails" / src).is_file()


def test_build_from_parquet_path_keeps_other_files(tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(make_table(n_ids=2), tmp_path / "clean_scores.parquet")
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "contact_sheet.jpg").write_bytes(b"x")
    (folder / "thumbnails").mkdir()
    (folder / "thumbnails" / "stale.jpg").write_bytes(b"x")
    index = build_report(tmp_path, folder)
    assert index == folder / "index.html" and index.is_file()
    # thumbnails were made from the image bytes of the shown rows (no source files exist)
    assert not (folder / "thumbnails" / "_missing.png").exists()
    assert len(list((folder / "thumbnails").glob("*.jpg"))) == 2 * 2 + 2 * 4
    assert (folder / "contact_sheet.jpg").is_file()  # not the report's: left alone
    assert not (folder / "thumbnails" / "stale.jpg").exists()


def test_thumbnails_from_source_files_and_missing(tmp_path):
    table = make_table(n_ids=2, images=False)
    src = tmp_path / "src"
    (src / "person_1").mkdir(parents=True)
    for j in range(6):
        Image.new("RGB", (60, 60), (10 * j, 0, 0)).save(src / "person_1" / f"img_{j}.jpg")
    index = build_report(table, tmp_path / "r", source_root=src)
    names = {p.name for p in (index.parent / "thumbnails").iterdir()}
    assert "_missing.png" in names  # person<0>'s files do not exist
    assert any(n.startswith("0001") for n in names)  # person_1's do


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    per_page=st.integers(1, 4),
    max_images=st.integers(1, 6),
)
def test_pagination_covers_every_flagged_once(sizes, per_page, max_images):
    ident, flagged = [], []
    for i, k in enumerate(sizes):
        ident += [f"p{i}"] * 10
        flagged += [True] * k + [False] * (10 - k)
    n = len(ident)
    table = pa.table({
        "sample_id": [f"{i:016x}" for i in range(n)], "identity": ident,
        "source_path": [f"x/{i}.jpg" for i in range(n)],
        "clean_score": [0.6 if f else 0.3 for f in flagged], "threshold": [0.44] * n,
        "flagged": flagged, "method": ["robust"] * n,
    })  # fmt: skip
    model = build_model(table, per_page=per_page, max_images_per_page=max_images)
    seen = [s.sample_id for page in model.pages for _, items in page for s in items]
    assert sorted(seen) == sorted(f"{i:016x}" for i in range(n) if flagged[i])
    for page in model.pages:
        assert len(page) <= per_page
        assert sum(len(items) for _, items in page) <= max_images
    assert model.summary["flagged"] == sum(flagged)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(browser: str, page: Path, profile: Path) -> str:
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_renders_in_headless_chromium(tmp_path):
    browser = find_chromium()
    if browser is None:
        pytest.skip("chromium not found (Debian: apt-get install -y chromium)")
    index = build_report(make_table(n_ids=3), tmp_path / "report", per_page=2)
    for page in (index, index.parent / "pages" / "page-0001.html"):
        dom = render(browser, page, tmp_path / "profile")
        total = re.search(r'data-images-total="(\d+)"', dom)
        loaded = re.search(r'data-images-loaded="(\d+)"', dom)
        assert total and loaded, dom[:500]
        assert int(total.group(1)) > 0
        assert loaded.group(1) == total.group(1), f"{page.name}: {loaded.group(1)}/{total.group(1)}"
