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
from ..io.writer import is_done
from ._common import table, user_errors


def _spread(counts: list[int]) -> str:
    if not counts:
        return "-"
    return f"min {min(counts)} / median {median(counts):g} / max {max(counts)}"


def inspect_output(out: Path) -> dict[str, Any]:
    """Counts of a run's output folder (what ``maskforge inspect`` prints), as a dict."""
    out = Path(out)
    if not (out / "manifest.json").is_file() and not (out / "dataset").is_dir():
        raise OutputError(f"{str(out)!r} is not a maskforge output folder (no manifest.json)")
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else {}
    all_files = sorted((out / "dataset").glob("shard-*.parquet"))
    done = [f for f in all_files if is_done(f)]
    expected = manifest.get("shards", {}).get("total", len(all_files))
    info: dict[str, Any] = {
        "shards": {"expected": expected, "done": len(done), "incomplete": len(all_files) - len(done)},
    }
    cols = ["sample_id", "identity", "variant", "occluders", "split"]
    ids: Counter = Counter()
    images: set[tuple[str, str]] = set()
    variants: Counter = Counter()
    occluders: Counter = Counter()
    splits: Counter = Counter()
    for f in done:
        t = pq.read_table(f, columns=cols)
        ids.update(t.column("identity").to_pylist())
        images.update(zip(t.column("identity").to_pylist(), t.column("sample_id").to_pylist(), strict=True))
        variants.update(t.column("variant").to_pylist())
        splits.update(s or "-" for s in t.column("split").to_pylist())
        flat = pc.list_flatten(t.column("occluders"))
        occluders.update(f"{o['kind']}:{o['name']}" for o in flat.to_pylist() if o)
    rejects: Counter = Counter()
    for f in sorted((out / "rejects").glob("shard-*.parquet")):
        if not is_done(out / "dataset" / f.name):
            continue
        t = pq.read_table(f, columns=["stage", "reason"])
        rejects.update(f"{s}:{r}" for s, r in zip(t.column("stage").to_pylist(), t.column("reason").to_pylist(), strict=True))
    removed = sum(
        pq.read_metadata(f).num_rows
        for f in sorted((out / "removed").glob("shard-*.parquet"))
        if is_done(out / "dataset" / f.name)
    )
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
