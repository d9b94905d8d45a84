"""One writer per output folder (issue 21, item 1): an OS lock, refused at once, naming the holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskforge.errors import OutputLockedError
from maskforge.io.lock import holders, lock_path, read_lock, write_lock

pytestmark = pytest.mark.timeout(60)

HOLD = """
import sys, time
from maskforge.io.lock import FolderLock
lock = FolderLock(sys.argv[1], shared=sys.argv[2] == "read", command="maskforge run held.toml").acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(folder: Path, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), mode], stdout=subprocess.PIPE, env=env,
                            text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_refused_at_once_naming_pid_and_command(tmp_path: Path) -> None:
    proc = _holder(tmp_path, "write")
    try:
        t0 = time.monotonic()
        with pytest.raises(OutputLockedError) as info, write_lock(tmp_path):
            pass
        assert time.monotonic() - t0 < 5  # refused, not queued
        msg = str(info.value)
        assert f"process {proc.pid}" in msg and "maskforge run held.toml" in msg
        with pytest.raises(OutputLockedError, match="being written by"), read_lock(tmp_path):
            pass  # a reader does not read a folder being written
        assert [h["pid"] for h in holders(tmp_path)] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    with write_lock(tmp_path) as lock:  # SIGKILL released it: no stale lock
        assert lock.held


def test_readers_share_and_keep_writers_out(tmp_path: Path) -> None:
    proc = _holder(tmp_path, "read")
    try:
        with read_lock(tmp_path) as mine:
            assert mine.held
        with pytest.raises(OutputLockedError, match=f"process {proc.pid}"), write_lock(tmp_path):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_lock_is_released_on_exit_and_not_inherited(tmp_path: Path) -> None:
    with write_lock(tmp_path, command="maskforge clean") as lock:
        assert lock_path(tmp_path).is_file()
        assert lock._fd is not None and not os.get_inheritable(lock._fd)  # Ray workers never hold it
        assert [h["command"] for h in holders(tmp_path)] == ["maskforge clean"]
    with write_lock(tmp_path):
        pass
    assert holders(tmp_path) == []


def test_read_lock_on_a_read_only_folder_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    tmp_path.chmod(0o555)
    try:
        with read_lock(tmp_path) as lock:
            assert not lock.held
    finally:
        tmp_path.chmod(0o755)


def test_reentrant_within_one_process(tmp_path: Path) -> None:
    """A command holding its folder (clean) may start a run on it: the lock is taken again, and
    released when the outer holder lets go."""
    with write_lock(tmp_path, command="maskforge clean") as outer:
        with write_lock(tmp_path) as inner:
            assert inner.held
        assert outer.held and [h["command"] for h in holders(tmp_path)] == ["maskforge clean"]
    assert holders(tmp_path) == []
    with read_lock(tmp_path):
        with pytest.raises(OutputLockedError, match="being read by this process"), write_lock(tmp_path):
            pass
