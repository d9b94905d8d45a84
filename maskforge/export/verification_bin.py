"""Write a verification pair set of a run as an insightface ``.bin`` (``maskforge export
--format verification-bin``), the layout ``arcface_torch`` evaluates (see
:mod:`maskforge.io.verification_bin`).

Pairs are drawn from the rows of one split (default ``val``) by the rules of ``maskforge eval
make-pairs`` (identities dealt into folds, ``per_fold`` matched and mismatched pairs per fold,
seeded), over the samples of the split; folds follow each other in the file, as arcface_torch's
10-fold split expects. Each sample shows its unmasked image (variant ``original`` when the run
has it, else its first unoccluded variant); with ``mask = "one"`` the second image of every pair
is the sample's masked image (its first occluded variant), as in the ICCV-2021 masked-face
recognition challenge, and only samples with both images take part.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..errors import OutputError
from ..eval.make_pairs import pairs_from_groups
from ..io.reader import dataset_files
from ..io.selection import occluded_column, scan_columns
from ..io.verification_bin import write_bin
from .folders import check_destinations

MASK_MODES = ("none", "one")


def _choices(files: list[Path], split: str) -> dict[str, dict[bool, tuple[str, str]]]:
    """sample_id -> {occluded: (variant, identity)}: the variant shown per side (``original``
    first, then variant names in sorted order)."""
    found: dict[str, dict[bool, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for f in files:
        pf = pq.ParquetFile(f)
        cols = scan_columns(pf.schema_arrow, ["sample_id", "identity", "variant", "split", "occluded", "occluders"])
        t = pf.read(columns=cols)
        flags = occluded_column(t).to_pylist()
        for sid, ident, var, spl, occ in zip(t["sample_id"].to_pylist(), t["identity"].to_pylist(),
                                             t["variant"].to_pylist(), t["split"].to_pylist(), flags,
                                             strict=True):  # fmt: skip
            if spl == split:
                found[sid][bool(occ)].append((var, ident))
    return {
        sid: {occ: min(opts, key=lambda o: (o[0] != "original", o[0])) for occ, opts in sides.items()}
        for sid, sides in found.items()
    }


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
    split: str = "val",
    mask: str = "none",
    folds: int = 10,
    per_fold: int = 300,
    seed: int = 0,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Write the pair set of run ``out``'s ``split`` to the file ``dst`` (e.g. ``val.bin``).

    Returns ``{"pairs", "folds", "per_fold", "images"}``. Raises OutputError before any write when
    ``dst`` exists or lies in the run's input, SourceError when the split has too few identities
    for ``folds`` (see :func:`maskforge.eval.make_pairs.pairs_from_groups`)."""
    if mask not in MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(MASK_MODES)}, got {mask!r}")
    out, dst = Path(out), Path(dst)
    files = dataset_files(out, allow_partial=allow_partial)
    check_destinations(out, dst.parent, [dst])
    choices = _choices(files, split)
    if not choices:
        raise OutputError(f"run {str(out)!r} has no rows in split {split!r}")
    need = (False, True) if mask == "one" else (False,)
    groups: dict[str, list[str]] = defaultdict(list)
    for sid in sorted(choices):
        sides = choices[sid]
        if all(side in sides for side in need):
            groups[sides[need[0]][1]].append(sid)
    made = pairs_from_groups(groups, folds, per_fold, seed, where=f"split {split!r} of {str(out)!r}")
    shown = [(p.path_a, False) for p in made.pairs], [(p.path_b, mask == "one") for p in made.pairs]
    wanted = {(sid, choices[sid][occ][0]) for side in shown for sid, occ in side}
    images = _images(files, wanted)
    bins = []
    for (a, occ_a), (b, occ_b) in zip(*shown, strict=True):
        bins += [images[(a, choices[a][occ_a][0])], images[(b, choices[b][occ_b][0])]]
    write_bin(dst, bins, [p.same for p in made.pairs])
    return {"pairs": len(made.pairs), "folds": made.folds, "per_fold": made.per_fold, "images": len(wanted)}
