"""Bounds, time-outs and CSV inputs as users write them (issue 21, rows 11, 12, 14, 15, 16, 21)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from maskforge.augment import parse_variants
from maskforge.clean.keep import read_keep
from maskforge.errors import BoundError, ClusterError, RecipeError, SourceError
from maskforge.eval import output as eval_output
from maskforge.eval.make_pairs import make_pairs
from maskforge.eval.pairs import read_pairs, write_pairs
from maskforge.io.bounds import check_bounds, estimate
from maskforge.io.decode import encode_image
from maskforge.io.reach import check_address

pytestmark = pytest.mark.timeout(60)
JPG = encode_image(np.full((8, 8, 3), 7, np.uint8), "jpeg")


def test_a_billion_variants_is_refused_at_once() -> None:
    """Row 15: `count = 1000000000` was accepted; --dry-run was silent for 60 s."""
    t0 = time.monotonic()
    with pytest.raises(RecipeError, match="1,000,000,000 rows per input image"):
        parse_variants([{"name": "original", "count": 1_000_000_000}])
    assert time.monotonic() - t0 < 5
    assert len(parse_variants([{"name": "aug", "augment": True, "count": 1000}])) == 1000


def test_bytes_bound_states_the_estimate() -> None:
    ok = estimate(images=1000, input_bytes=50_000_000, variants=5, row_bytes=20_000)
    check_bounds(ok)
    huge = estimate(images=1000, input_bytes=1_000_000, variants=1000, row_bytes=5_000_000)
    with pytest.raises(BoundError, match=r"1,000,000 rows \(1,000 images x 1,000 variants\), about 5.0 TB"):
        check_bounds(huge)


def test_unreachable_address_fails_fast_with_one_message() -> None:
    """Row 16: `--address 127.0.0.1:1` gave no error after 550 s."""
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="cannot reach the Ray cluster at '127.0.0.1:1'"):
        check_address("127.0.0.1:1", timeout=2)
    with pytest.raises(ClusterError, match="not host:port"):
        check_address("nonsense")
    assert time.monotonic() - t0 < 10


def _src(root: Path) -> Path:
    for rel in ("A/1.jpg", "A/2.jpg", "B/3.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(JPG)
    return root


def test_keep_paths_as_users_write_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row 11: keep.csv with absolute or CWD-relative paths was silently ignored."""
    src = _src(tmp_path / "data" / "src")
    monkeypatch.chdir(tmp_path)
    keep = tmp_path / "lists" / "keep.csv"
    keep.parent.mkdir()
    keep.write_text(f"path\n{src / 'A' / '1.jpg'}\ndata/src/A/2.jpg\nB/3.jpg\n")
    assert read_keep(keep).resolved(src).paths == {"A/1.jpg", "A/2.jpg", "B/3.jpg"}
    keep.write_text("path\nA/1.jpg\nA/gone.jpg\n")
    with pytest.raises(SourceError, match="'A/gone.jpg'"):
        read_keep(keep).resolved(src)


def test_keep_and_pairs_take_fields_of_any_length(tmp_path: Path) -> None:
    """Row 12: a 200 KB field in keep.csv or a pairs CSV was a _csv.Error traceback."""
    big = "x" * 200_000
    keep = tmp_path / "keep.csv"
    keep.write_text(f"path,comment\nA/1.jpg,{big}\n")
    assert read_keep(keep).paths == {"A/1.jpg"}
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"path_a,path_b,same,note\nA/1.jpg,A/2.jpg,1,{big}\nA/1.jpg,B/3.jpg,0,x\n")
    assert [p.same for p in read_pairs(pairs)] == [True, False]


def test_identity_with_a_space_reads_back(tmp_path: Path) -> None:
    """Row 14: `eval make-pairs` then `eval pairs` on `John Smith/` could not read its own file."""
    root = tmp_path / "faces"
    for name in ("John Smith", "Ann Lee", "Bo", "Cy"):
        for k in range(1, 4):
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{name}_{k:04d}.jpg").write_bytes(JPG)
    made = make_pairs(root, folds=2, per_fold=3, seed=1)
    out = write_pairs(made.pairs, tmp_path / "pairs.txt")
    assert read_pairs(out) == made.pairs
    assert any("John Smith/" in p.path_a for p in made.pairs)


def test_a_second_evaluation_leaves_no_stale_files(tmp_path: Path) -> None:
    """Row 21: `eval identify` then `eval pairs` into one folder left a stale probes.csv."""
    out = tmp_path / "o"
    eval_output.start(out, "identify")
    eval_output.write_csv(out / "probes.csv", ["a"], [[1]])
    eval_output.finish(out, "identify", {})
    assert json.loads((out / "metrics.json").read_text())["files"] == ["probes.csv"]
    eval_output.start(out, "pairs")
    eval_output.write_csv(out / "pairs_scores.csv", ["a"], [[1]])
    eval_output.finish(out, "pairs", {})
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "pairs_scores.csv"]
