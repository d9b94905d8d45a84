"""``maskforge.pipeline.ray_procs``: the autoscaler monitor of an embedded Ray instance is ended
before ``ray.shutdown()`` (which otherwise waits a second for it), and nothing else is."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskforge.pipeline.ray_procs import MONITOR_MARKER, _alive, stop_monitor

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _sleeper(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])


def test_stop_monitor_kills_the_monitor_only() -> None:
    monitor = _sleeper(f"/x/ray/{MONITOR_MARKER}", "--logs-dir=/tmp")
    other = _sleeper("/x/ray/_private/log_monitor.py")
    try:
        stop_monitor([monitor.pid, other.pid, 999_999_999])  # a pid that does not exist: ignored
        assert monitor.wait(timeout=10) == -9  # SIGKILL, as ray.shutdown() does after 1 s
        time.sleep(0.1)
        assert other.poll() is None and _alive(other.pid)
    finally:
        for p in (monitor, other):
            p.kill()
            p.wait()


def test_a_ray_run_leaves_no_monitor(tmp_path: Path) -> None:
    """A whole start and shutdown of an embedded instance: its monitor is gone afterwards."""
    import ray

    from maskforge.pipeline.ray_executor import _shutdown, init_ray
    from maskforge.pipeline.ray_procs import _cmdline, ray_descendants

    if ray.is_initialized():
        pytest.skip("a Ray instance already runs in this process")
    assert init_ray(1, None, None)
    monitors = [p for p in ray_descendants() if MONITOR_MARKER in _cmdline(p)]
    assert monitors, "Ray 2.60 starts an autoscaler monitor with every local instance"
    _shutdown(True)
    assert not ray.is_initialized()
    assert not any(_alive(p) for p in monitors)
