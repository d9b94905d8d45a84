"""What a worker needs to process shards: the run's :class:`RunContext` and one :class:`ShardJob`
per shard.

The context is small and the same for every shard: the frozen, validated
:class:`~maskforge.recipe.Recipe` (every task reads its typed tables, e.g.
``ctx.recipe.clean.threshold``), the output folder, the stage keys, the label space, the
identity splits, the resolved embedder and the writer tasks. A job is one shard's samples and
input key; it travels with the call that processes the shard, so a worker never holds the whole
listing (:class:`~maskforge.pipeline.plan.RunPlan`, the driver's side, answers :meth:`shard` for
every shard from its own list).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..io.sharding import Shard
from ..recipe import Recipe
from .layout import Layout
from .records import ShardStats

#: A per-shard task: ``task(index, resume=True, tick=None) -> stats``.
Task = Callable[..., ShardStats]


def config_key(*parts: Any) -> str:
    """12 hex characters identifying a JSON-serialisable configuration."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


class Writer(Protocol):
    """A writer task's description, given to the plan by the command that wants its files
    (``detect --export-images``, ``overlay``): picklable options, and :meth:`task` builds the
    task once per worker."""

    def task(self, ctx: RunContext) -> Task: ...


@dataclass(frozen=True)
class ShardJob:
    """One shard's work order: its samples (:class:`~maskforge.io.sharding.Shard`) and input
    key (:func:`~maskforge.pipeline.plan.shard_key`, taken when the run was planned)."""

    shard: Shard
    key: str

    @property
    def index(self) -> int:
        return self.shard.index


@dataclass(kw_only=True)
class RunContext:
    """Everything a worker needs besides the shards' samples (see the module doc)."""

    recipe: Recipe
    out: Path
    stage_keys: dict[str, str] = field(default_factory=dict)
    #: The label space: kept identities sorted by name -> 0..K-1.
    labels: dict[str, int] = field(default_factory=dict)
    identity_splits: dict[str, str] = field(default_factory=dict)
    #: The embedder resolved at planning (name, requested, weights, sha256); {} without one.
    embed_identity: dict[str, Any] = field(default_factory=dict)
    #: Writer tasks run on each shard after the dataset tasks (name -> :class:`Writer`).
    #: ``dataset=False``: the plan has only these tasks.
    writers: dict[str, Writer] = field(default_factory=dict)
    dataset: bool = True
    #: Hygiene's decisions (sample id -> "" removed, or the identity it is relabelled to),
    #: made on the driver once every shard is embedded; the finish task applies them.
    hygiene: dict[str, str] = field(default_factory=dict)
    #: The tasks to run (None: every task of the plan): a run with ``[hygiene]`` runs up to
    #: ``signature`` on every shard, then the hygiene step, then ``finish``.
    only_tasks: tuple[str, ...] | None = None
    #: The jobs of the shards being processed here (filled per call by the shard pipeline).
    jobs: dict[int, ShardJob] = field(default_factory=dict, repr=False)

    @property
    def layout(self) -> Layout:
        return Layout(self.out)

    @property
    def seed(self) -> int:
        return self.recipe.seed

    def has(self, stage: str) -> bool:
        """Whether the recipe has the table (for stage tables: whether the stage runs)."""
        return self.recipe.has(stage)

    @property
    def needs_embeddings(self) -> bool:
        return self.has("detect") and (self.has("clean") or self.has("embed") or self.has("hygiene"))

    def shard(self, index: int) -> ShardJob:
        """The job of shard ``index`` (one this worker was handed)."""
        return self.jobs[index]

    def shard_key(self, index: int) -> str:
        """The input key of shard ``index`` (computed once, when the run was planned)."""
        return self.shard(index).key

    def dataset_key(self, index: int) -> str:
        """The key of dataset shard ``index``: the recipe, the shard's input, and the labels and
        splits of its identities."""
        shard = self.shard(index).shard
        space = {n: [self.labels[n], self.identity_splits.get(n)] for n in shard.identities}
        parts: list[Any] = [self.shard_key(index), space]
        if self.hygiene:  # this shard's hygiene decisions
            mine = {s.sample_id: self.hygiene[s.sample_id] for s in shard.samples if s.sample_id in self.hygiene}
            parts.append(sorted(mine.items()))
        return f"{self.stage_keys['dataset']}-{config_key(*parts)}"

    def context(self) -> RunContext:
        """The context alone (what is sent to workers), without any job."""
        return RunContext(
            recipe=self.recipe, out=self.out, stage_keys=self.stage_keys, labels=self.labels,
            identity_splits=self.identity_splits, embed_identity=self.embed_identity,
            writers=self.writers, dataset=self.dataset, hygiene=self.hygiene,
            only_tasks=self.only_tasks,
        )  # fmt: skip
