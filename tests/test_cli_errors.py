"""Errors are one message: disk full, read-only output, output is a file, bad --keep, bad --device.

Disk full and read-only are tested on real small tmpfs mounts where this process may mount them
(root in a container), and always by simulating ENOSPC/EROFS in the writer (monkeypatch).
"""

from __future__ import annotations

import errno
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner
from PIL import Image

from maskforge.clean.keep import read_keep
from maskforge.cli import main
from maskforge.cli._common import user_message
from maskforge.device import check_device, resolve_device
from maskforge.errors import RecipeError, SourceError
from maskforge.io import writer


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 noise JPEGs (about 50 kB each) in 2 identity folders: more than a 64 kB disk holds."""
    root = tmp_path_factory.mktemp("src")
    for i in range(8):
        p = root / f"id{i % 2}" / f"{i}.jpg"
        p.parent.mkdir(exist_ok=True)
        noise = np.random.default_rng(i).integers(0, 255, (200, 200, 3), dtype=np.uint8)
        Image.fromarray(noise).save(p, quality=95)
    return root


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> str:
    p = tmp_path_factory.mktemp("recipe") / "plain.toml"
    p.write_text("seed = 0\n[source]\nshard_size = 4\n")
    return str(p)


def mounted(tmp_path: Path, options: str) -> Iterator[Path]:
    point = tmp_path / f"mnt-{uuid.uuid4().hex[:8]}"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not permitted'})")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    yield from mounted(tmp_path, "size=64k")


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    yield from mounted(tmp_path, "ro,size=64k")


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    text = result.output + (str(result.exception) if result.exit_code not in (0, 2) else "")
    return result.exit_code, text


def assert_one_message(code: int, text: str, *needles: str) -> None:
    assert code == 2, text
    assert "Traceback" not in text
    errors = [ln for ln in text.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, text
    for needle in needles:
        assert needle in errors[0], errors[0]


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_disk_full_is_one_message(small_disk: Path, src: Path, recipe: str) -> None:
    out = small_disk / "out"
    code, text = run_cli("run", recipe, "--input", str(src), "--output", str(out),
                         "--executor", "local", "--quiet")
    assert_one_message(code, text, "no space left", str(out))
    assert leftovers(small_disk) == []


def test_read_only_output_is_one_message(read_only_disk: Path, src: Path, recipe: str) -> None:
    out = read_only_disk / "out"
    code, text = run_cli("run", recipe, "--input", str(src), "--output", str(out),
                         "--executor", "local", "--quiet")
    assert_one_message(code, text, "read-only", str(out))


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_simulated_write_failures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, src: Path,
                                  recipe: str, err: int) -> None:
    """ENOSPC/EROFS/EACCES in the middle of writing a shard: the temporary file is removed and
    the message names the shard's path."""
    real = writer.pq.write_table

    def failing(table: pa.Table, where: str, **kw: object) -> None:
        real(table, where, **kw)  # a real partial file exists when the error comes
        raise OSError(err, "simulated")

    monkeypatch.setattr(writer.pq, "write_table", failing)
    out = tmp_path / "out"
    code, text = run_cli("run", recipe, "--input", str(src), "--output", str(out),
                         "--executor", "local", "--quiet")
    assert_one_message(code, text, str(out), ".parquet")
    assert leftovers(out) == []


def test_output_is_a_file(tmp_path: Path, src: Path, recipe: str) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder")
    code, text = run_cli("run", recipe, "--input", str(src), "--output", str(out),
                         "--executor", "local", "--quiet")
    assert_one_message(code, text, str(out), "not a folder")
    assert out.read_text() == "not a folder"


def test_clean_keep_binary_file(tmp_path: Path, src: Path) -> None:
    # today's main: UnicodeDecodeError traceback
    keep = tmp_path / "keep.png"
    Image.new("RGB", (8, 8)).save(keep)
    with pytest.raises(SourceError, match="UTF-8 text"):
        read_keep(keep)
    code, text = run_cli("clean", str(src), "--output", str(tmp_path / "out"), "--keep", str(keep),
                         "--embedder", "dlib-resnet")
    assert_one_message(code, text, str(keep), "UTF-8")


def test_clean_unknown_device(tmp_path: Path, src: Path) -> None:
    # today's main: a torch traceback (facenet) or silently ignored (dlib)
    code, text = run_cli("clean", str(src), "--output", str(tmp_path / "out"), "--device", "tpu")
    assert_one_message(code, text, "'tpu'", "auto, cpu, cuda or cuda:N")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["tpu", "cuda:", "cuda:x", "CPU", "gpu", "", "cuda:0 "])
def test_device_names_refused(name: str) -> None:
    with pytest.raises(RecipeError, match="auto, cpu, cuda or cuda:N"):
        check_device(name)


def test_device_names_accepted() -> None:
    assert [check_device(d) for d in ("auto", "cpu", "cuda", "cuda:3")] == ["auto", "cpu", "cuda", "cuda:3"]
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") in ("cpu", "cuda")


def test_atomic_writers_remove_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text('{"old": 1}')
    with pytest.raises(TypeError):
        writer.write_bytes_atomic("text, not bytes", target)  # type: ignore[arg-type]
    assert target.read_text() == '{"old": 1}' and leftovers(tmp_path) == []


def test_user_message_looks_through_causes() -> None:
    inner = OSError(errno.ENOSPC, "No space left on device")
    inner.filename = "/data/out/x.parquet"

    class TaskError(Exception):
        cause = inner

    assert user_message(TaskError("ray said")) == (
        "'/data/out/x.parquet': no space left on the device: free some space or choose an output "
        "on another disk")
    assert user_message(ValueError("a bug")) is None
