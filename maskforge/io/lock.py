"""One writer per output folder: an OS-level lock held for a command's whole life.

Every command that writes a folder (``run``, ``clean``, ``detect``, ``overlay``, ``export``) holds
an exclusive :func:`fcntl.flock` on ``<folder>/.maskforge/lock`` until it exits; a second writer
is refused at once with :class:`~maskforge.errors.OutputLockedError`, whose message names the
holder's process id and command (each holder writes them to ``.maskforge/lock.<pid>``). ``export`` and ``inspect`` hold a *shared* lock on the run they
read, so no run rewrites it under them, and a run cannot start while they read.

Within one process the lock is reentrant: a command that holds it (``maskforge clean``) may call
code that takes it again (the run it starts); the lock is released when the outermost holder
lets go. The kernel releases the lock when the holder dies (SIGKILL included), so a killed command never
leaves a stale lock; the ``lock.<pid>`` files are information only (a dead pid's is ignored). The lock
file descriptor is not inherited by child processes (Ray workers), so only the command holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import OutputLockedError
from .names import printable

#: Hidden folder of an output folder holding maskforge's own bookkeeping (lock, created files).
META_DIR = ".maskforge"
LOCK_NAME = "lock"


def lock_path(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / META_DIR / LOCK_NAME


def command_line() -> str:
    """This process's command as the user typed it (``maskforge run recipe.toml ...``)."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("__main__.py", "maskforge")):
        argv[0] = "maskforge"
    return " ".join(argv) or "python"


def holders(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The live processes holding ``folder``'s lock, as their ``lock.<pid>`` files say
    (``pid``, ``command``, ``mode``: ``write`` or ``read``); files of dead processes are ignored."""
    out = []
    for f in sorted(lock_path(folder).parent.glob(LOCK_NAME + ".*")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("pid"), int) and _alive(data["pid"]):
            out.append(data)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


#: Locks this process holds: real folder path -> [fd, shared, holders].
_HELD: dict[str, list[Any]] = {}


class FolderLock:
    """``with FolderLock(out, shared=False): ...`` holds ``out``'s lock for the block.

    Args:
        folder: the output folder (created when missing, for an exclusive lock).
        shared: a reader's lock (many readers together, no writer) instead of a writer's.
        command: what to name in the message a refused process gets (default: this command).
    """

    def __init__(self, folder: str | os.PathLike[str], *, shared: bool = False, command: str | None = None) -> None:
        self.folder = Path(folder)
        self.shared = shared
        self.command = command or command_line()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> FolderLock:
        """Take the lock now or raise :class:`OutputLockedError` (never waits). A reader's lock
        on a folder it cannot create a lock file in is skipped (a read-only dataset)."""
        key = os.path.realpath(self.folder)
        held = _HELD.get(key)
        if held is not None:  # this process holds it already
            if held[1] and not self.shared:
                raise OutputLockedError(
                    f"{str(self.folder)!r} is being read by this process; it cannot write it now"
                )
            held[2] += 1
            self._fd = held[0]
            return self
        path = lock_path(self.folder)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError:
            if self.shared:
                return self
            raise
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._refusal() from None
        self._fd = fd
        _HELD[key] = [fd, self.shared, 1]
        self._record()
        return self

    def _info_path(self) -> Path:
        return lock_path(self.folder).with_name(f"{LOCK_NAME}.{os.getpid()}")

    def _record(self) -> None:
        """Say who holds the lock (``lock.<pid>``; information for a refused process only)."""
        info = {"pid": os.getpid(), "command": self.command, "mode": "read" if self.shared else "write"}
        try:
            self._info_path().write_text(json.dumps(info) + "\n", encoding="utf-8")
        except OSError:
            pass

    def _refusal(self) -> OutputLockedError:
        found = holders(self.folder)
        who = (
            " and ".join(f"process {h['pid']} ({printable(str(h.get('command')))!r})" for h in found)
            if found else "another maskforge process"
        )
        if self.shared:
            return OutputLockedError(
                f"{str(self.folder)!r} is being written by {who}; wait until it finishes, then "
                "run this command again"
            )
        return OutputLockedError(
            f"{str(self.folder)!r} is in use by {who}; one command at a time may write an output "
            "folder (and none while another reads it): wait until it finishes, or choose another folder"
        )

    def release(self) -> None:
        fd = self._fd
        if fd is None:
            return
        self._fd = None
        key = os.path.realpath(self.folder)
        held = _HELD.get(key)
        if held is not None:
            held[2] -= 1
            if held[2] > 0:
                return
            del _HELD[key]
        self._info_path().unlink(missing_ok=True)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def write_lock(folder: str | os.PathLike[str], command: str | None = None) -> FolderLock:
    """The exclusive lock of a command writing ``folder`` (not yet taken: use ``with``)."""
    return FolderLock(folder, shared=False, command=command)


def read_lock(folder: str | os.PathLike[str]) -> FolderLock:
    """A reader's shared lock on ``folder`` (not yet taken: use ``with``)."""
    return FolderLock(folder, shared=True)
