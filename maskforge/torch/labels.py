"""The label space of a training dataset: the run's, or contiguous labels over one split.

A run labels its identities ``0..K-1`` once (``OUT/labels.csv``), over all splits. With the
identity split, some identities never appear in ``train``: a softmax or ArcFace head of ``K``
outputs would then hold classes that never get a positive example. ``labels="split"`` gives the
identities the dataset's filters keep the labels ``0..K'-1``, in the order of their run labels
(so the mapping is the same for the same filters on the same run); ``"global"`` (the default)
keeps the run's labels. :meth:`LabelSpace.write` saves the mapping as CSV
``identity,label,global_label``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..io.writer import write_text_atomic

#: The label spaces a dataset offers.
LABEL_SPACES = ("global", "split")


@dataclass(frozen=True)
class LabelSpace:
    """``labels``: identity -> item label; ``run_labels``: identity -> the run's label;
    ``lookup``: run label -> item label (-1 for run labels outside the space)."""

    kind: str
    labels: dict[str, int]
    run_labels: dict[str, int]
    lookup: np.ndarray

    @classmethod
    def make(
        cls, kind: str, run_labels: Mapping[str, int], rows: Sequence[np.ndarray], kept: Sequence[np.ndarray]
    ) -> LabelSpace:
        """The space ``kind`` over the run's labels, from the run labels of every row of each
        file (``rows``) and of the rows the filters keep (``kept``)."""
        if kind not in LABEL_SPACES:
            raise ValueError(f"unknown labels {kind!r}; choose one of {', '.join(LABEL_SPACES)}")
        run = dict(run_labels)
        size = max([*run.values(), *(int(a.max()) for a in rows if len(a))], default=-1) + 1
        if kind == "global":
            return cls(kind, run, run, np.arange(size, dtype=np.int64))
        present = np.unique(np.concatenate([np.asarray(a, np.int64) for a in kept] or [np.zeros(0, np.int64)]))
        lookup = np.full(size, -1, np.int64)
        lookup[present] = np.arange(len(present))
        by_label = {v: k for k, v in run.items()}
        labels = {by_label.get(int(g), str(g)): int(lookup[g]) for g in present}
        return cls(kind, labels, run, lookup)

    @property
    def num_classes(self) -> int:
        """Outputs of a classifier over this space."""
        return max(self.labels.values(), default=-1) + 1

    def remap(self, run_labels: np.ndarray) -> np.ndarray:
        """Item labels of an array of run labels (-1 where a label is outside the space)."""
        return self.lookup[np.asarray(run_labels, np.int64)]

    def label_of(self, run_label: int) -> int:
        """The item label of one run label."""
        return int(self.lookup[int(run_label)])

    def write(self, path: str | os.PathLike[str]) -> Path:
        """The mapping as CSV ``identity,label,global_label`` at ``path`` (atomically). Raises
        OutputError when ``path`` exists: maskforge never overwrites a file it did not create."""
        dest = Path(path)
        if dest.exists():
            raise OutputError(f"{dest} exists already: remove it or choose another path")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["identity", "label", "global_label"])
        for ident, label in sorted(self.labels.items(), key=lambda kv: kv[1]):
            w.writerow([ident, label, self.run_labels.get(ident, "")])
        write_text_atomic(buf.getvalue(), dest)
        return dest
