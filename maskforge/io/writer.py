"""Atomic file writing (the one way maskforge replaces a file), Parquet shards and their stats.

:func:`write_table_atomic`, :func:`write_json_atomic`, :func:`write_bytes_atomic` and
:func:`write_text_atomic` write under a temporary name in the target's folder and rename into
place: a reader sees the old file or the new one, never half of one. On any failure (disk full,
read-only folder, interrupt) the temporary file is removed and the ``OSError`` names the target.

Every file gets the permissions a plain ``open`` would give it under the process umask
(``0666 & ~umask``: 0644 under umask 022), not ``mkstemp``'s private 0600.

A shard ``DIR/shard-00000.parquet`` is written under a temporary name and renamed into place, so a
reader never sees half a file. Its stats file ``DIR/.stats/shard-00000.json`` is written
(atomically too) only after the Parquet file: the stats file marks the shard **done**. A killed
writer leaves at most a hidden temporary file, which readers ignore and which the next process
on that host to write into the same folder removes (each process sweeps a folder once, at its first
write there, so writing N files costs O(N), not O(N^2), in a big folder).

``DIR`` itself holds only Parquet files: the stats live in the hidden ``.stats`` folder, which
pandas, ``pyarrow.dataset``, HF ``datasets`` and Ray Data all skip (a ``_stats`` folder would
not do: HF ``datasets`` only skips names starting with ``.`` or ``__``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .integrity import INTEGRITY, damaged, file_record
from .names import NAME_MAX, short_name

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


_HOST = socket.gethostname().replace("/", "_").replace(".", "_")[:40]


def current_umask() -> int:
    """The process umask, read without changing it (``/proc/self/status``); where that is not
    available, set and restored at once."""
    try:  # "Umask:" is among the first lines: one short read, no line iteration
        fd = os.open("/proc/self/status", os.O_RDONLY)
        try:
            head = os.read(fd, 1024).decode("ascii", "replace")
        finally:
            os.close(fd)
        for line in head.splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_target(path: Path) -> tuple[int, str]:
    """A new temporary file next to ``path``: ``.<name>.<host>-<pid>.<random>.tmp``, with the
    permissions the umask gives a new file. At this process's first write into the folder,
    temporaries left there by dead processes of this host (a killed run) are removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f"{_tmp_head(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def _tmp_name(name: str) -> str:
    """The part of a temporary file's name that names its target (shortened so that the whole
    temporary name fits the file system's limit)."""
    return "." + short_name(name, NAME_MAX - 80)


def _tmp_head(path: Path) -> str:
    return f"{_tmp_name(path.name)}.{_HOST}-"


#: Folders this process has swept for stale temporaries: ``(pid, folder)``, so that a forked
#: worker sweeps again (its parent's sweep may predate a sibling's death).
_SWEPT: set[tuple[int, str]] = set()


def _sweep_once(folder: Path) -> None:
    """Remove the temporaries of dead writers of this host in ``folder``, once per process."""
    key = (os.getpid(), os.fspath(folder))
    if key in _SWEPT:
        return
    marker = f".{_HOST}-"
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            at = name.rfind(marker)
            if not (name.startswith(".") and name.endswith(".tmp")) or at < 0:
                continue
            pid = name[at + len(marker) :].split(".", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    _SWEPT.add(key)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[str]:
    """Yield a temporary path next to ``path``; when the block ends without error it is renamed
    to ``path``, otherwise removed. An ``OSError`` without a file name gets ``path``'s.

    ``replace=False`` never replaces an existing ``path``: the finished file is hard-linked into
    place (which fails with :class:`FileExistsError` when ``path`` exists) and the temporary
    name removed, so ``path`` appears whole or not at all, and only if it was free."""
    path = Path(path)
    try:
        fd, tmp = _atomic_target(path)
        os.close(fd)
    except OSError as exc:
        exc.filename = str(path) if exc.filename is None else exc.filename
        raise
    try:
        yield tmp
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            os.unlink(tmp)
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


def write_bytes_atomic(data: bytes, path: Path, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (``replace=False``: only
    if ``path`` does not exist, see :func:`atomic_path`)."""
    with atomic_path(path, replace=replace) as tmp, open(tmp, "wb") as fh:
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
    return [f for f in found if any(f.name.startswith(f"{_tmp_name(t)}.") for t in targets)]


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


def write_shard(
    table: pa.Table, parquet: Path, stats: Mapping[str, Any], side: tuple[Path, ...] = ()
) -> None:
    """Write a shard and then its stats file (which marks it done). The stats record, under
    ``"integrity"``, the size and hash of the shard and of its ``side`` files (written before,
    in folders of their own or next to it; keyed by their path relative to the shard's parent's
    parent), so a reuse can verify them (:mod:`.integrity`)."""
    parquet = Path(parquet)
    write_table_atomic(table, parquet)
    records = {integrity_name(parquet, f): file_record(f) for f in (*side, parquet)}
    write_json_atomic({**stats, INTEGRITY: records}, stats_path(parquet))


def integrity_name(parquet: Path, file: Path) -> str:
    """The key of ``file``'s record in the stats of shard ``parquet``: its name when it lies
    next to the shard, else ``<folder>/<name>`` (a side table's shard)."""
    file = Path(file)
    return file.name if file.parent == Path(parquet).parent else f"{file.parent.name}/{file.name}"


def integrity_files(parquet: Path, stats: dict[str, Any] | None) -> dict[Path, Any]:
    """``{path: record}`` of the files the stats of shard ``parquet`` recorded (the shard itself
    with no record when the stats predate records)."""
    parquet = Path(parquet)
    records = (stats or {}).get(INTEGRITY)
    if not isinstance(records, dict):
        return {parquet: None}
    base = parquet.parent
    return {(base / k if "/" not in k else base.parent / k): v for k, v in records.items()}


def done_problems(parquet: Path, *, full: bool = True) -> dict[Path, str]:
    """What is wrong with the files shard ``parquet``'s stats recorded (the shard and its side
    files): ``{path: problem}``, empty when every file matches its size and hash. A shard whose
    stats predate the records is checked for existence only."""
    parquet = Path(parquet)
    files = integrity_files(parquet, read_stats(parquet))
    return damaged({p: r for p, r in files.items() if r is not None}, full=full) if any(
        r is not None for r in files.values()
    ) else ({} if parquet.is_file() else {parquet: "missing"})


def verified_done(parquet: Path, warn: Any = None) -> bool:
    """True when shard ``parquet`` is done and every file its stats recorded is intact; for a
    damaged one ``warn(message)`` is told which file and why (the caller rebuilds it; nothing is
    written here, so a dry run may ask too)."""
    parquet = Path(parquet)
    if not is_done(parquet):
        return False
    problems = done_problems(parquet)
    if not problems:
        return True
    if warn is not None:
        shown = "; ".join(f"{p}: {why}" for p, why in sorted(problems.items()))
        warn(f"rebuilding shard {parquet.name} of {parquet.parent}: damaged file(s) {shown}")
    return False
