"""Verification pairs files: reading LFW ``pairs.txt`` / CSV, and writing ``pairs.txt``.

LFW format (what ``maskforge eval make-pairs`` writes)::

    10	300                 folds, pairs of each kind per fold
    Name	1	4            a matched pair: DIR/Name/Name_0001.jpg and DIR/Name/Name_0004.jpg
    Name1	2	Name2	7    a mismatched pair
    ...

After the header come the folds in order, each ``n`` matched rows then ``n`` mismatched rows
(fields separated by tabs or spaces; image numbers are 1-based). A header of one number ``n``
(LFW's ``pairsDevTrain.txt``) is one fold. The CSV form has a header
``path_a,path_b,same`` and an optional ``fold`` column; paths are relative to the images folder
unless absolute, ``same`` is ``1/0``/``true/false``. Without ``fold``, matched and mismatched rows
are dealt round-robin into 10 folds, each kind separately, so every fold holds both kinds.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import OutputError, SourceError

#: Folds when a CSV pairs file has no ``fold`` column.
DEFAULT_FOLDS = 10
_LFW_NAME = re.compile(r"^(?P<name>.+)_(?P<num>\d{4})\.jpg$")


@dataclass(frozen=True)
class Pair:
    """One verification pair: two image paths (relative to the images folder, POSIX, or
    absolute), whether they show the same person, and the pair's fold (0-based)."""

    path_a: str
    path_b: str
    same: bool
    fold: int


def lfw_path(name: str, number: int) -> str:
    """The relative path LFW gives image ``number`` (1-based) of identity ``name``."""
    return f"{name}/{name}_{int(number):04d}.jpg"


def lfw_number(path: str) -> tuple[str, int] | None:
    """``(name, number)`` when ``path`` is LFW-named (``Name/Name_0003.jpg``), else None."""
    p = PurePosixPath(path)
    m = _LFW_NAME.match(p.name)
    if m is None or len(p.parts) != 2 or p.parts[0] != m["name"]:
        return None
    return m["name"], int(m["num"])


def read_pairs(path: str | Path) -> list[Pair]:
    """Read a pairs file (LFW ``pairs.txt`` or ``.csv``, see module doc).

    Raises SourceError naming the file and line of the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read pairs file {str(path)!r}: {exc}") from exc
    pairs = _read_csv(path, text) if path.suffix.lower() == ".csv" else _read_lfw(path, text)
    if not pairs:
        raise SourceError(f"pairs file {str(path)!r} holds no pairs")
    return pairs


def _read_lfw(path: Path, text: str) -> list[Pair]:
    lines = [(i, ln.split()) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]

    def bad(lineno: int, why: str) -> SourceError:
        return SourceError(
            f"{path}:{lineno}: {why} (LFW pairs format: a first line 'folds n', then per fold n "
            "'name i j' rows and n 'name1 i name2 j' rows; or a .csv with path_a,path_b,same)"
        )

    if not lines:
        raise bad(1, "empty file")
    lineno, head = lines[0]
    if len(head) == 1 and head[0].isdigit():  # pairsDevTrain.txt style: 'n', one fold
        head = ["1", head[0]]
    if len(head) != 2 or not all(h.isdigit() for h in head) or int(head[0]) < 1:
        raise bad(lineno, f"first line must be 'folds n', got {' '.join(head)!r}")
    folds, n = int(head[0]), int(head[1])
    rows = lines[1:]
    if len(rows) != 2 * folds * n:
        raise bad(lineno, f"header says {folds} folds x {2 * n} pairs, found {len(rows)} rows")
    pairs = []
    for k, (lineno, f) in enumerate(rows):
        fold, within = divmod(k, 2 * n)
        same = within < n
        want = 3 if same else 4
        if len(f) != want or not (f[1].isdigit() and f[-1].isdigit()):
            kind = "'name i j'" if same else "'name1 i name2 j'"
            raise bad(lineno, f"expected a {kind} row here, got {' '.join(f)!r}")
        a = lfw_path(f[0], int(f[1]))
        b = lfw_path(f[0], int(f[2])) if same else lfw_path(f[2], int(f[3]))
        pairs.append(Pair(a, b, same, fold))
    return pairs


def _read_csv(path: Path, text: str) -> list[Pair]:
    reader = csv.DictReader(text.splitlines())
    cols = set(reader.fieldnames or ())
    if not {"path_a", "path_b", "same"} <= cols:
        raise SourceError(
            f"{path}: a CSV pairs file needs the columns path_a,path_b,same (optional fold); "
            f"found {', '.join(sorted(cols)) or 'none'}"
        )
    raw: list[tuple[str, str, bool, int | None]] = []
    for lineno, row in enumerate(reader, 2):
        same = str(row["same"]).strip().lower()
        if same not in ("1", "0", "true", "false"):
            raise SourceError(f"{path}:{lineno}: same must be 1, 0, true or false, got {same!r}")
        fold = None
        if "fold" in cols:
            try:
                fold = int(row["fold"])
            except (TypeError, ValueError):
                fold = -1
            if fold < 0:
                raise SourceError(f"{path}:{lineno}: fold must be an integer >= 0")
        a, b = (str(row[k] or "").strip() for k in ("path_a", "path_b"))
        if not a or not b:
            raise SourceError(f"{path}:{lineno}: empty path_a or path_b")
        raw.append((a, b, same in ("1", "true"), fold))
    counts = {True: 0, False: 0}
    pairs = []
    for a, b, is_same, fold in raw:
        if fold is None:
            fold = counts[is_same] % DEFAULT_FOLDS
            counts[is_same] += 1
        pairs.append(Pair(a, b, is_same, fold))
    return pairs


def write_pairs(pairs: Sequence[Pair], path: str | Path) -> Path:
    """Write ``pairs`` as LFW ``pairs.txt`` (or, for a ``.csv`` path, as CSV with a fold column).

    For ``pairs.txt`` every fold must hold the same number ``n`` of matched and of mismatched pairs
    and every path must be LFW-named (``Name/Name_0001.jpg``); raises SourceError otherwise. The
    file must not exist yet (it is created exclusively)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        lines = ["path_a,path_b,same,fold"]
        for p in pairs:
            lines.append(_csv_row([p.path_a, p.path_b, int(p.same), p.fold]))
        return _create(path, "\n".join(lines) + "\n")
    folds = sorted({p.fold for p in pairs})
    if folds != list(range(len(folds))):
        raise SourceError(f"pairs.txt needs folds 0..k-1, got {folds}")
    by_fold = [[p for p in pairs if p.fold == f] for f in folds]
    n = sum(p.same for p in by_fold[0]) if by_fold else 0
    lines = [f"{len(folds)}\t{n}"]
    for fold, items in enumerate(by_fold):
        same = [p for p in items if p.same]
        diff = [p for p in items if not p.same]
        if len(same) != n or len(diff) != n:
            raise SourceError(
                f"pairs.txt needs {n} matched and {n} mismatched pairs in every fold; fold {fold} "
                f"has {len(same)} and {len(diff)} (write a .csv instead)"
            )
        for p in same + diff:
            a, b = lfw_number(p.path_a), lfw_number(p.path_b)
            if a is None or b is None:
                bad = p.path_a if a is None else p.path_b
                raise SourceError(
                    f"{bad!r} is not LFW-named (Name/Name_0001.jpg), so pairs.txt cannot refer to "
                    "it: give an output path ending in .csv"
                )
            lines.append(f"{a[0]}\t{a[1]}\t{b[1]}" if p.same else f"{a[0]}\t{a[1]}\t{b[0]}\t{b[1]}")
    return _create(path, "\n".join(lines) + "\n")


def _csv_row(values: list) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _create(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError as exc:
        raise OutputError(f"{path} exists already: remove it or choose another --output") from exc
    return path
