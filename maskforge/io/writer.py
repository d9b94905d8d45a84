"""Atomic Parquet shard writing and per-shard stats files.

A shard ``DIR/shard-00000.parquet`` is written under a temporary name and renamed into place, so a
reader never sees half a file. Its stats file ``DIR/.stats/shard-00000.json`` is written
(atomically too) only after the Parquet file: the stats file marks the shard **done**. A killed
writer leaves at most a hidden temporary file, which is ignored and replaced on the next run.

``DIR`` itself holds only Parquet files: the stats live in the hidden ``.stats`` folder, which
pandas, ``pyarrow.dataset``, HF ``datasets`` and Ray Data all skip (a ``_stats`` folder would
not do: HF ``datasets`` only skips names starting with ``.`` or ``__``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: Rows per Parquet row group: small enough for random access from a DataLoader.
ROW_GROUP_SIZE = 128
COMPRESSION = "zstd"


def shard_path(folder: Path, index: int) -> Path:
    return Path(folder) / f"shard-{index:05d}.parquet"


#: The folder, inside a shard folder, that holds the shards' stats files (done markers).
STATS_DIR = ".stats"


def stats_path(parquet: Path) -> Path:
    """Where the stats file of shard ``parquet`` lives: ``DIR/.stats/<stem>.json``."""
    parquet = Path(parquet)
    return parquet.parent / STATS_DIR / (parquet.name.removesuffix(".parquet") + ".json")


def _atomic_target(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def write_table_atomic(table: pa.Table, path: Path, row_group_size: int = ROW_GROUP_SIZE) -> None:
    """Write ``table`` to ``path`` (zstd Parquet) through a temporary file and a rename."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        pq.write_table(
            table,
            tmp,
            compression=COMPRESSION,
            row_group_size=row_group_size,
            write_statistics=True,
        )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(data: Any, path: Path) -> None:
    """Write ``data`` as indented JSON through a temporary file and a rename."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=False, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_done(parquet: Path) -> bool:
    """A shard is done when its Parquet file and its stats file both exist."""
    return Path(parquet).is_file() and stats_path(Path(parquet)).is_file()


def read_stats(parquet: Path) -> dict[str, Any] | None:
    """The stats written with shard ``parquet``, or None when it is not done (or unreadable)."""
    p = stats_path(Path(parquet))
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_shard(table: pa.Table, parquet: Path, stats: dict[str, Any]) -> None:
    """Write a shard and then its stats file (which marks it done)."""
    write_table_atomic(table, Path(parquet))
    write_json_atomic(stats, stats_path(Path(parquet)))
