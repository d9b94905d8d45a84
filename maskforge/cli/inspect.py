"""``maskforge inspect``: what a run's output folder holds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

import click
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import OutputError
from ..io.reader import read_manifest, run_files, snapshot
from ._common import table, user_errors


def _spread(counts: list[int]) -> str:
    if not counts:
        return "-"
    return f"min {min(counts)} / median {median(counts):g} / max {max(counts)}"


#: How many removals ``inspect`` lists (highest cleaning score first).
TOP_REMOVALS = 10


def _top_removals(out: Path, n: int = TOP_REMOVALS) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in run_files(out, "removed", allow_partial=True):
        t = pq.read_table(f, columns=["source_path", "identity", "clean_score"])
        rows += t.to_pylist()
    rows.sort(key=lambda r: (-(r["clean_score"] if r["clean_score"] is not None else float("-inf")), r["source_path"]))
    return [{"source_path": r["source_path"], "identity": r["identity"], "score": r["clean_score"]} for r in rows[:n]]


def inspect_output(out: Path) -> dict[str, Any]:
    """Counts of a run's output folder (what ``maskforge inspect`` prints), as a dict.

    An unfinished run is shown as it stands (``status`` says so): its done shards are counted.
    """
    out = Path(out)
    if not (out / "manifest.json").is_file() and not (out / "dataset").is_dir():
        raise OutputError(f"{str(out)!r} is not a maskforge output folder (no manifest.json)")
    manifest = read_manifest(out)
    done = snapshot(out, "dataset", allow_partial=True, verify=True).files  # sizes and hashes checked
    all_files = sorted((out / "dataset").glob("shard-*.parquet"))
    expected = manifest.get("shards", {}).get("total", len(all_files))
    info: dict[str, Any] = {
        "status": manifest.get("status", "complete" if manifest else "no manifest"),
        "shards": {"expected": expected, "done": len(done), "incomplete": max(len(all_files) - len(done), 0)},
    }
    ids: Counter = Counter()
    images: set[tuple[str, str]] = set()
    variants: Counter = Counter()
    occluders: Counter = Counter()
    splits: Counter = Counter()
    for f in done:
        t = pq.read_table(f, columns=["sample_id", "identity", "variant", "occluders", "split"])
        ids.update(t.column("identity").to_pylist())
        images.update(zip(t.column("identity").to_pylist(), t.column("sample_id").to_pylist(), strict=True))
        variants.update(t.column("variant").to_pylist())
        splits.update(s or "-" for s in t.column("split").to_pylist())
        flat = pc.list_flatten(t.column("occluders"))
        occluders.update(f"{o['kind']}:{o['name']}" for o in flat.to_pylist() if o)
    rejects: Counter = Counter()
    for f in run_files(out, "rejects", allow_partial=True):
        t = pq.read_table(f, columns=["stage", "reason"])
        rejects.update(f"{s}:{r}" for s, r in zip(t.column("stage").to_pylist(), t.column("reason").to_pylist(), strict=True))
    removed = sum(pq.read_metadata(f).num_rows for f in run_files(out, "removed", allow_partial=True))
    per_identity_before = manifest.get("counts", {}).get("per_identity_before", [])
    info.update(
        samples=sum(ids.values()),
        identities=len(ids),
        per_identity_before=_spread(per_identity_before),
        per_identity_after=_spread(list(Counter(i for i, _ in images).values())),
        rows_per_identity=_spread(list(ids.values())),
        variants=dict(sorted(variants.items())),
        occluders=dict(sorted(occluders.items())),
        splits=dict(sorted(splits.items())),
        rejects=dict(sorted(rejects.items())),
        removed=removed,
        top_removals=_top_removals(out),
    )
    return info


@click.command("inspect")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@user_errors
def command(out: str, as_json: bool) -> None:
    """Counts of a run's output OUT: identities, variants, occluders, splits, rejects, shards."""
    info = inspect_output(Path(out))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    s = info["shards"]
    rows: list[tuple[Any, ...]] = [
        ("status", info["status"] + ("" if info["status"] == "complete" else " (not finished: rerun to resume)")),
        ("shards done", f"{s['done']} of {s['expected']}" + (f" ({s['incomplete']} incomplete)" if s["incomplete"] else "")),
        ("samples", info["samples"]),
        ("identities", info["identities"]),
        ("images per identity, input", info["per_identity_before"]),
        ("images per identity, output", info["per_identity_after"]),
        ("rows per identity (all variants)", info["rows_per_identity"]),
        ("removed by cleaning", info["removed"]),
    ]
    rows += [(f"variant {k}", v) for k, v in info["variants"].items()]
    rows += [(f"occluder {k}", v) for k, v in info["occluders"].items()]
    rows += [(f"split {k}", v) for k, v in info["splits"].items()]
    rows += [(f"reject {k}", v) for k, v in info["rejects"].items()] or [("rejects", 0)]
    click.echo(table(rows))
    if info["top_removals"]:
        click.echo(f"\ntop {len(info['top_removals'])} removals by cleaning score (higher = less like its identity):")
        click.echo(table([(f"{r['score']:.3f}" if r["score"] is not None else "-", r["identity"], r["source_path"])
                          for r in info["top_removals"]], header=("score", "identity", "path")))
