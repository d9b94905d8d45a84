"""The typed records that cross the pipeline's modules: a shard's stats (what a task returns,
what the executors pass on, what :class:`~.runner.RunResult` and the manifest are made of) and a
reject row. They stay plain dicts at run time (they are written as JSON stats files and given to
``progress`` callbacks), typed for checkers as :class:`~typing.TypedDict`."""

from __future__ import annotations

from typing import Any, TypedDict


class RejectRow(TypedDict):
    """A row of the rejects table (``maskforge.io.schema.REJECT_SCHEMA``): an input a stage
    could not use, with the stage, a short reason code and a human detail."""

    sample_id: str | None
    source_path: str
    identity: str | None
    stage: str
    reason: str
    detail: str


class StageRecord(TypedDict, total=False):
    """One task's part of a shard's stats (``stats["stages"][task]``)."""

    seconds: dict[str, float]
    skipped: bool
    model: dict[str, Any]
    #: The Ray actor that ran it (pool, pid, threads); Ray executor only.
    worker: dict[str, Any]


class ShardStats(TypedDict, total=False):
    """What processing one shard reports. Every task returns ``shard``, ``seconds`` and
    ``skipped`` (and ``key``, its input or dataset key, for the cached ones); the shard
    pipeline's stats are those of the ``finish`` task plus ``stages`` (each task's
    :class:`StageRecord`), each writer task's own stats under its name (``images``,
    ``overlay``) and, on Ray, ``ray`` (nodes, restarted)."""

    shard: int
    key: str
    inputs: int
    skipped: bool
    seconds: dict[str, float]
    model: dict[str, Any]
    # detect / embed
    faces: int
    chips_from_crop: int
    # finish (the dataset shard)
    identities: int
    samples: int
    rejects: int
    rejects_by_reason: dict[str, int]
    removed: int
    flagged: int
    hygiene_removed: int
    relabelled: int
    variants: dict[str, int]
    occluders: dict[str, int]
    selection: dict[str, Any]
    per_identity_input: dict[str, int]
    per_identity_output: dict[str, int]
    clean: dict[str, Any]
    # writer tasks
    files: int
    written: list[str]
    log: list[dict[str, str]]
    images: ShardStats
    overlay: ShardStats
    # the shard pipeline and the executors
    stages: dict[str, StageRecord]
    ray: dict[str, Any]
