"""Atomic file writing (the one way maskforge replaces a file), Parquet shards and their stats.

:func:`write_table_atomic`, :func:`write_json_atomic`, :func:`write_bytes_atomic` and
:func:`write_text_atomic` write under a temporary name in the target's folder and rename into
place: a reader sees the old file or the new one, never half of one. On any failure (disk full,
read-only folder, interrupt) the temporary file is removed and the ``OSError`` names the target.

A shard ``DIR/shard-00000.parquet`` is written under a temporary name and renamed into place, so a
reader never sees half a file. Its stats file ``DIR/.stats/shard-00000.json`` is written
(atomically too) only after the Parquet file: the stats file marks the shard **done**. A killed
writer leaves at most a hidden temporary file, which readers ignore and the next write of the same
file on that host removes.

``DIR`` itself holds only Parquet files: the stats live in the hidden ``.stats`` folder, which
pandas, ``pyarrow.dataset``, HF ``datasets`` and Ray Data all skip (a ``_stats`` folder would
not do: HF ``datasets`` only skips names starting with ``.`` or ``__``).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
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


_HOST = socket.gethostname().replace("/", "_").replace(".", "_")


def _atomic_target(path: Path) -> tuple[int, str]:
    """A new temporary file next to ``path``: ``.<name>.<host>-<pid>.<random>.tmp``. Temporaries
    of the same target left by dead processes of this host (a killed run) are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    return tempfile.mkstemp(prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp", dir=path.parent)


def _remove_stale(path: Path) -> None:
    head = f".{path.name}.{_HOST}-"
    for tmp in path.parent.glob(glob.escape(head) + "*.tmp"):
        pid = tmp.name[len(head) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path next to ``path``; when the block ends without error it is renamed
    to ``path``, otherwise removed. An ``OSError`` without a file name gets ``path``'s."""
    path = Path(path)
    try:
        fd, tmp = _atomic_target(path)
        os.close(fd)
    except OSError as exc:
        exc.filename = str(path) if exc.filename is None else exc.filename
        raise
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            exc.filename = str(path)
        raise


def write_table_atomic(table: pa.Table, path: Path, row_group_size: int = ROW_GROUP_SIZE) -> None:
    """Write ``table`` to ``path`` (zstd Parquet) through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression=COMPRESSION,
            row_group_size=row_group_size,
            write_statistics=True,
        )


def write_bytes_atomic(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_text_atomic(text: str, path: Path) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    write_bytes_atomic(text.encode("utf-8"), path)


def write_json_atomic(data: Any, path: Path) -> None:
    """Write ``data`` as indented JSON through a temporary file and a rename."""
    write_text_atomic(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", path)


def temp_files(folder: Path, targets: tuple[str, ...] | None = None) -> list[Path]:
    """Temporary files the atomic writers above left in ``folder`` (a killed writer's), of any
    target or only of the file names ``targets``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = sorted(folder.glob(".*.tmp"))
    if targets is None:
        return found
    return [f for f in found if any(f.name.startswith(f".{t}.") for t in targets)]


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


def write_shard(table: pa.Table, parquet: Path, stats: Mapping[str, Any]) -> None:
    """Write a shard and then its stats file (which marks it done)."""
    write_table_atomic(table, Path(parquet))
    write_json_atomic(stats, stats_path(Path(parquet)))
