"""Reading a run's Parquet shards."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.dataset as ds

from ..errors import OutputError
from .writer import is_done


def shard_files(folder: str | os.PathLike[str], done_only: bool = True) -> list[Path]:
    """Sorted ``shard-*.parquet`` files of a folder (only completed ones by default)."""
    folder = Path(folder)
    files = sorted(folder.glob("shard-*.parquet"))
    return [f for f in files if is_done(f)] if done_only else files


def read_shards(path: str | os.PathLike[str], *, table: str = "dataset") -> ds.Dataset:
    """A :class:`pyarrow.dataset.Dataset` over a run's completed shards.

    Args:
        path: a run's output folder (``OUT``), one of its shard folders, or a single Parquet file.
        table: which shard folder of a run to read when ``path`` is a run folder: ``dataset``
            (the final samples), ``rejects`` or ``removed``.

    Example:
        >>> dset = maskforge.read_shards("out")              # doctest: +SKIP
        >>> dset.to_table(columns=["sample_id", "label"])    # doctest: +SKIP
    """
    p = Path(path)
    if p.is_file():
        return ds.dataset(str(p), format="parquet")
    if not p.is_dir():
        raise OutputError(f"{str(p)!r} does not exist; pass a maskforge output folder")
    folder = p / table if (p / table).is_dir() else p
    files = shard_files(folder)
    if not files:
        consolidated = p / f"{table}.parquet"
        if consolidated.is_file():
            return ds.dataset(str(consolidated), format="parquet")
        raise OutputError(
            f"no completed shards in {str(folder)!r}; is this the output folder of `maskforge run`?"
        )
    return ds.dataset([str(f) for f in files], format="parquet")
