"""The Ray actor of the Ray executor: a long-lived worker that runs some of a shard's tasks per
call, built from the unit of work it is given (:class:`~.shard_work.ShardWork`, a callable)."""

from __future__ import annotations

import os
import pickle
import sys
from dataclasses import dataclass
from typing import Any

from .records import ShardStats

#: How often Ray may restart one actor, and retry one call on it, across node losses.
MAX_RESTARTS = 8
MAX_TASK_RETRIES = 8


@dataclass(frozen=True)
class PoolSpec:
    """One actor pool: which stages it runs (None: all), how many actors, each one's resources.

    ``kind``: ``"cpu"`` actors hide every GPU from their own process; ``"gpu"`` actors see the
    GPU Ray assigned them and their embedder must get CUDA. ``threads``: torch threads."""

    stages: tuple[str, ...] | None
    size: int
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    kind: str = "cpu"
    threads: int | None = 1


class ShardActor:
    """Ray actor body: runs the tasks of ``stages`` for one shard per call.

    A CPU actor sets ``CUDA_VISIBLE_DEVICES=""`` for its process before any model loads: Ray
    leaves it unset in actors with ``num_gpus=0``, so ``auto`` devices would otherwise open a
    CUDA context in every CPU actor. ``board``: the run's progress board (an actor), told of
    each task's progress without waiting. ``work_file``: the pickled unit of work, a callable
    ``work(stages, gpu=..., threads=...)`` returning the shard pipeline
    (:class:`~.shard_work.ShardWork`); each call of :meth:`run` gets one shard's job."""

    def __init__(
        self,
        work_file: str,
        stages: tuple[str, ...] | None,
        kind: str = "cpu",
        threads: int | None = 1,
        board: Any = None,
    ) -> None:
        if kind == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if threads:
            limit_threads(threads)
        with open(work_file, "rb") as fh:
            work = pickle.load(fh)
        self.kind = kind
        self.board = board
        self.pipe = work(stages, gpu=kind == "gpu", threads=threads)

    def warm(self) -> int:
        """Load the models of this actor's tasks; returns the actor's process id."""
        self.pipe.warm()
        return os.getpid()

    def adopt(self, work: Any) -> bool:
        """Take the run's final unit of work (an actor started before the input was listed,
        :class:`~.ray_executor.EarlyRay`): the models stay loaded when only the planning's
        labels and splits are new (:meth:`~.shard_work.ShardPipeline.adopt`). True then."""
        kept = bool(self.pipe.adopt(work))
        self.pipe.warm()
        return kept

    def _send(self, task: str, shard: int, n: int) -> None:
        self.board.set.remote(task, shard, n)

    def run(self, job: Any, upstream: ShardStats | None) -> ShardStats:
        """Run this actor's tasks on ``job`` (a :class:`~.context.ShardJob`)."""
        import cv2
        import ray

        stats = self.pipe(job, upstream, send=self._send if self.board is not None else None)
        # torch's threads: its pool where a task imported it, else the size it would start with
        torch = sys.modules.get("torch")
        torch_threads = torch.get_num_threads() if torch else int(os.environ.get("OMP_NUM_THREADS", 0))
        worker = {"pool": self.kind, "pid": os.getpid(),
                  "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                  "threads": {"opencv": cv2.getNumThreads(), "torch": torch_threads}}
        for name, _ in self.pipe.tasks:
            stats["stages"][name]["worker"] = worker
        ctx = ray.get_runtime_context()
        prev = (upstream or {}).get("ray") or {}
        stats["ray"] = {
            "nodes": sorted(set(prev.get("nodes", [])) | {ctx.get_node_id()}),
            "restarted": bool(prev.get("restarted")) or ctx.was_current_actor_reconstructed,
        }
        return stats


def limit_threads(n: int) -> None:
    """Keep this worker process to ``n`` threads of compute (its Ray CPU share): OpenCV and
    torch would otherwise each start a thread per core of the machine in every actor, and the
    actors of a node would fight over its cores. Called in actor processes only. torch is not
    imported for this (an overlay actor never needs it): ``OMP_NUM_THREADS`` sizes its pool when
    a task imports it, and an already imported torch is set directly."""
    import cv2

    cv2.setNumThreads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(n)


