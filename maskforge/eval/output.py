"""The output folder of ``maskforge eval``: checked before the first write, files written atomically.

An output folder is usable when it does not exist, is empty, or was written by ``maskforge eval``
before (its ``metrics.json`` says ``"tool": "maskforge eval"``); it must not lie inside an input
folder. ``metrics.json`` is written first with ``"status": "running"`` and last with
``"status": "complete"``, so an interrupted evaluation can be rerun into the same folder. The
final ``metrics.json`` lists the files the evaluation wrote (``files``); the next evaluation into
the folder removes them first, so ``eval pairs`` after ``eval identify`` leaves no stale
``probes.csv`` behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import OutputError
from ..io.writer import write_bytes_atomic, write_json_atomic

TOOL = "maskforge eval"
METRICS = "metrics.json"


def check_output_dir(out: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Raise OutputError unless ``out`` is usable (module doc); returns it resolved. ``inputs``:
    input folders, or input files (whose folder then counts as an input folder)."""
    out = Path(out).resolve()
    for src in inputs:
        src = Path(src).resolve()
        folder = src if src.is_dir() else src.parent
        if out == folder or out.is_relative_to(folder):
            raise OutputError(
                f"output folder {out} lies inside the input folder {folder}: choose an --output "
                "outside it (maskforge never writes into its inputs)"
            )
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder: choose another --output")
    if out.is_dir() and any(out.iterdir()) and not _ours(out / METRICS):
        raise OutputError(
            f"output folder {out} is not empty and was not written by {TOOL}: choose an empty or "
            "new --output"
        )
    return out


def _metrics(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _ours(path: Path) -> bool:
    return _metrics(path).get("tool") == TOOL


def start(out: Path, command: str) -> None:
    """Create ``out``, remove the files an earlier evaluation there wrote, and mark it as an
    evaluation in progress."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out}: {exc}") from exc
    earlier = _metrics(out / METRICS)
    if earlier.get("tool") == TOOL:
        for name in earlier.get("files") or []:
            if isinstance(name, str) and "/" not in name and name not in ("", ".", "..", METRICS):
                (out / name).unlink(missing_ok=True)
    write_json_atomic({"tool": TOOL, "command": command, "status": "running"}, out / METRICS)


def finish(out: Path, command: str, metrics: dict[str, Any]) -> Path:
    """Write the final ``metrics.json`` (non-finite numbers as null), listing the files the
    evaluation wrote in ``out``."""
    files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != METRICS
                   and not p.name.startswith("."))  # fmt: skip
    data = {"tool": TOOL, "command": command, "status": "complete", **json_safe(metrics), "files": files}
    write_json_atomic(data, out / METRICS)
    return out / METRICS


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON has no inf/NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A CSV file (atomically); floats written with 6 decimals, inf as ``inf``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([f"{v:.6f}" if isinstance(v, float) and math.isfinite(v) else v for v in row])
    write_bytes_atomic(buf.getvalue().encode("utf-8"), path)
    return path
