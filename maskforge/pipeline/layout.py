"""Where a run writes what (``OUT`` is the output folder).

```
OUT/manifest.json              resolved recipe, versions, models, counts, timings, labels
OUT/labels.csv                 identity,label
OUT/dataset/shard-*.parquet    final samples (+ .stats/shard-*.json marking each shard done)
OUT/rejects/shard-*.parquet    inputs a stage could not use, with stage and reason
OUT/removed/shard-*.parquet    samples the cleaner removed (score, threshold, method)
OUT/rejects.parquet            all rejects in one file (written at the end of a run)
OUT/removed.parquet            all removals in one file (written at the end of a run)
OUT/clean_scores/shard-*.parquet, OUT/clean_scores.parquet   every scored sample (cleaning audit)
OUT/cache/<stage>-<key>/       per-shard outputs of expensive stages, keyed by their configuration
OUT/report/index.html          the run report
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    out: Path

    @property
    def manifest(self) -> Path:
        return self.out / "manifest.json"

    @property
    def labels(self) -> Path:
        return self.out / "labels.csv"

    @property
    def dataset(self) -> Path:
        return self.out / "dataset"

    @property
    def rejects(self) -> Path:
        return self.out / "rejects"

    @property
    def removed(self) -> Path:
        return self.out / "removed"

    @property
    def clean_scores(self) -> Path:
        return self.out / "clean_scores"

    @property
    def report(self) -> Path:
        return self.out / "report"

    def cache(self, stage: str, key: str) -> Path:
        return self.out / "cache" / f"{stage}-{key}"

    def shard_file(self, folder: Path, index: int) -> Path:
        return folder / f"shard-{index:05d}.parquet"
