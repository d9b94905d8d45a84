"""Build the audit report folder: index.html, pages/, thumbnails/, histogram.svg.

The folder is self-contained (relative links only) and opens from disk without a server. Only
flagged/whitelisted images and a few typical images per affected identity get thumbnails, and
pages hold a bounded number of them, so the report stays fast with tens of thousands of flags.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from ..io.paths import is_within, recorded_input_root
from ..io.writer import write_text_atomic
from .histogram import draw_histogram
from .model import build_model
from .templates import INDEX, PAGE, REDIRECT, SCRIPT, STYLE, markup, render
from .thumbs import MISSING, missing_placeholder, write_thumbnail

log = logging.getLogger(__name__)


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def _anchor(name: str) -> str:
    return "id-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _csv_line(path: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([path])
    return buf.getvalue()


def _image_bytes(table: pa.Table, parquet: Path | None, wanted: set[str]) -> dict[str, bytes]:
    """Encoded image bytes of the ``wanted`` sample ids, from the table's ``image`` column or,
    reading only those rows, from the parquet file; {} when there is no such column."""
    if not wanted:
        return {}
    if "image" in table.column_names:
        ids = table.column("sample_id").to_pylist()
        col = table.column("image")
        return {sid: col[i].as_py() for i, sid in enumerate(ids) if sid in wanted}
    if parquet is None:
        return {}
    import pyarrow.parquet as pq

    if "image" not in pq.read_schema(parquet).names:
        return {}
    part = pq.read_table(
        parquet, columns=["sample_id", "image"], filters=[("sample_id", "in", sorted(wanted))]
    )
    return dict(
        zip(part.column("sample_id").to_pylist(), part.column("image").to_pylist(), strict=True)
    )


def _source_root(
    given: str | Path | None, parquet: Path | None, recorded: str | None
) -> Path | None:
    """Where thumbnails may be read from: the folder given, else the run's recorded input (its
    manifest, then the table's metadata); None when nothing says."""
    if given:
        return Path(given)
    from_manifest = recorded_input_root(parquet.parent) if parquet is not None else None
    return from_manifest or (Path(recorded) if recorded else None)


def source_file(root: Path | None, source_path: str) -> tuple[Path | None, str]:
    """The file of a recorded ``source_path`` under ``root``, or None and why it is not shown.
    Only files inside ``root`` (links resolved) are read, whatever the table says."""
    if not source_path:
        return None, "no source path recorded"
    if root is None:
        return None, "no input folder recorded: pass --source DIR"
    candidate = root / PurePosixPath(source_path)  # an absolute source_path replaces root here
    if not is_within(candidate, root):
        return None, f"outside the input folder {root}"
    return candidate, ""


def _thumbnails(
    folder: Path, shown: dict[str, Any], image_bytes: dict[str, bytes], root: Path | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Thumbnail file names of the ``shown`` samples, and for those not shown, why."""
    thumbs: dict[str, str] = {}
    notes: dict[str, str] = {}
    for sid, s in shown.items():
        src: bytes | Path | None = image_bytes.get(sid)
        if not src:
            src, notes[sid] = source_file(root, s.source_path)
        if src is None:
            thumbs[sid] = missing_placeholder(folder)
            continue
        thumbs[sid] = write_thumbnail(folder, sid, _given(src))
        if thumbs[sid] == MISSING:
            notes[sid] = "cannot be read or decoded"
    return thumbs, {k: v for k, v in notes.items() if v}


def _given(src: bytes | Path) -> Callable[[], bytes | Path]:
    """A loader returning ``src`` (bound now, not when the loop has moved on)."""
    return lambda: src


def _threshold_text(rng: tuple[float, float] | None) -> str:
    if rng is None:
        return "n/a"
    if rng[1] - rng[0] < 1e-6:
        return f"{rng[0]:.3f}"
    return f"{rng[0]:.3f} (per-identity, up to {rng[1]:.3f})"


def _write_pages(
    out: Path, model: Any, thumbs: dict[str, str], notes: dict[str, str], title: str,
    links: list[tuple[str, str]],
) -> None:  # fmt: skip
    """Render pages/page-NNNN.html and index.html from ``model`` (a ReportModel)."""
    common = {
        "style": markup(STYLE),
        "script": markup(SCRIPT),
        "fmt": _fmt,
        "anchor": _anchor,
        "csv": _csv_line,
        "basename": lambda p: PurePosixPath(p).name,
        "n_pages": len(model.pages),
    }
    for number, entries in enumerate(model.pages, start=1):
        html = render(
            PAGE, page=number, entries=entries, thumbs=thumbs, notes=notes, **common
        )
        write_text_atomic(html, out / "pages" / f"page-{number:04d}.html")
    index = render(
        INDEX,
        s=model.summary,
        identities=model.identities,
        threshold_text=_threshold_text(model.threshold_range),
        title=title,
        links=links,
        **common,
    )
    write_text_atomic(index, out / "index.html")


def build_report(
    table: pa.Table | str | Path,
    out_dir: str | Path,
    source_root: str | Path | None = None,
    per_page: int = 20,
    max_images_per_page: int = 120,
    typical: int = 4,
    title: str = "",
    links: list[tuple[str, str]] | None = None,
) -> Path:
    """Write the report for a clean_scores ``table`` (or the path of a clean_scores.parquet, or
    of a folder holding one) into ``out_dir``; returns the path of index.html.

    Only the report's own files (index.html, histogram.svg, pages/, thumbnails/) are replaced;
    other files in ``out_dir`` are left alone. Thumbnails come from the ``image`` column (encoded
    bytes) when present, else from ``source_root / source_path`` (``source_root`` defaults to the
    input folder recorded in the run's manifest, then in the table metadata); a path that leads
    outside that folder is never read: its card says "not shown" and why. ``links`` adds
    ``(label, relative href)`` links at the top of index.html
    (e.g. ``[("pipeline summary", "pipeline.html")]``)."""
    parquet: Path | None = None
    if not isinstance(table, pa.Table):
        from ..clean.table import read_clean_scores

        parquet = Path(table)
        parquet = parquet / "clean_scores.parquet" if parquet.is_dir() else parquet
        table = read_clean_scores(parquet, with_images=False)  # bytes fetched for shown rows only
    out = Path(out_dir)
    for sub in ("pages", "thumbnails"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    (out / "pages").mkdir(parents=True)
    (out / "thumbnails").mkdir()
    model = build_model(table, per_page, max_images_per_page, typical)
    root = _source_root(source_root, parquet, model.summary.get("source_root"))
    shown = {
        s.sample_id: s
        for page in model.pages
        for ident, items in page
        for s in list(items) + list(ident.typical)
    }
    image_bytes = _image_bytes(table, parquet, set(shown))
    thumbs, notes = _thumbnails(out / "thumbnails", shown, image_bytes, root)

    draw_histogram(model.scores, model.flagged_scores, out / "histogram.svg", model.threshold_range)
    _write_pages(out, model, thumbs, notes, title, links or [])
    log.info("report: %d pages, %d thumbnails in %s", len(model.pages), len(thumbs), out)
    return out / "index.html"


def write_redirect(path: str | Path, target: str = "report/index.html") -> None:
    """A small HTML file that opens the report (``OUT/report.html`` -> ``report/index.html``)."""
    write_text_atomic(REDIRECT.replace("report/index.html", target), Path(path))
