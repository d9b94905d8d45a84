"""The Ray processes an embedded instance started, so that none outlives the run.

``ray.shutdown()`` stops the raylet and GCS of an instance the driver started, but the agents
and workers the raylet started exit only when they next notice their parent is gone (tens of
seconds on a loaded machine, or never when the driver is killed). :func:`ray_descendants`
records them (Linux ``/proc``: descendants of this process whose command line is Ray's) and
:func:`reap` ends those still running after the shutdown. Elsewhere both do nothing.

:func:`stop_monitor` ends the autoscaler monitor of an embedded instance *before*
``ray.shutdown()``: Ray stops the GCS before it, and the monitor's SIGTERM handler then waits on
the GCS to report its own death, until Ray SIGKILLs it after a second. That second was most of
every run's shutdown (1.1-1.4 s; 0.1 s without it, Ray 2.60, docs/benchmarks.md).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_MARKERS = ("ray::", "raylet", "gcs_server", "/ray/", "ray/_private", "default_worker")


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(d))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def ray_descendants() -> list[int]:
    """Pids of the Ray processes below this process (empty without ``/proc``)."""
    if not Path("/proc/self/stat").exists():
        return []
    children = _children()
    found: list[int] = []
    frontier = [os.getpid()]
    while frontier:
        frontier = [c for p in frontier for c in children.get(p, []) if c not in found]
        found += frontier
    return [p for p in found if any(m in _cmdline(p) for m in _MARKERS)]


#: What names the autoscaler monitor in its command line (``ray/autoscaler/_private/monitor.py``).
MONITOR_MARKER = "autoscaler/_private/monitor.py"


def stop_monitor(pids: list[int]) -> None:
    """SIGKILL the autoscaler monitor among ``pids`` (this process's Ray descendants, from
    :func:`ray_descendants`): what ``ray.shutdown()`` does to it after a second of waiting. The
    monitor of a local instance only watches resources for the autoscaler; it holds no state."""
    for p in pids:
        if _alive(p) and MONITOR_MARKER in _cmdline(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def reap(pids: list[int], grace_s: float = 3.0) -> None:
    """SIGTERM the processes of ``pids`` still alive (and still Ray's), then SIGKILL the ones
    alive after ``grace_s`` seconds."""
    def live() -> list[int]:
        return [p for p in pids if _alive(p) and any(m in _cmdline(p) for m in _MARKERS)]

    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = live()
        for p in left:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = live()
        if not left:
            return
