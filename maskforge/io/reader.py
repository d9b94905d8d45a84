"""Reading a run's Parquet shards: which files belong to the run, and a dataset over them.

A run owns its output folder: once it has finished, its ``manifest.json`` says ``"status":
"complete"`` and lists in ``dataset_files`` exactly the run's dataset shards, with their size and
hash in ``files``. Every reader (:func:`read_shards`, the torch datasets, ``maskforge export``,
``maskforge inspect``) finds its files through :func:`snapshot` (or :func:`run_files`), so it reads
exactly those: never a stale shard of an earlier recipe, never half a run. Reading a run that has
not finished raises :class:`~maskforge.errors.IncompleteRunError` unless ``allow_partial=True``,
which reads the shards that are done so far, and among them only those whose labels agree with
the run's label space (``labels.csv``): a shard of an earlier label space waiting to be rewritten
is never served.

Trust nothing on disk: every file is checked against the size recorded when it was written (the
manifest's ``files``, or the shard's stats) when the snapshot is taken, and a file that does not
match raises :class:`~maskforge.errors.CorruptFileError` naming it and the command that rebuilds
it (``verify=True`` checks the content hash too). A damaged ``manifest.json`` raises
:class:`~maskforge.io.manifest.DamagedManifestError`, saying how to rebuild it.

:func:`read_shards` reads a fixed snapshot: the files are opened (memory-mapped) when it is
called, so a run that replaces them later (each replacement is a new file renamed into place)
does not change what the dataset returns.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import IncompleteRunError, OutputError
from .integrity import corrupt_error, damaged
from .manifest import MANIFEST, load_manifest
from .names import printable
from .writer import integrity_files, is_done, read_stats

#: The per-shard folders of a run (``OUT/<table>/shard-N.parquet``, one file per dataset shard).
TABLES = ("dataset", "rejects", "removed", "clean_scores")
#: The command that rebuilds damaged or missing files of a run.
REPAIR = "rerun the same `maskforge run` command with this --output (it rebuilds exactly those files)"
#: Above this many files, :func:`read_shards` reads by path instead of keeping each file open.
MAX_OPEN_FILES = 512


def shard_files(folder: str | os.PathLike[str], done_only: bool = True) -> list[Path]:
    """Sorted ``shard-*.parquet`` files of a folder (only completed ones by default)."""
    folder = Path(folder)
    files = sorted(folder.glob("shard-*.parquet"))
    return [f for f in files if is_done(f)] if done_only else files


def run_root(path: str | os.PathLike[str]) -> Path | None:
    """The run folder ``OUT`` that ``path`` is (or whose shard folder it is), else None."""
    p = Path(path)
    if (p / MANIFEST).is_file():
        return p
    if p.name in TABLES and (p.parent / MANIFEST).is_file():
        return p.parent
    return None


def read_manifest(out: str | os.PathLike[str]) -> dict[str, Any]:
    """``OUT/manifest.json`` as a dict ({} when there is none); a damaged one raises
    :class:`~maskforge.io.manifest.DamagedManifestError`."""
    return load_manifest(out) or {}


@dataclass
class RunSnapshot:
    """The files of one table of a run, fixed when taken.

    Attributes:
        root: the run folder (None for a bare folder of shards).
        generation: the manifest's generation when taken (0 when none).
        files: the table's Parquet files, sorted.
        status: the manifest's status (None without a manifest).
        skipped: dataset shards left out of a partial read, with why.
    """

    root: Path | None
    generation: int
    files: list[Path]
    status: str | None = None
    skipped: dict[Path, str] = field(default_factory=dict)


def _labels_csv(root: Path) -> dict[str, int] | None:
    try:
        text = (root / "labels.csv").read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        return {r["identity"]: int(r["label"]) for r in csv.DictReader(io.StringIO(text))}
    except (KeyError, ValueError, TypeError, csv.Error):
        return None


def _disagrees(parquet: Path, labels: dict[str, int]) -> bool:
    """True when a row of shard ``parquet`` carries a label other than ``labels`` gives its
    identity (an identity missing from ``labels`` disagrees too)."""
    table = pq.read_table(parquet, columns=["identity", "label"])
    pairs = set(zip(table.column("identity").to_pylist(), table.column("label").to_pylist(), strict=True))
    return any(labels.get(i) != lab for i, lab in pairs)


def _side(files: list[Path], table: str, root: Path) -> list[Path]:
    if table == "dataset":
        return files
    return [root / table / f.name for f in files if (root / table / f.name).is_file()]


def _check_manifest_files(root: Path, manifest: dict[str, Any], verify: bool) -> list[Path]:
    found = manifest.get("files")
    records: dict[str, Any] = found if isinstance(found, dict) else {}
    files = {root / rel: records.get(rel) for rel in manifest["dataset_files"]}
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise OutputError(
            f"{printable(str(missing[0]))!r} is listed in the manifest but missing; {REPAIR}"
        )
    problems = damaged({f: r for f, r in files.items() if r is not None}, full=verify)
    if problems:
        raise corrupt_error(problems, REPAIR)
    return sorted(files)


def _check_done(done: list[Path], verify: bool) -> None:
    """Raise for a done shard (or a side file it recorded) that does not match its stats."""
    wanted: dict[Path, Any] = {}
    for f in done:
        for path, record in integrity_files(f, read_stats(f)).items():
            if record is not None:
                wanted[path] = record
    problems = damaged(wanted, full=verify)
    if problems:
        raise corrupt_error(problems, REPAIR)


def snapshot(
    path: str | os.PathLike[str], table: str = "dataset", *, allow_partial: bool = False, verify: bool = False
) -> RunSnapshot:
    """The files of ``table`` of the run at ``path`` (see :func:`run_files`), checked against
    their recorded sizes (and hashes with ``verify``)."""
    p = Path(path)
    if p.is_file():
        return RunSnapshot(None, 0, [p])
    if not p.is_dir():
        raise OutputError(f"{printable(str(p))!r} does not exist; pass a maskforge output folder")
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    root = run_root(p)
    if root is None:  # a bare folder of shards, written by no run
        folder = p / table if (p / table).is_dir() else p
        return RunSnapshot(None, 0, shard_files(folder))
    manifest = read_manifest(root)
    status, generation = manifest.get("status"), int(manifest.get("generation") or 0)
    if status == "complete" and "dataset_files" in manifest:
        files = _check_manifest_files(root, manifest, verify)
        _check_done([f for f in files if is_done(f)], verify)
        return RunSnapshot(root, generation, _side(files, table, root), status)
    if status is not None and status != "complete" and not allow_partial:
        raise IncompleteRunError(
            f"the run in {printable(str(root))!r} has not finished; rerun the same `maskforge run` "
            "command to resume it, or pass allow_partial=True (--allow-partial) to read the shards "
            "done so far"
        )
    done = shard_files(root / "dataset")
    _check_done(done, verify)
    labels = _labels_csv(root)
    skipped = {f: "labels disagree with labels.csv" for f in done if labels is not None and _disagrees(f, labels)}
    done = [f for f in done if f not in skipped]
    return RunSnapshot(root, generation, _side(done, table, root), status, skipped)


def run_files(
    path: str | os.PathLike[str], table: str = "dataset", *, allow_partial: bool = False
) -> list[Path]:
    """The Parquet files of ``table`` that belong to the run at ``path``, sorted.

    Args:
        path: a run's output folder ``OUT``, one of its shard folders (``OUT/dataset``), a folder
            of shard files without a manifest, or one Parquet file.
        table: ``dataset`` (the samples), ``rejects``, ``removed`` or ``clean_scores``: the per-shard
            files of the run's done dataset shards.
        allow_partial: read a run that has not finished: the shards done so far whose labels
            agree with ``labels.csv``.

    Raises:
        IncompleteRunError: the run has not finished and ``allow_partial`` is False.
        CorruptFileError: a file does not match the size recorded when it was written.
    """
    return snapshot(path, table, allow_partial=allow_partial).files


def dataset_files(path: str | os.PathLike[str], *, allow_partial: bool = False) -> list[Path]:
    """The run's dataset shard files (see :func:`run_files`)."""
    return run_files(path, "dataset", allow_partial=allow_partial)


def open_parquet(path: Path) -> pq.ParquetFile:
    """``path`` as a :class:`pyarrow.parquet.ParquetFile`; a file that is not valid Parquet raises
    :class:`~maskforge.errors.CorruptFileError` naming it and the command that rebuilds it."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise corrupt_error({Path(path): f"not a readable Parquet file ({exc})"}, REPAIR) from exc


def _fixed_dataset(files: list[Path]) -> ds.Dataset:
    """A dataset over ``files`` as they are now (each memory-mapped, so a later replacement of
    a file by a rename does not reach it)."""
    fmt = ds.ParquetFileFormat()
    fragments = []
    for f in files:
        try:
            fragments.append(fmt.make_fragment(pa.memory_map(str(f))))
            schema = fragments[0].physical_schema
        except (pa.ArrowException, OSError) as exc:
            raise corrupt_error({f: f"not a readable Parquet file ({exc})"}, REPAIR) from exc
    return ds.FileSystemDataset(fragments, schema=schema, format=fmt)


def read_shards(
    path: str | os.PathLike[str], *, table: str = "dataset", allow_partial: bool = False, verify: bool = False
) -> ds.Dataset:
    """A :class:`pyarrow.dataset.Dataset` over a run's shards (exactly those of the run, as they
    are when called: see the module doc).

    Args:
        path: a run's output folder (``OUT``), one of its shard folders, or a single Parquet file.
        table: which shard folder of a run to read when ``path`` is a run folder: ``dataset``
            (the final samples), ``rejects``, ``removed`` or ``clean_scores``.
        allow_partial: read a run that has not finished (its done shards) instead of raising
            :class:`~maskforge.errors.IncompleteRunError`.
        verify: check every file's content hash too (reads each file once more), not only its
            size: a flipped bit raises :class:`~maskforge.errors.CorruptFileError` naming it.

    Example:
        >>> dset = maskforge.read_shards("out")              # doctest: +SKIP
        >>> dset.to_table(columns=["sample_id", "label"])    # doctest: +SKIP
    """
    files = snapshot(path, table, allow_partial=allow_partial, verify=verify).files
    if files and len(files) <= MAX_OPEN_FILES:
        return _fixed_dataset(files)
    if files:
        return ds.dataset([str(f) for f in files], format="parquet")
    from .schema import REJECT_SCHEMA, SAMPLE_SCHEMA

    schema = {"dataset": SAMPLE_SCHEMA, "removed": SAMPLE_SCHEMA, "rejects": REJECT_SCHEMA}.get(table)
    if run_root(path) is not None and schema is not None:  # a run that kept nothing
        return ds.dataset([], schema=schema, format="parquet")
    raise OutputError(
        f"no completed shards in {printable(str(path))!r}; is this the output folder of `maskforge run`?"
    )
