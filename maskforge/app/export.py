"""``maskforge export``: a run's samples written as identity folders of image files or as
WebDataset shards, with the row filter (split, variants) resolved against the run's shards."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..io.reader import dataset_files
from ..io.selection import RowFilter, read_scan


def row_filter(
    out: str | os.PathLike[str], *, variants: Sequence[str] = (), split: str | None = None,
    allow_partial: bool = False,
) -> RowFilter:
    """The rows of run ``out`` to export: ``variants`` only (a prefix selects its ``+``/``#``
    variants; empty: all), ``split`` only (None: all). ValueError for a variant or split the run
    does not have (the message lists the known ones)."""
    return RowFilter.resolve(
        [read_scan(f) for f in dataset_files(out, allow_partial=allow_partial)], split=split,
        variants=list(variants) or None, occluded=None,
    )  # fmt: skip


def export_run(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    rows: RowFilter,
    *,
    format: str = "folders",  # noqa: A002 - the CLI's --format
    split: str | None = None,
    maxcount: int = 10_000,
    allow_partial: bool = False,
) -> int:
    """Write the ``rows`` (:func:`row_filter`, made with the same ``split``) of run ``out`` under
    ``dst``: ``format``
    ``folders`` (``DST/<identity>/<name>_<variant>.<ext>``) or ``webdataset`` (tar shards of
    ``maxcount`` samples). Returns the number of samples written; IncompleteRunError for an
    unfinished run unless ``allow_partial``."""
    if format == "webdataset":
        from ..export.webdataset import export_webdataset

        return export_webdataset(out, dst, row_filter=rows, maxcount=maxcount, allow_partial=allow_partial)
    from ..export import export_folders

    chosen = sorted(rows.variants) if rows.variants is not None else None
    return export_folders(out, dst, layout="identity", variants=chosen, split=split, allow_partial=allow_partial)
