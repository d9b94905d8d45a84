"""``RunOptions``: how a plan is run (the keyword arguments of :func:`maskforge.run`, which are
the names of ``maskforge run``'s flags), built once and passed down whole."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..recipe import RayTable
    from .records import ShardStats

#: Called with each shard's stats as it finishes.
ProgressFn = Callable[["ShardStats"], None]
#: Called a few times a second with a :class:`~maskforge.pipeline.progress.Snapshot`.
MonitorFn = Callable[[Any], None]

EXECUTORS = ("ray", "local", "processes")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to run a recipe.

    ``input``/``output``: the input dataset and ``OUT`` (default: the recipe's);
    ``overrides``: ``"key=value"`` strings, like ``--set``; ``executor``: ``"ray"``,
    ``"local"`` (one process) or ``"processes"`` (``num_cpus`` worker processes of this machine,
    no Ray: the direct modes); ``resume``: reuse the shards already done (``False``:
    ``--restart``); ``num_cpus``, ``num_gpus``, ``address``: Ray resources and cluster (default:
    the recipe's ``[ray]``); ``progress``: each shard's stats as it finishes; ``monitor``: live
    per-image :class:`~maskforge.pipeline.progress.Snapshot`; ``early_start``: start Ray and its
    actors while the input is listed, where this process has not imported Ray before (a
    ``maskforge run`` always; ``$MASKFORGE_EARLY_RAY`` ``1``/``0`` forces it on or off, see
    :mod:`~maskforge.pipeline.ray_early`)."""

    input: str | os.PathLike[str] | None = None
    output: str | os.PathLike[str] | None = None
    overrides: tuple[str, ...] = ()
    executor: str = "ray"
    resume: bool = True
    num_cpus: int | None = None
    num_gpus: int | None = None
    address: str | None = None
    progress: ProgressFn | None = None
    monitor: MonitorFn | None = None
    early_start: bool = True

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"unknown executor {self.executor!r}; use 'ray', 'local' or 'processes'")
        object.__setattr__(self, "overrides", tuple(self.overrides))

    def with_ray_defaults(self, ray: RayTable) -> RunOptions:
        """These options with ``num_cpus``, ``num_gpus`` and ``address`` taken from the recipe's
        ``[ray]`` table where not given."""
        return replace(
            self,
            num_cpus=self.num_cpus if self.num_cpus is not None else ray.num_cpus,
            num_gpus=self.num_gpus if self.num_gpus is not None else ray.num_gpus,
            address=self.address if self.address is not None else ray.address,
        )
