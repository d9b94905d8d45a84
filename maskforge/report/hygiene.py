"""The audit report's hygiene pages: ``REPORT/hygiene/`` with an index and paginated pages per
issue type (duplicate sets side by side, identity pairs with their closest images, overlaps with
evaluation sets), built from ``hygiene.json`` (:mod:`maskforge.hygiene.table`).

Thumbnails are read from the training input folder (``source_root / source_path``, never outside
it) and, for evaluation images, only from inside the evaluation set's recorded folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..io.paths import is_within
from ..io.writer import write_text_atomic
from . import templates
from .build import _csv_line, source_file
from .hygiene_templates import DUPLICATES, HYGIENE_INDEX, IDENTITIES, OVERLAPS
from .thumbs import MISSING, missing_placeholder, write_thumbnail

SECTIONS = (
    ("duplicates", "Duplicate sets", "duplicate_sets", DUPLICATES),
    ("identities", "Identities that look like one person", "identity_pairs", IDENTITIES),
    ("overlaps", "Overlap with evaluation sets", "overlaps", OVERLAPS),
)


def _paths(kind: str, item: dict[str, Any]) -> list[tuple[str, bool]]:
    """(path, is an evaluation image) of the images an item shows."""
    if kind == "duplicates":
        return [(m["source_path"], False) for m in item["members"]]
    if kind == "identities":
        return [(p, False) for e in item["evidence"] for p in (e["path_a"], e["path_b"])]
    return [(e["path"], False) for e in item["evidence"]] + [
        (e["eval_path"], True) for e in item["evidence"] if e["eval_path"]
    ]


def _loader(src: Path) -> Callable[[], Path]:
    return lambda: src


def _thumbs(
    folder: Path, wanted: list[tuple[str, bool]], root: Path | None, eval_roots: list[Path]
) -> tuple[dict[str, str], dict[str, str]]:
    thumbs: dict[str, str] = {}
    notes: dict[str, str] = {}
    for path, is_eval in dict.fromkeys(wanted):
        if path in thumbs:
            continue
        if is_eval:
            ok = any(is_within(Path(path), r) for r in eval_roots)
            outside = "an image inside a .bin set" if "#" in path else "outside the evaluation set's folder"
            src, why = (Path(path), "") if ok else (None, outside)
        else:
            src, why = source_file(root, path)
        if src is None:
            thumbs[path], notes[path] = missing_placeholder(folder), why
            continue
        name = hashlib.blake2b(path.encode(), digest_size=8).hexdigest()
        thumbs[path] = write_thumbnail(folder, name, _loader(src))
        if thumbs[path] == MISSING:
            notes[path] = "cannot be read or decoded"
    return thumbs, notes


def build_hygiene_pages(
    findings: dict[str, Any] | str | Path,
    report_dir: str | Path,
    source_root: str | Path | None = None,
    per_page: int = 25,
    title: str = "",
) -> Path:
    """Write ``report_dir/hygiene/`` (index.html, ``duplicates-NNNN.html``,
    ``identities-NNNN.html``, ``overlaps-NNNN.html``, thumbnails/) from a findings dict or a
    hygiene.json path; returns the path of its index.html. Only that folder is replaced."""
    data: dict[str, Any] = (
        findings
        if isinstance(findings, dict)
        else json.loads(Path(findings).read_text(encoding="utf-8"))
    )
    out = Path(report_dir) / "hygiene"
    if out.exists():
        shutil.rmtree(out)
    (out / "thumbnails").mkdir(parents=True)
    root = Path(source_root) if source_root else None
    eval_roots = [Path(e["root"]) for e in data.get("eval_sets", []) if e.get("root")]
    common = {"style": templates.markup(templates.STYLE), "script": templates.markup(templates.SCRIPT),
              "csv": _csv_line, "missing": MISSING}  # fmt: skip
    sections = []
    for kind, label, key, template in SECTIONS:
        items = data.get(key, [])
        pages = [items[i : i + per_page] for i in range(0, len(items), per_page)]
        for number, page in enumerate(pages, start=1):
            wanted = [p for item in page for p in _paths(kind, item)]
            thumbs, notes = _thumbs(out / "thumbnails", wanted, root, eval_roots)
            html = templates.render(template, page=number, n_pages=len(pages), kind=kind,
                                    label=label, items=page, thumbs=thumbs, notes=notes,
                                    **common)  # fmt: skip
            write_text_atomic(html, out / f"{kind}-{number:04d}.html")
        sections.append((kind, label, len(pages)))
    index = templates.render(HYGIENE_INDEX, s=data["summary"], sections=sections,
                             title=title, **common)  # fmt: skip
    write_text_atomic(index, out / "index.html")
    return out / "index.html"
