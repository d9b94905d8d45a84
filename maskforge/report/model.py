"""What the audit report shows, computed from a clean_scores table (no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ..clean.table import table_metadata


@dataclass
class Sample:
    row: int  # row in the table (to fetch image bytes)
    sample_id: str
    source_path: str
    score: float | None
    threshold: float | None
    status: str
    reason: str
    nearest_identity: str | None
    nearest_distance: float | None


@dataclass
class Identity:
    name: str
    images: int
    flagged: int
    whitelisted: int
    threshold: float | None
    median_score: float | None
    cleaned: bool
    page: int | None = None  # page number (1-based) holding its flagged images
    flagged_samples: list[Sample] = field(default_factory=list)
    typical: list[Sample] = field(default_factory=list)


@dataclass
class ReportModel:
    summary: dict[str, Any]
    identities: list[Identity]  # every identity, sorted by flagged desc then name
    pages: list[list[tuple[Identity, list[Sample]]]]  # per page: (identity, its flagged slice)
    scores: np.ndarray  # scored samples' scores
    flagged_scores: np.ndarray
    threshold_floor: float | None
    threshold_range: tuple[float, float] | None


def _col(table: pa.Table, name: str, default: Any = None) -> list:
    if name in table.column_names:
        return table.column(name).to_pylist()
    return [default] * table.num_rows


def _num(v: Any) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _paginate(
    identities: list[Identity], per_page: int, max_images_per_page: int
) -> list[list[tuple[Identity, list[Sample]]]]:
    """Pages of (identity, slice of its flagged samples); sets each identity's ``page``."""
    pages: list[list[tuple[Identity, list[Sample]]]] = []
    current: list[tuple[Identity, list[Sample]]] = []
    count = 0
    for ident in identities:
        items = ident.flagged_samples
        for start in range(0, len(items), max_images_per_page):
            part = items[start : start + max_images_per_page]
            if current and (len(current) >= per_page or count + len(part) > max_images_per_page):
                pages.append(current)
                current, count = [], 0
            if ident.page is None:
                ident.page = len(pages) + 1
            current.append((ident, part))
            count += len(part)
    if current:
        pages.append(current)
    return pages


def _summary(
    table: pa.Table, identities: list[Identity], flagged: np.ndarray, status: list[str],
    reason: list[str], score: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """The report's summary counts and facts (method, embedder, action, source)."""
    meta = table_metadata(table)
    methods = sorted({m for m in _col(table, "method") if m})
    embedders = sorted({e for e in _col(table, "embedder") if e}) or [
        meta.get("embedder", {}).get("name", "unknown")
    ]
    return {
        "images": table.num_rows,
        "identities": len(identities),
        "identities_cleaned": sum(d.cleaned for d in identities),
        "identities_not_cleaned": sum(not d.cleaned for d in identities),
        "scored": int(np.isfinite(score).sum()),
        "flagged": int(flagged.sum()),
        "whitelisted": sum(s == "whitelisted" for s in status),
        "rejected": sum(s == "rejected" for s in status),
        "method": ", ".join(methods) or "unknown",
        "embedder": ", ".join(embedders),
        "embedder_info": meta.get("embedder", {}),
        "action": meta.get("config", {}).get("action", ""),
        "source_root": meta.get("source_root", ""),
        "flagged_by_reason": {
            r: sum(1 for f, x in zip(flagged, reason, strict=True) if f and x == r)
            for r in sorted({x for f, x in zip(flagged, reason, strict=True) if f})
        },
    }


def build_model(
    table: pa.Table, per_page: int = 20, max_images_per_page: int = 120, typical: int = 4
) -> ReportModel:
    """Group the table by identity and paginate identities that have flagged samples.

    A page holds at most ``per_page`` identities and ``max_images_per_page`` flagged images (an
    identity with more flagged images is split over several pages).
    """
    ids = _col(table, "identity")
    score = np.array([np.nan if v is None else v for v in _col(table, "clean_score")], float)
    thr = np.array([np.nan if v is None else v for v in _col(table, "threshold")], float)
    flagged = np.array(_col(table, "flagged", False), bool)
    status = [
        s if s is not None else ("flagged" if f else ("kept" if np.isfinite(sc) else "not_scored"))
        for s, f, sc in zip(_col(table, "status"), flagged, score, strict=True)
    ]
    reason = [r or "" for r in _col(table, "reason", "")]
    sids, paths = _col(table, "sample_id"), _col(table, "source_path")
    near, near_d = _col(table, "nearest_identity"), _col(table, "nearest_distance")

    def sample(i: int) -> Sample:
        return Sample(
            i, sids[i], paths[i], _num(score[i]), _num(thr[i]), status[i], reason[i],
            near[i], _num(near_d[i]),
        )  # fmt: skip

    by_id: dict[str, list[int]] = {}
    for i, name in enumerate(ids):
        by_id.setdefault(name, []).append(i)
    identities = []
    for name, rows in by_id.items():
        r = np.array(rows)
        scored = r[np.isfinite(score[r])]
        ident = Identity(
            name=name,
            images=len(rows),
            flagged=int(flagged[r].sum()),
            whitelisted=sum(status[i] == "whitelisted" for i in rows),
            threshold=_num(np.median(thr[scored])) if len(scored) else None,
            median_score=_num(np.median(score[scored])) if len(scored) else None,
            cleaned=len(scored) > 0,
        )
        if ident.flagged or ident.whitelisted:
            special = [i for i in rows if flagged[i] or status[i] == "whitelisted"]
            ident.flagged_samples = [sample(i) for i in sorted(special, key=lambda i: -score[i])]
            kept = [i for i in scored if not flagged[i] and status[i] == "kept"]
            ident.typical = [sample(i) for i in sorted(kept, key=lambda i: score[i])[:typical]]
        identities.append(ident)
    identities.sort(key=lambda d: (-d.flagged, -d.whitelisted, d.name))

    pages = _paginate(identities, per_page, max_images_per_page)
    summary = _summary(table, identities, flagged, status, reason, score)
    scored_mask = np.isfinite(score)
    finite_thr = thr[np.isfinite(thr)]
    return ReportModel(
        summary=summary,
        identities=identities,
        pages=pages,
        scores=score[scored_mask],
        flagged_scores=score[flagged & scored_mask],
        threshold_floor=float(finite_thr.min()) if len(finite_thr) else None,
        threshold_range=(float(finite_thr.min()), float(finite_thr.max()))
        if len(finite_thr)
        else None,
    )
