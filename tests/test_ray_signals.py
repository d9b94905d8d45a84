"""Killing the driver of ``maskforge run --executor ray`` with SIGTERM or SIGINT leaves no Ray
process behind (issue 10, item 6). Processes are told apart from other programs' Ray instances by
being descendants of the driver this test starts (Linux /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _ppids() -> dict[int, int]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            out[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int) -> set[int]:
    ppids = _ppids()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in ppids.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_sigterm_unwinds_the_driver_and_handlers_are_restored():
    """While Ray runs, SIGTERM raises SystemExit like Ctrl-C raises KeyboardInterrupt (both reach
    the executor's ``ray.shutdown``); the process's handlers are left as they were."""
    from maskforge.pipeline.executors import _stop_ray_on_signals

    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    with pytest.raises(SystemExit) as exc, _stop_ray_on_signals():
        signal.raise_signal(signal.SIGTERM)
    assert exc.value.code == 128 + signal.SIGTERM
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_killed_driver_leaves_no_ray_processes(tmp_path: Path, sig: signal.Signals):
    """A real run on ``--executor ray``, stopped once Ray has started worker processes."""
    rng = np.random.default_rng(1)
    for i in range(60):
        folder = tmp_path / "src" / f"id{i:02d}"
        folder.mkdir(parents=True)
        Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(folder / "a.jpg")
    recipe = tmp_path / "r.toml"
    recipe.write_text("seed = 0\n[source]\nshard_size = 1\n[detect]\nupsample = 1\n")
    cmd = [sys.executable, "-m", "maskforge.cli", "run", str(recipe), "--input", str(tmp_path / "src"),
           "--output", str(tmp_path / "out"), "--executor", "ray", "--num-cpus", "1", "--quiet"]  # fmt: skip
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            seen |= descendants(driver.pid)
            if any(alive(p) and "default_worker" in cmdline(p) for p in seen):
                break  # Ray is up and has started workers
            time.sleep(0.2)
        assert driver.poll() is None, "the run ended before it could be interrupted"
        assert any("raylet" in cmdline(p) for p in seen), "no Ray processes were started"
        seen |= descendants(driver.pid)
        driver.send_signal(sig)
        driver.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(p) for p in seen):
            time.sleep(0.2)
        left = {p: cmdline(p) for p in seen if alive(p)}
        assert not left, f"Ray processes left behind: {left}"
        assert driver.returncode != 0
    finally:
        if driver.poll() is None:
            driver.kill()
        for p in seen:  # only what this test's driver started, still looking like Ray
            if alive(p) and "ray" in cmdline(p):
                os.kill(p, signal.SIGKILL)
