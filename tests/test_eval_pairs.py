"""Pairs files (LFW pairs.txt and CSV) and make-pairs: format, folds, balance, determinism."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from maskforge.errors import OutputError, SourceError
from maskforge.eval import Pair, make_pairs, read_pairs, write_pairs
from maskforge.eval.make_pairs import deal_identities

LFW_TEXT = "2\t2\nA\t1\t2\nB\t1\t3\nA\t1\tB\t2\nC\t1\tA\t2\nB\t2\t3\nD\t1\t2\nC\t1\tD\t2\nB\t1\tD\t1\n"


def test_read_lfw_pairs(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text(LFW_TEXT)
    pairs = read_pairs(path)
    assert len(pairs) == 8
    assert pairs[0] == Pair("A/A_0001.jpg", "A/A_0002.jpg", True, 0)
    assert pairs[2] == Pair("A/A_0001.jpg", "B/B_0002.jpg", False, 0)
    assert [p.fold for p in pairs] == [0] * 4 + [1] * 4
    assert [p.same for p in pairs] == [True, True, False, False] * 2
    out = tmp_path / "again.txt"
    write_pairs(pairs, out)
    assert out.read_text() == LFW_TEXT  # round trip, byte for byte
    with pytest.raises(OutputError, match="exists already"):
        write_pairs(pairs, out)  # never overwritten


@pytest.mark.parametrize(
    "text, msg",
    [
        ("", "empty file"),
        ("x 2\n", "first line"),
        ("1\t2\nA\t1\t2\n", "found 1 rows"),
        ("1\t1\nA\t1\tB\t2\nA\t1\tB\t2\n", "pairs.txt:2: expected a 'name i j' row"),
    ],
)
def test_bad_lfw_pairs_name_the_line(tmp_path, text, msg):
    path = tmp_path / "pairs.txt"
    path.write_text(text)
    with pytest.raises(SourceError, match=msg):
        read_pairs(path)


def test_csv_pairs_with_and_without_folds(tmp_path):
    rows = ["path_a,path_b,same"] + [f"a/{k}.jpg,b/{k}.jpg,{k % 2}" for k in range(40)]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    pairs = read_pairs(tmp_path / "p.csv")
    per_fold = Counter((p.fold, p.same) for p in pairs)
    assert set(per_fold.values()) == {2} and len(per_fold) == 20  # 10 folds, both kinds in each
    (tmp_path / "f.csv").write_text("path_a,path_b,same,fold\nx.jpg,y.jpg,true,3\n")
    assert read_pairs(tmp_path / "f.csv") == [Pair("x.jpg", "y.jpg", True, 3)]
    (tmp_path / "bad.csv").write_text("path_a,path_b,same\nx.jpg,y.jpg,maybe\n")
    with pytest.raises(SourceError, match="bad.csv:2: same must be"):
        read_pairs(tmp_path / "bad.csv")
    (tmp_path / "cols.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="path_a,path_b,same"):
        read_pairs(tmp_path / "cols.csv")


def make_folder(root: Path, sizes: dict[str, int], lfw_names: bool = True) -> Path:
    for name, n in sizes.items():
        (root / name).mkdir(parents=True)
        for k in range(1, n + 1):
            fname = f"{name}_{k:04d}.jpg" if lfw_names else f"{k:03d}.jpg"
            Image.new("RGB", (8, 8), (k, 0, 0)).save(root / name / fname)
    return root


def check_made(made, sizes):
    pairs = made.pairs
    assert len(pairs) == 2 * made.folds * made.per_fold
    assert len(set((p.path_a, p.path_b) for p in pairs)) == len(pairs)  # no repeated pair
    fold_of: dict[str, int] = {}
    for p in pairs:
        ia, ib = p.path_a.split("/")[0], p.path_b.split("/")[0]
        assert (ia == ib) == p.same and p.path_a != p.path_b
        for ident in (ia, ib):
            assert fold_of.setdefault(ident, p.fold) == p.fold  # each identity in one fold only
    counts = Counter((p.fold, p.same) for p in pairs)
    assert set(counts.values()) == {made.per_fold}  # balanced in every fold


def test_make_pairs_on_identity_folders(tmp_path):
    sizes = {f"id{k:02d}": n for k, n in enumerate([15, 12, 9, 6, 5, 4, 3, 2, 2, 1, 1, 1])}
    root = make_folder(tmp_path / "faces", sizes)
    made = make_pairs(root, folds=3, per_fold=5, seed=7)
    assert made.per_fold == 5
    check_made(made, sizes)
    again = make_pairs(root, folds=3, per_fold=5, seed=7)
    assert again.pairs == made.pairs  # same seed, same pairs
    assert make_pairs(root, folds=3, per_fold=5, seed=8).pairs != made.pairs
    out = write_pairs(made.pairs, tmp_path / "pairs.txt")
    assert read_pairs(out) == made.pairs
    big = make_pairs(root, folds=3, per_fold=10_000, seed=7)  # capped by the smallest fold
    assert big.requested == 10_000 and 0 < big.per_fold < 10_000
    check_made(big, sizes)
    with pytest.raises(SourceError, match="smaller --folds"):
        make_pairs(root, folds=9)


def test_pairs_txt_needs_lfw_names_csv_does_not(tmp_path):
    root = make_folder(tmp_path / "casia", {f"{k:04d}": 3 for k in range(4)}, lfw_names=False)
    made = make_pairs(root, folds=2, per_fold=1)
    with pytest.raises(SourceError, match="give an output path ending in .csv"):
        write_pairs(made.pairs, tmp_path / "pairs.txt")
    assert read_pairs(write_pairs(made.pairs, tmp_path / "pairs.csv")) == made.pairs


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=40),
    folds=st.integers(2, 10),
    seed=st.integers(0, 3),
)
def test_dealing_puts_each_identity_in_one_fold(sizes, folds, seed):
    named = {f"p{k}": n for k, n in enumerate(sizes)}
    dealt = deal_identities(named, folds, seed)
    assert len(dealt) == folds
    flat = [n for fold in dealt for n in fold]
    assert sorted(flat) == sorted(named)  # every identity exactly once
    lens = [len(fold) for fold in dealt]
    assert max(lens) - min(lens) <= 1
    multi = [sum(named[n] > 1 for n in fold) for fold in dealt]
    assert min(multi) >= sum(n > 1 for n in sizes) // folds  # multi-image identities spread


def test_make_pairs_on_lfw_dev(lfw_dir):
    made = make_pairs(lfw_dir, folds=10, per_fold=300, seed=0)
    assert made.per_fold == 300
    check_made(made, None)


def test_make_pairs_cli(tmp_path):
    from click.testing import CliRunner

    from maskforge.cli import main

    root = make_folder(tmp_path / "faces", {f"id{k}": 4 for k in range(4)})
    out = tmp_path / "pairs.txt"
    args = ["eval", "make-pairs", str(root), "--output", str(out), "--folds", "2"]
    res = CliRunner().invoke(main, [*args, "--per-fold", "50"])
    assert res.exit_code == 0, res.output
    assert "2 folds x 12 matched + 12 mismatched" in res.output  # 2 identities x C(4, 2) a fold
    assert "asked for 50" in res.output
    assert len(read_pairs(out)) == 48
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "exists already" in res.output  # never overwritten
    res = CliRunner().invoke(main, ["eval", "make-pairs", str(root), "--output",
                                    str(root / "pairs.txt")])  # fmt: skip
    assert res.exit_code == 2 and "inside the input folder" in res.output
    res = CliRunner().invoke(main, ["eval", "pairs", str(out), "--images", str(root), "--output",
                                    str(tmp_path / "o"), "--occluder", "n95", "--mix", "n95:1"])  # fmt: skip
    assert res.exit_code == 2 and "not both" in res.output and not (tmp_path / "o").exists()
    res = CliRunner().invoke(main, ["eval", "pairs", str(out), "--images", str(root), "--output",
                                    str(tmp_path / "o"), "--occluder", "no-such-mask"])  # fmt: skip
    assert res.exit_code == 2 and "no-such-mask" in res.output and not (tmp_path / "o").exists()


def test_pairs_the_protocol_cannot_score_are_refused(tmp_path):
    from maskforge.eval.verify import check_pairs

    (tmp_path / "dev.txt").write_text("1\nA\t1\t2\nA\t1\tB\t1\n")  # pairsDevTrain.txt style
    pairs = read_pairs(tmp_path / "dev.txt")
    assert [p.fold for p in pairs] == [0, 0] and [p.same for p in pairs] == [True, False]
    with pytest.raises(SourceError, match="single fold"):
        check_pairs(pairs)
    with pytest.raises(SourceError, match="all matched"):
        check_pairs([Pair("a", "b", True, 0), Pair("c", "d", True, 1)])
    check_pairs([Pair("a", "b", True, 0), Pair("c", "d", False, 1)])
