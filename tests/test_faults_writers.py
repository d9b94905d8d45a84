"""Two writers, a reader during a write, a user's folder as OUT, an unreachable cluster, a
billion variants (issue 21, rows 1, 2, 9, 15, 16): one clear message, never a mixed folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from maskforge import read_shards

from .faults import ENV, RECIPE, maskforge, one_clear_message, tiny_tree

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path, Path]:
    src = tiny_tree(tmp_path / "in", identities=3, per=2)
    (tmp_path / "r.toml").write_text(RECIPE)
    out = tmp_path / "out"
    result = maskforge("run", str(tmp_path / "r.toml"), "--input", str(src), "--output", str(out), "--executor",
                       "local", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tmp_path / "r.toml", src, out


def _run(recipe: Path, src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return maskforge("run", str(recipe), "--input", str(src), "--output", str(out), "--executor", "local", "--quiet",
                     *extra)  # fmt: skip


def test_second_writer_is_refused_naming_the_first(made: tuple[Path, Path, Path]) -> None:
    """Row 1: two runs on one OUT both exited 0 and left A's manifest over B's shards."""
    recipe, src, out = made
    before = json.loads((out / "manifest.json").read_text())
    code = ("import sys, time; from maskforge.io.lock import write_lock; "
            "l = write_lock(sys.argv[1], 'maskforge run a.toml').acquire(); print('held', flush=True); time.sleep(60)")
    first = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "held"
        for cmd in (["run", str(recipe), "--input", str(src), "--output", str(out), "--executor", "local"],
                    ["detect", str(src), "--output", str(out)],
                    ["clean", str(src), "--output", str(out)],
                    ["overlay", str(src), str(out)]):  # fmt: skip
            result = maskforge(*cmd)
            one_clear_message(result)
            assert result.returncode == 2 and f"process {first.pid} ('maskforge run a.toml')" in result.stderr, cmd
    finally:
        first.kill()
        first.wait()
    assert json.loads((out / "manifest.json").read_text()) == before  # untouched by the refused ones


def test_a_reader_keeps_its_rows_while_a_run_rewrites(made: tuple[Path, Path, Path], tmp_path: Path) -> None:
    recipe, src, out = made
    dset = read_shards(out)
    want = dset.to_table(columns=["sample_id", "variant"]).num_rows
    other = tmp_path / "r2.toml"
    other.write_text(RECIPE.replace('name = "original"', 'name = "plain"') + '[[variants]]\nname = "aug"\naugment = true\n')
    result = _run(other, src, out)
    assert result.returncode == 0, result.stderr
    rows = dset.to_table(columns=["sample_id", "variant"]).to_pylist()
    assert len(rows) == want and {r["variant"] for r in rows} == {"original"}  # the snapshot, not a mix
    assert {r["variant"] for r in read_shards(out).to_table(columns=["variant"]).to_pylist()} == {"plain", "aug"}


@pytest.mark.parametrize("theirs", ["report/index.html", "removed.csv", "report.html"])
def test_a_users_files_in_out_are_never_overwritten(made: tuple[Path, Path, Path], tmp_path: Path,
                                                    theirs: str) -> None:  # fmt: skip
    """Row 9: run and clean overwrote a user's report/index.html, removed.csv, report.html."""
    recipe, src, _ = made
    out = tmp_path / "users"
    (out / theirs).parent.mkdir(parents=True, exist_ok=True)
    (out / theirs).write_text("path,comment\nmine,keep me\n")
    command = ["clean", str(src), "--output", str(out)] if theirs != "report/index.html" else [
        "run", str(recipe), "--input", str(src), "--output", str(out), "--executor", "local"]
    result = maskforge(*command)
    one_clear_message(result)
    assert result.returncode == 2 and "maskforge did" in result.stderr and "not write" in result.stderr
    assert (out / theirs).read_text() == "path,comment\nmine,keep me\n"


def test_unreachable_address_fails_fast_and_keeps_the_output_readable(made: tuple[Path, Path, Path]) -> None:
    """Row 16: `--address 127.0.0.1:1` on a complete OUT: no error after 550 s, manifest 'running'."""
    recipe, src, out = made
    result = maskforge("run", str(recipe), "--input", str(src), "--output", str(out), "--address", "127.0.0.1:1",
                       "--quiet", timeout=60)  # fmt: skip
    one_clear_message(result)
    assert result.returncode == 2 and "cannot reach the Ray cluster" in result.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert read_shards(out).count_rows() == 6


def test_a_billion_variants_dry_run_answers_at_once(made: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Row 15: `[[variants]] count = 1000000000` was accepted; --dry-run silent for 60 s."""
    _, src, _ = made
    big = tmp_path / "big.toml"
    big.write_text(RECIPE + "count = 1000000000\n")
    result = maskforge("run", str(big), "--input", str(src), "--output", str(tmp_path / "o"), "--dry-run", timeout=60)
    one_clear_message(result)
    assert result.returncode == 2 and "1,000,000,000 rows per input image" in result.stderr
    ok = maskforge("run", str(tmp_path / "r.toml"), "--input", str(src), "--output", str(tmp_path / "o"), "--dry-run")
    assert ok.returncode == 0 and "estimate:     6 rows (6 images x 1 variants)" in ok.stdout
