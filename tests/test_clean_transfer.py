"""``clean --move-to``: all or nothing, finished by a rerun, and its record kept (issue 10)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from maskforge.clean.transfer import (
    JOURNAL,
    check_transfer,
    plan_transfer,
    resume_transfer,
    run_transfer,
)
from maskforge.cli import main
from maskforge.errors import OutputError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for rel in ("a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode())
    return src


def test_a_taken_destination_moves_nothing(tree: Path, tmp_path: Path):
    dest = tmp_path / "flagged"
    (dest / "b").mkdir(parents=True)
    (dest / "b" / "2.jpg").write_bytes(b"already here")
    pairs = plan_transfer(tree, ["a/1.jpg", "b/2.jpg"], dest)
    with pytest.raises(OutputError, match="nothing was moved"):
        check_transfer(pairs, "--move-to")
    assert files(tree) == ["a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg"]
    assert files(dest) == ["b/2.jpg"]


def test_an_interrupted_move_is_finished_by_resume(tree: Path, tmp_path: Path):
    dest, journal = tmp_path / "flagged", tmp_path / "out" / JOURNAL
    pairs = plan_transfer(tree, ["a/1.jpg", "a/2.jpg", "b/1.jpg"], dest)
    check_transfer(pairs, "--move-to")
    # the state a kill leaves: journal written, first file moved, second copied but its source
    # not yet deleted, third untouched
    run_transfer(pairs[:1], move=True, journal=journal)
    from maskforge.clean.transfer import _COLUMNS
    journal.write_text(",".join(_COLUMNS) + "\n" + "".join(f"move,{s},{d}\n" for s, d in pairs))
    (dest / "a" / "2.jpg").write_bytes((tree / "a" / "2.jpg").read_bytes())
    assert resume_transfer(journal) == ("move", 3)
    assert files(tree) == ["b/2.jpg"]
    assert files(dest) == ["a/1.jpg", "a/2.jpg", "b/1.jpg"]
    assert (dest / "b" / "1.jpg").read_bytes() == b"b/1.jpg"
    assert not journal.exists() and resume_transfer(journal) is None


IDENTITIES = ("Hans_Blix", "Halle_Berry", "Hu_Jintao")
INTRUDERS = {"Hans_Blix": ("Jennifer_Aniston", 0), "Hu_Jintao": ("Halle_Berry", 5)}


@pytest.fixture
def dataset(lfw_dir: Path, tmp_path: Path) -> Path:
    """3 identities x 4 faces; a foreign face planted in two of them."""
    root = tmp_path / "src"
    for name in IDENTITIES:
        (root / name).mkdir(parents=True)
        for f in sorted((lfw_dir / name).glob("*.jpg"))[:4]:
            shutil.copy(f, root / name / f.name)
    for host, (who, k) in INTRUDERS.items():
        f = sorted((lfw_dir / who).glob("*.jpg"))[k]
        shutil.copy(f, root / host / f"x_{f.name}")
    return root


def removed(out: Path) -> list[str]:
    with open(out / "removed.csv", newline="") as fh:
        return [r["path"] for r in csv.DictReader(fh)]


def test_clean_move_to_all_or_nothing_then_rerun_keeps_the_record(dataset: Path, tmp_path: Path):
    runner = CliRunner()
    out, dest = tmp_path / "out", tmp_path / "flagged"
    args = ["clean", str(dataset), "--output", str(out), "--embedder", "dlib-resnet", "--quiet",
            "--move-to", str(dest)]  # fmt: skip
    before = files(dataset)
    # a destination of the second flagged identity (Hu_Jintao) exists: nothing moves, exit 2
    taken = sorted(f for f in before if f.startswith("Hu_Jintao/x_"))[0]
    (dest / taken).parent.mkdir(parents=True)
    (dest / taken).write_bytes(b"already here")
    res = runner.invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "nothing was moved" in res.output and "Traceback" not in res.output
    assert files(dataset) == before
    flagged = removed(out)
    assert sorted(flagged) == sorted(f for f in before if "/x_" in f)  # both intruders found
    # action=flag (a recipe key through --set): flagged samples stay in the dataset, and are
    # listed in removed.csv all the same
    res = runner.invoke(main, args[:-2] + ["--set", "clean.action=flag"])
    assert res.exit_code == 0, res.output
    assert sorted(removed(out)) == sorted(flagged)
    kept = [r for f in sorted((out / "dataset").glob("shard-*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert {r["source_path"] for r in kept if r["clean_flagged"]} == set(flagged)
    (dest / taken).unlink()
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert f"moved {len(flagged)} files" in res.output
    assert files(dest) == sorted(flagged)
    assert files(dataset) == sorted(set(before) - set(flagged))
    res = runner.invoke(main, args)  # nothing left to flag: the record of the move stays
    assert res.exit_code == 0, res.output
    assert removed(out) == sorted(flagged)
    assert not (out / JOURNAL).exists()


def test_copy_again_is_a_no_op_but_other_content_is_a_conflict(tree: Path, tmp_path: Path):
    dest, journal = tmp_path / "copies", tmp_path / "out" / JOURNAL
    pairs = plan_transfer(tree, ["a/1.jpg", "b/2.jpg"], dest)
    for _ in range(2):  # the same --copy-to twice
        check_transfer(pairs, "--copy-to")
        assert run_transfer(pairs, move=False, journal=journal) == 2
    assert files(dest) == ["a/1.jpg", "b/2.jpg"] and len(files(tree)) == 4
    (dest / "b" / "2.jpg").write_bytes(b"changed")
    with pytest.raises(OutputError, match="already exist"):
        check_transfer(pairs, "--copy-to")
