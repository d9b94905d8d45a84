"""Write a verification pair set of a run as an insightface ``.bin`` (``maskforge export
--format verification-bin``), the layout ``arcface_torch`` evaluates (see
:mod:`maskforge.io.verification_bin`).

The pairs are either

- drawn from the rows of one split (default ``val``) by the rules of ``maskforge eval
  make-pairs`` (identities dealt into folds, ``per_fold`` matched and mismatched pairs per fold,
  seeded), over the samples of the split; or
- given: a pairs file of ``maskforge eval make-pairs`` (LFW ``pairs.txt`` or CSV) made on the
  run's input folder, whose paths are the rows' ``source_path``. A pair whose image the run did
  not keep (rejected, removed, not selected) is left out and reported.

Folds follow each other in the file, as arcface_torch's 10-fold split expects. Each sample shows
its unmasked image (variant ``original`` when the run has it, else its first unoccluded variant);
with ``mask = "one"`` the second image of every pair is the sample's masked image (its first
occluded variant), as in the ICCV-2021 masked-face recognition challenge, and only samples with
both images take part.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..errors import OutputError
from ..io.paths import check_export_targets
from ..io.reader import dataset_files
from ..io.selection import occluded_column, scan_columns
from ..io.verification_bin import write_bin
from .make_pairs import pairs_from_groups
from .pairs import Pair

MASK_MODES = ("none", "one")


Choices = dict[str, dict[bool, tuple[str, str]]]


def _choices(files: list[Path], split: str | None) -> tuple[Choices, dict[str, str]]:
    """sample_id -> {occluded: (variant, identity)}: the variant shown per side (``original``
    first, then variant names in sorted order), of the rows of ``split`` (all: None); and
    source_path -> sample_id."""
    found: dict[str, dict[bool, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    paths: dict[str, str] = {}
    for f in files:
        pf = pq.ParquetFile(f)
        cols = scan_columns(pf.schema_arrow, ["sample_id", "identity", "source_path", "variant", "split",
                                              "occluded", "occluders"])  # fmt: skip
        t = pf.read(columns=cols)
        flags = occluded_column(t).to_pylist()
        for sid, ident, sp, var, spl, occ in zip(t["sample_id"].to_pylist(), t["identity"].to_pylist(),
                                                 t["source_path"].to_pylist(), t["variant"].to_pylist(),
                                                 t["split"].to_pylist(), flags, strict=True):  # fmt: skip
            if split is None or spl == split:
                found[sid][bool(occ)].append((var, ident))
                paths[sp] = sid
    choices = {
        sid: {occ: min(opts, key=lambda o: (o[0] != "original", o[0])) for occ, opts in sides.items()}
        for sid, sides in found.items()
    }
    return choices, paths


def _images(files: list[Path], wanted: set[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    """The stored image bytes of the ``(sample_id, variant)`` rows in ``wanted``."""
    out: dict[tuple[str, str], bytes] = {}
    for f in files:
        t = pq.read_table(f, columns=["sample_id", "variant", "image"])
        for sid, var, img in zip(t["sample_id"].to_pylist(), t["variant"].to_pylist(),
                                 t["image"].to_pylist(), strict=True):  # fmt: skip
            if (sid, var) in wanted:
                out[(sid, var)] = img
    return out


def export_verification_bin(
    out: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    split: str | None = "val",
    mask: str = "none",
    pairs: Sequence[Pair] | None = None,
    folds: int = 10,
    per_fold: int = 300,
    seed: int = 0,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Write a pair set of run ``out`` to the file ``dst`` (e.g. ``val.bin``): the given
    ``pairs`` (paths = the rows' ``source_path``), else pairs drawn from ``split``.

    Returns ``{"pairs", "folds", "per_fold", "images", "missing"}`` (``missing``: the paths of
    given pairs left out because the run has no such image). Raises OutputError before any write
    when ``dst`` exists or lies in the run's input, or no pair can be made, and SourceError when
    the split has too few identities for ``folds`` (see
    :func:`maskforge.eval.make_pairs.pairs_from_groups`)."""
    if mask not in MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(MASK_MODES)}, got {mask!r}")
    out, dst = Path(out), Path(dst)
    files = dataset_files(out, allow_partial=allow_partial)
    check_export_targets(out, dst.parent, [dst])
    choices, by_path = _choices(files, None if pairs is not None else split)
    need = (False, True) if mask == "one" else (False,)
    usable = {sid for sid, sides in choices.items() if all(side in sides for side in need)}
    missing: list[str] = []
    if pairs is not None:
        chosen, missing = _given(pairs, by_path, usable)
        info = {"folds": len({p.fold for p in chosen}), "per_fold": None}
    else:
        groups: dict[str, list[str]] = defaultdict(list)
        for sid in sorted(usable):
            groups[choices[sid][False][1]].append(sid)
        made = pairs_from_groups(groups, folds, per_fold, seed, where=f"split {split!r} of {str(out)!r}")
        chosen, info = made.pairs, {"folds": made.folds, "per_fold": made.per_fold}
    if not chosen:
        raise OutputError(f"none of the pairs has its images in {str(out)!r} (missing: {missing[:3]})")
    shown = [(p.path_a, False) for p in chosen], [(p.path_b, mask == "one") for p in chosen]
    wanted = {(sid, choices[sid][occ][0]) for side in shown for sid, occ in side}
    images = _images(files, wanted)
    bins = []
    for (a, occ_a), (b, occ_b) in zip(*shown, strict=True):
        bins += [images[(a, choices[a][occ_a][0])], images[(b, choices[b][occ_b][0])]]
    write_bin(dst, bins, [p.same for p in chosen])
    return {"pairs": len(chosen), **info, "images": len(wanted), "missing": missing}


def _given(pairs: Sequence[Pair], by_path: dict[str, str], usable: set[str]) -> tuple[list[Pair], list[str]]:
    """The given pairs with sample ids for paths, those whose two images the run has; and the
    paths it lacks (sorted)."""
    kept, missing = [], set()
    for p in pairs:
        a, b = by_path.get(p.path_a), by_path.get(p.path_b)
        for path, sid in ((p.path_a, a), (p.path_b, b)):
            if sid is None or sid not in usable:
                missing.add(path)
        if a is not None and b is not None and a in usable and b in usable:
            kept.append(Pair(a, b, p.same, p.fold))
    return kept, sorted(missing)
