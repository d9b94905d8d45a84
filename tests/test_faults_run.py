"""Fault injection on `maskforge run` (issue 21): a run killed at random points and rerun gives
the same rows as a clean run; damaged files in every OUT folder are named or rebuilt; a hostile
input tree is listed with reasons. Outcomes are correct data or one clear message."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from maskforge import read_shards

from .faults import RECIPE, killed, maskforge, one_clear_message, tiny_tree

pytestmark = pytest.mark.timeout(300)


def rows_of(out: Path) -> list[tuple]:
    t = read_shards(out).to_table(columns=["sample_id", "identity", "label", "variant", "image"])
    return sorted(zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[tuple]]:
    base = tmp_path_factory.mktemp("ref")
    src = tiny_tree(base / "in")
    (base / "r.toml").write_text(RECIPE)
    result = maskforge("run", str(base / "r.toml"), "--input", str(src), "--output", str(base / "out"),
                       "--executor", "local", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return base, src, rows_of(base / "out")


@pytest.mark.parametrize("seed", [1, 2])
def test_run_killed_at_a_random_point_then_rerun(reference: tuple, tmp_path: Path, seed: int) -> None:
    base, src, want = reference
    out = tmp_path / "out"
    args = ["run", str(base / "r.toml"), "--input", str(src), "--output", str(out), "--executor", "local", "--quiet"]
    killed(args, seed, 0.5, 4.0)
    if out.exists():  # whatever the kill left, inspect and readers answer clearly
        one_clear_message(maskforge("inspect", str(out)))
    result = maskforge(*args)
    one_clear_message(result)
    assert result.returncode == 0
    assert rows_of(out) == want


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
    else:
        data[len(data) // 2] ^= 0x20
        path.write_bytes(bytes(data))


def test_damaged_files_in_every_out_folder_are_named_then_rebuilt(reference: tuple, tmp_path: Path) -> None:
    """Rows 4, 5: truncated or bit-flipped files in dataset/, rejects/, dataset/.stats/ and
    manifest.json: inspect names a damaged file with the repair command (no traceback), and
    rerunning the same command rebuilds what was damaged and gives the reference rows."""
    base, src, want = reference
    out = tmp_path / "out"
    shutil.copytree(base / "out", out, symlinks=True)
    _damage(out / "dataset" / "shard-00001.parquet", "truncate")
    _damage(out / "dataset" / "shard-00002.parquet", "flip")
    _damage(out / "rejects" / "shard-00000.parquet", "flip")
    _damage(out / "dataset" / ".stats" / "shard-00000.json", "truncate")
    shown = maskforge("inspect", str(out))
    one_clear_message(shown)
    assert shown.returncode == 2 and "shard-00001.parquet" in shown.stderr and "rerun the same" in shown.stderr
    (out / "manifest.json").write_bytes(b"[]")
    shown = maskforge("inspect", str(out))
    assert shown.returncode == 2 and "manifest.json" in shown.stderr and "damaged" in shown.stderr
    rerun = maskforge("run", str(base / "r.toml"), "--input", str(src), "--output", str(out), "--executor", "local",
                      "--quiet")  # fmt: skip
    one_clear_message(rerun)
    assert rerun.returncode == 0
    assert rows_of(out) == want
    assert pq.read_table(out / "rejects.parquet").num_rows == pq.read_table(base / "out" / "rejects.parquet").num_rows


def test_hostile_input_tree_is_listed_with_reasons(tmp_path: Path) -> None:
    """Rows 6, 7, 20: a Latin-1 name, a FIFO, a /dev/zero link, a 255-byte name, terminal escapes,
    symlinks both ways and a file where a folder should be: the run finishes (no hang), records
    each file it could not use with its reason, and prints names safely."""
    src = tiny_tree(tmp_path / "in", identities=2, per=2)
    os.mkfifo(src / "id00" / "fifo.jpg")
    os.symlink("/dev/zero", src / "id00" / "zero.jpg")
    shutil.copy(src / "id00" / "0.jpg", os.fsencode(src / "id01") + b"/caf\xe9.jpg")
    shutil.copy(src / "id00" / "0.jpg", src / "id01" / ("n" * 251 + ".jpg"))
    evil = os.fsencode(src) + b"/\x1b]0;pwned\x07"
    os.makedirs(evil)
    shutil.copy(src / "id00" / "1.jpg", evil + b"/e.jpg")
    os.symlink(src / "id00", src / "id02")  # a folder link inside the input
    os.symlink(src, src / "id01" / "loop")  # a link back up
    (src / "id03").write_bytes(b"a file where a folder should be")
    (tmp_path / "r.toml").write_text(RECIPE)
    out = tmp_path / "out"
    result = maskforge("run", str(tmp_path / "r.toml"), "--input", str(src), "--output", str(out), "--executor",
                       "local", "--quiet", timeout=120)  # fmt: skip
    one_clear_message(result)
    assert result.returncode == 0
    shown = maskforge("inspect", str(out))
    assert "\x1b" not in shown.stdout + shown.stderr and shown.returncode == 0
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    reasons = {r["source_path"]: r["reason"] for r in rejects}
    assert reasons["id00/fifo.jpg"] == reasons["id00/zero.jpg"] == "not_a_regular_file"
    assert reasons["id01/loop"] == "symlink_loop"
    rows = read_shards(out).to_table(columns=["identity", "source_path"]).to_pylist()
    assert {"id01/caf\\xe9.jpg", "id01/" + "n" * 251 + ".jpg"} <= {r["source_path"] for r in rows}
    assert "\x1b]0;pwned\x07" in {r["identity"] for r in rows}  # recorded as is (valid text), shown escaped
