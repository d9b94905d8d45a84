"""``maskforge export``: a run's samples written as identity folders of image files, WebDataset
shards or an insightface RecordIO dataset, with the row filter (split, variants) resolved against
the run's shards; or a verification pair set of the run as an insightface ``.bin``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    ``folders`` (``DST/<identity>/<name>_<variant>.<ext>``), ``webdataset`` (tar shards of
    ``maxcount`` samples) or ``insightface`` (``train.rec``, ``train.idx``, ``property``,
    ``labels.csv``). Returns the number of samples written; IncompleteRunError for an unfinished
    run unless ``allow_partial``."""
    if format == "insightface":
        from ..export.insightface import export_insightface

        return int(export_insightface(out, dst, row_filter=rows, allow_partial=allow_partial)["records"])
    if format == "webdataset":
        from ..export.webdataset import export_webdataset

        return export_webdataset(out, dst, row_filter=rows, maxcount=maxcount, allow_partial=allow_partial)
    from ..export import export_folders

    chosen = sorted(rows.variants) if rows.variants is not None else None
    return export_folders(out, dst, layout="identity", variants=chosen, split=split, allow_partial=allow_partial)


def export_bin(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    split: str | None = None,
    mask: str = "none",
    pairs_file: str | os.PathLike[str] | None = None,
    folds: int = 10,
    per_fold: int = 300,
    seed: int = 0,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Write a verification pair set of run ``out`` to the file ``dst`` (arcface_torch's
    ``.bin``): the pairs of ``pairs_file`` (``maskforge eval make-pairs`` on the run's input),
    else pairs drawn from ``split`` (default ``val``). See
    :func:`maskforge.eval.run_bin.export_verification_bin` for what it returns."""
    from ..eval.pairs import read_pairs
    from ..eval.run_bin import export_verification_bin

    pairs = read_pairs(Path(pairs_file)) if pairs_file is not None else None
    return export_verification_bin(
        out, dst, split=split if split is not None or pairs is not None else "val", mask=mask,
        pairs=pairs, folds=folds, per_fold=per_fold, seed=seed, allow_partial=allow_partial,
    )  # fmt: skip
