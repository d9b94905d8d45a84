"""Is a Ray cluster address reachable? Answered within a time-out, before anything else is done.

``ray.init(address=...)`` to a host that does not answer can wait for many minutes. A run given
``--address`` first opens a TCP connection to the address (:func:`check_address`), with a
time-out of :data:`CONNECT_TIMEOUT_S`, and fails with one
:class:`~maskforge.errors.ClusterError` when nothing answers, before its manifest says
``running``, so a complete output folder stays readable.

Forms: ``host:port`` (a cluster's GCS), ``ray://host:port`` (Ray Client), ``auto`` (the
``RAY_ADDRESS`` environment variable, else the cluster Ray last started on this machine, as
``/tmp/ray/ray_current_cluster`` records it).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ..errors import ClusterError

#: Seconds to wait for the cluster to answer a TCP connection.
CONNECT_TIMEOUT_S = 10.0
_CURRENT = Path("/tmp/ray/ray_current_cluster")


def host_port(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; ClusterError when malformed."""
    rest = address.split("://", 1)[1] if "://" in address else address
    rest = rest.rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterError(
            f"--address {address!r} is not host:port, ray://host:port or auto; give the address "
            "`ray start --head` printed"
        )
    return host.strip("[]"), int(port)


def resolve_auto() -> str | None:
    """The address ``auto`` stands for, or None when no cluster is known on this machine."""
    env = os.environ.get("RAY_ADDRESS")
    if env and env != "auto":
        return env
    try:
        text = _CURRENT.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> str:
    """Raise :class:`ClusterError` unless something answers at ``address`` within ``timeout``
    seconds; returns the concrete address checked."""
    concrete = resolve_auto() if address == "auto" else address
    if concrete is None:
        raise ClusterError(
            "--address auto: no running Ray cluster found on this machine (start one with "
            "`ray start --head`, or leave --address out to use a local Ray of this run)"
        )
    host, port = host_port(concrete)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterError(
            f"cannot reach the Ray cluster at {concrete!r} ({why} within {timeout:g} s); check "
            "the address and that the cluster is up (`ray status` on its head node)"
        ) from exc
    return concrete
