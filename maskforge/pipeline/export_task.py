"""The ``images`` writer task: a shard's dataset images as files (``detect --export-images``).

Options (:class:`ExportImages`, given to the plan as ``writers["images"]``): ``dir`` (the
destination folder) and ``targets``
(source path -> file path relative to ``dir``, unique and inside ``dir``, decided for the whole
plan before the run by :func:`maskforge.io.paths.unique_targets`). Each file is written
atomically; the task returns the files it wrote in ``written``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ..io.writer import is_done, write_bytes_atomic
from .context import RunContext
from .progress import Tick
from .records import ShardStats


@dataclass(frozen=True)
class ExportImages:
    """The ``images`` writer: the dataset images of every shard written under ``dir``, each at
    ``targets[source_path]`` (a path relative to ``dir``)."""

    dir: str
    targets: dict[str, str]

    def task(self, ctx: RunContext) -> ExportImagesTask:
        return ExportImagesTask(ctx, self)


class ExportImagesTask:
    """``task(index) -> stats``: write the images of dataset shard ``index`` under ``dir``."""

    def __init__(self, plan: RunContext, opts: ExportImages) -> None:
        self.plan = plan
        self.dir = Path(opts.dir)
        self.targets: dict[str, str] = opts.targets

    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> ShardStats:
        """``tick``: see :mod:`.progress`; the shard's images are fast to write, so the
        pipeline reports this task's progress per shard."""
        layout = self.plan.layout
        shard = layout.shard_file(layout.dataset, index)
        written: list[str] = []
        if is_done(shard):
            table = pq.read_table(shard, columns=["source_path", "image"])
            for sp, image in zip(table.column("source_path").to_pylist(),
                                 table.column("image").to_pylist(), strict=True):  # fmt: skip
                rel = self.targets[sp]
                write_bytes_atomic(image, self.dir / rel)
                written.append(rel)
        return {"shard": index, "files": len(written), "written": written, "skipped": False}
