"""Fault injection on `maskforge export` (issue 21, rows 2, 3): killed at random points and rerun,
exports end whole and right; a writer and an export never share a folder."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from maskforge import read_shards
from maskforge.errors import OutputLockedError
from maskforge.export import export_folders

from .faults import ENV, RECIPE, killed, maskforge, one_clear_message, tiny_tree

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def run_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("exp")
    src = tiny_tree(base / "in", identities=6, per=4)
    (base / "r.toml").write_text(RECIPE)
    result = maskforge("run", str(base / "r.toml"), "--input", str(src), "--output", str(base / "out"),
                       "--executor", "local", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return base / "out"


def _images(out: Path) -> dict[str, bytes]:
    t = read_shards(out).to_table(columns=["sample_id", "image"])
    return dict(zip(t.column("sample_id").to_pylist(), t.column("image").to_pylist(), strict=True))


def _visible(dst: Path) -> list[Path]:
    return sorted(p for p in dst.rglob("*") if p.is_file() and not any(q.startswith(".") for q in p.parts[-2:]))


@pytest.mark.parametrize(("fmt", "seed"), [("folders", 1), ("webdataset", 2)])
def test_export_killed_at_a_random_point_then_rerun(run_out: Path, tmp_path: Path, fmt: str, seed: int) -> None:
    """Row 3: SIGKILL left a truncated tar and .jpg under their final names; the rerun refused."""
    dst = tmp_path / "dst"
    args = ["export", str(run_out), str(dst), "--format", fmt, "--maxcount", "5"]
    killed(args, seed, 0.3, 3.0)
    for f in _visible(dst) if dst.exists() else []:  # whatever is there under a final name is whole
        if f.suffix == ".tar":
            with tarfile.open(f) as tar:
                assert len(tar.getmembers()) % 3 == 0
    result = maskforge(*args)
    one_clear_message(result)
    assert result.returncode == 0
    images = _images(run_out)
    if fmt == "folders":
        got = sorted(f.read_bytes() for f in _visible(dst))
        assert got == sorted(images.values())
    else:
        got = {}
        for f in _visible(dst):
            with tarfile.open(f) as tar:
                for m in tar.getmembers():
                    if m.name.endswith(".jpg"):
                        got[m.name.split("_", 1)[0]] = tar.extractfile(m).read()
        assert got == images
    assert not [p for p in dst.rglob("*.tmp")]  # the rerun removed what the killed export left


def test_export_refused_while_a_run_writes_the_folder(run_out: Path, tmp_path: Path) -> None:
    """Row 2: an export paused while a run rewrote OUT wrote a tar mixing rows of two runs."""
    code = ("import sys, time; from maskforge.io.lock import write_lock; "
            "l = write_lock(sys.argv[1], 'maskforge run recipe.toml').acquire(); print('held', flush=True); "
            "time.sleep(60)")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", code, str(run_out)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError, match=f"process {holder.pid} \\('maskforge run recipe.toml'\\)"):
            export_folders(run_out, tmp_path / "dst")
        result = maskforge("export", str(run_out), str(tmp_path / "dst2"), "--format", "webdataset")
    finally:
        holder.kill()
        holder.wait()
    one_clear_message(result)
    assert result.returncode == 2 and "being written by" in result.stderr
    assert not (tmp_path / "dst").exists() or not _visible(tmp_path / "dst")


def test_export_of_a_bit_flipped_shard_names_it(run_out: Path, tmp_path: Path) -> None:
    """Row 4 for readers: a damaged shard is named with the repair command, nothing exported."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(run_out, out)
    victim = out / "dataset" / "shard-00001.parquet"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x04
    victim.write_bytes(bytes(data))
    result = maskforge("export", str(out), str(tmp_path / "dst"), "--format", "webdataset")
    one_clear_message(result)
    assert result.returncode == 2 and "shard-00001.parquet" in result.stderr and "rerun the same" in result.stderr
    assert not list((tmp_path / "dst").glob("*.tar")) if (tmp_path / "dst").exists() else True
