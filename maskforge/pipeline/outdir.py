"""A run owns its output folder: what it does to ``OUT`` when it starts and when it ends.

At the start (:func:`start_run`): ``OUT`` is checked (a file that a run would write or remove
which exists while ``OUT`` holds no maskforge manifest is the user's: the run is refused),
temporary files that a killed earlier run left are removed, the
manifest says ``running``, ``--restart`` empties the dataset and its side tables (stage caches
stay, but nothing is served from before), and ``labels.csv`` is written from the plan.

At the end (:func:`remove_stale_shards`): shard files of ``dataset/``, ``rejects/``, ``removed/``
and ``clean_scores/`` (and their stats files) that this run neither wrote nor reused are removed,
as are consolidated side tables of stages the recipe no longer runs. Only files named the way
maskforge names its own are ever touched.
"""

from __future__ import annotations

import csv
import io
import json
from operator import itemgetter
from pathlib import Path

from ..errors import OutputError
from ..io.manifest import mark_running
from ..io.writer import stats_path, temp_files, write_text_atomic
from .plan import RunPlan

#: The per-shard tables of a run (folders of ``OUT``).
SHARD_TABLES = ("dataset", "rejects", "removed", "clean_scores")
#: Per-shard tables written only when the recipe cleans.
CLEAN_TABLES = ("removed", "clean_scores")
#: Files a run writes at the top of ``OUT``.
TOP_FILES = (
    "manifest.json", "labels.csv", "rejects.parquet", "removed.parquet", "clean_scores.parquet",
    "README.md", "recipe.toml", "hygiene.parquet", "hygiene.json",
)


def start_run(plan: RunPlan, resume: bool = True) -> None:
    """Prepare ``OUT`` for a run of ``plan`` (see the module doc)."""
    check_output(plan.out)
    plan.out.mkdir(parents=True, exist_ok=True)
    remove_temp_files(plan.out)
    mark_running(plan.out, plan.recipe.to_dict())
    if not resume:
        clear_dataset(plan)
    write_labels(plan)


def clear_dataset(plan: RunPlan) -> list[Path]:
    """Remove every shard file of the run's tables and the consolidated side tables."""
    gone = _remove_unowned(plan, set())
    for name in ("rejects.parquet", "removed.parquet", "clean_scores.parquet", "hygiene.parquet",
                 "hygiene.json"):  # fmt: skip
        p = plan.out / name
        if p.is_file():
            p.unlink()
            gone.append(p)
    return gone


def check_output(out: Path) -> None:
    """Refuse an ``OUT`` where a run would replace files maskforge did not write."""
    out = Path(out)
    if not out.is_dir():
        return
    manifest = out / "manifest.json"
    try:
        ours = manifest.is_file() and "maskforge_manifest" in json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        ours = False
    if ours:
        return
    theirs = [n for n in TOP_FILES if (out / n).exists()]
    theirs += [f"{t}/shard-*" for t in SHARD_TABLES if any((out / t).glob("shard-*"))]
    if theirs:
        raise OutputError(
            f"{out} holds {', '.join(theirs)} but no maskforge manifest: a run would replace "
            "files maskforge did not write; choose another --output (or an empty folder)"
        )


def labels_csv(labels: dict[str, int]) -> str:
    """``identity,label`` lines, in label order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["identity", "label"])
    writer.writerows([name, label] for name, label in sorted(labels.items(), key=itemgetter(1)))
    return buf.getvalue()


def write_labels(plan: RunPlan) -> Path:
    """Write ``OUT/labels.csv``: the plan's label space, the labels every dataset row carries."""
    path = plan.layout.labels
    write_text_atomic(labels_csv(plan.labels), path)
    return path


def remove_temp_files(out: Path) -> list[Path]:
    """Remove the atomic writers' temporary files under ``OUT`` (left by a killed run)."""
    out = Path(out)
    folders = [out / t for t in SHARD_TABLES]
    folders += [stats_path(f / "shard-00000.parquet").parent for f in folders]
    cache = out / "cache"
    folders += sorted(p for p in cache.iterdir() if p.is_dir()) if cache.is_dir() else []
    gone = [t for f in dict.fromkeys(folders) for t in temp_files(f)]
    gone += temp_files(out, TOP_FILES)
    for t in gone:
        t.unlink(missing_ok=True)
    return gone


def owned_files(plan: RunPlan) -> set[Path]:
    """The shard files (and stats files) of the tables this run writes."""
    layout = plan.layout
    tables = ["dataset", "rejects"] + (list(CLEAN_TABLES) if plan.has("clean") else [])
    owned: set[Path] = set()
    for t in tables:
        for s in plan.shards:
            f = layout.shard_file(plan.out / t, s.index)
            owned |= {f, stats_path(f)}
    return owned


def remove_stale_shards(plan: RunPlan) -> list[Path]:
    """At the end of a run: remove every shard file that this run did not write or reuse."""
    gone = _remove_unowned(plan, owned_files(plan))
    stale: tuple[str, ...] = () if plan.has("clean") else ("removed.parquet", "clean_scores.parquet")
    stale += () if plan.has("hygiene") else ("hygiene.parquet", "hygiene.json")
    for name in stale:
        p = plan.out / name
        if p.is_file():
            p.unlink()
            gone.append(p)
    return gone


def _remove_unowned(plan: RunPlan, owned: set[Path]) -> list[Path]:
    """Remove the shard files (``shard-*``) of the shard tables that are not in ``owned``."""
    gone: list[Path] = []
    for t in SHARD_TABLES:
        folder = plan.out / t
        folders = {folder, stats_path(folder / "shard-00000.parquet").parent}
        for f in sorted(p for d in folders if d.is_dir() for p in d.glob("shard-*")):
            if f.is_file() and f not in owned:
                f.unlink()
                gone.append(f)
    return gone
