"""Per-shard materialised outputs of a stage: ``OUT/cache/<stage>-<key>/shard-N.parquet``.

Each cached shard is a rows file, a rejects file and a stats file written last (marking it done).
The folder name carries the stage's configuration key; the stats carry the shard's content key, so
a changed input or configuration is never mistaken for a finished shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq

from ..io.schema import REJECT_SCHEMA
from ..io.writer import read_stats, write_shard, write_table_atomic
from .records import RejectRow, ShardStats


@dataclass(frozen=True)
class StageCache:
    folder: Path

    def rows_path(self, index: int) -> Path:
        return self.folder / f"shard-{index:05d}.parquet"

    def rejects_path(self, index: int) -> Path:
        return self.folder / f"shard-{index:05d}.rejects.parquet"

    def stats(self, index: int, key: str) -> ShardStats | None:
        """The stats of a finished shard computed from ``key``, else None."""
        stats = read_stats(self.rows_path(index))
        if stats is None or stats.get("key") != key or not self.rows_path(index).is_file():
            return None
        return cast(ShardStats, stats)

    def write(self, index: int, rows: pa.Table, rejects: list[RejectRow], stats: ShardStats) -> None:
        from ..io.schema import to_table

        write_table_atomic(to_table(rejects, REJECT_SCHEMA), self.rejects_path(index))
        write_shard(rows, self.rows_path(index), stats)

    def read(self, index: int, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.rows_path(index), columns=columns)

    def read_rejects(self, index: int) -> list[RejectRow]:
        p = self.rejects_path(index)
        return cast(list[RejectRow], pq.read_table(p).to_pylist()) if p.is_file() else []
