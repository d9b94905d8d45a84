"""Reading a run's Parquet shards: which files belong to the run, and a dataset over them.

A run owns its output folder: once it has finished, its ``manifest.json`` says ``"status":
"complete"`` and lists in ``dataset_files`` exactly the run's dataset shards. Every reader
(:func:`read_shards`, the torch datasets, ``maskforge export``, ``maskforge inspect``) finds its
files through :func:`run_files`, so it reads exactly those: never a stale shard of an earlier
recipe, never half a run. Reading a run that has not finished raises
:class:`~maskforge.errors.IncompleteRunError` unless ``allow_partial=True``, which reads the shards
that are done so far.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from ..errors import IncompleteRunError, OutputError
from .writer import is_done

#: The per-shard folders of a run (``OUT/<table>/shard-N.parquet``, one file per dataset shard).
TABLES = ("dataset", "rejects", "removed", "clean_scores")


def shard_files(folder: str | os.PathLike[str], done_only: bool = True) -> list[Path]:
    """Sorted ``shard-*.parquet`` files of a folder (only completed ones by default)."""
    folder = Path(folder)
    files = sorted(folder.glob("shard-*.parquet"))
    return [f for f in files if is_done(f)] if done_only else files


def run_root(path: str | os.PathLike[str]) -> Path | None:
    """The run folder ``OUT`` that ``path`` is (or whose shard folder it is), else None."""
    p = Path(path)
    if (p / "manifest.json").is_file():
        return p
    if p.name in TABLES and (p.parent / "manifest.json").is_file():
        return p.parent
    return None


def read_manifest(out: str | os.PathLike[str]) -> dict[str, Any]:
    """``OUT/manifest.json`` as a dict ({} when there is none)."""
    p = Path(out) / "manifest.json"
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise OutputError(f"{str(p)!r} is unreadable ({exc}); rerun the same `maskforge run`") from exc


def _manifest_files(root: Path, manifest: dict[str, Any], table: str) -> list[Path]:
    files = []
    for rel in manifest["dataset_files"]:
        f = root / rel
        if not f.is_file():
            raise OutputError(
                f"{str(f)!r} is listed in the manifest but missing; rerun the same `maskforge run` "
                "with --restart to rebuild the output"
            )
        files.append(f if table == "dataset" else root / table / f.name)
    return [f for f in files if f.is_file()]


def run_files(
    path: str | os.PathLike[str], table: str = "dataset", *, allow_partial: bool = False
) -> list[Path]:
    """The Parquet files of ``table`` that belong to the run at ``path``, sorted.

    Args:
        path: a run's output folder ``OUT``, one of its shard folders (``OUT/dataset``), a folder
            of shard files without a manifest, or one Parquet file.
        table: ``dataset`` (the samples), ``rejects``, ``removed`` or ``clean_scores``: the per-shard
            files of the run's done dataset shards.
        allow_partial: read a run that has not finished: the shards done so far.

    Raises:
        IncompleteRunError: the run has not finished and ``allow_partial`` is False.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise OutputError(f"{str(p)!r} does not exist; pass a maskforge output folder")
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    root = run_root(p)
    if root is None:  # a bare folder of shards, written by no run
        folder = p / table if (p / table).is_dir() else p
        return shard_files(folder)
    manifest = read_manifest(root)
    status = manifest.get("status")
    if status == "complete" and "dataset_files" in manifest:
        return _manifest_files(root, manifest, table)
    if status is not None and status != "complete" and not allow_partial:
        raise IncompleteRunError(
            f"the run in {str(root)!r} has not finished; rerun the same `maskforge run` command to "
            "resume it, or pass allow_partial=True (--allow-partial) to read the shards done so far"
        )
    done = shard_files(root / "dataset")
    if table == "dataset":
        return done
    return [root / table / f.name for f in done if (root / table / f.name).is_file()]


def dataset_files(path: str | os.PathLike[str], *, allow_partial: bool = False) -> list[Path]:
    """The run's dataset shard files (see :func:`run_files`)."""
    return run_files(path, "dataset", allow_partial=allow_partial)


def read_shards(
    path: str | os.PathLike[str], *, table: str = "dataset", allow_partial: bool = False
) -> ds.Dataset:
    """A :class:`pyarrow.dataset.Dataset` over a run's shards (exactly those of the run).

    Args:
        path: a run's output folder (``OUT``), one of its shard folders, or a single Parquet file.
        table: which shard folder of a run to read when ``path`` is a run folder: ``dataset``
            (the final samples), ``rejects``, ``removed`` or ``clean_scores``.
        allow_partial: read a run that has not finished (its done shards) instead of raising
            :class:`~maskforge.errors.IncompleteRunError`.

    Example:
        >>> dset = maskforge.read_shards("out")              # doctest: +SKIP
        >>> dset.to_table(columns=["sample_id", "label"])    # doctest: +SKIP
    """
    files = run_files(path, table, allow_partial=allow_partial)
    if files:
        return ds.dataset([str(f) for f in files], format="parquet")
    from .schema import REJECT_SCHEMA, SAMPLE_SCHEMA

    schema = {"dataset": SAMPLE_SCHEMA, "removed": SAMPLE_SCHEMA, "rejects": REJECT_SCHEMA}.get(table)
    if run_root(path) is not None and schema is not None:  # a run that kept nothing
        return ds.dataset([], schema=schema, format="parquet")
    raise OutputError(
        f"no completed shards in {str(path)!r}; is this the output folder of `maskforge run`?"
    )
