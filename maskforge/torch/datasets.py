"""Map-style and iterable datasets over a run's Parquet shards (see the package docstring)."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from ..errors import OutputError
from ..io.reader import dataset_files
from ..io.selection import RowFilter, label_table, read_scan, scan_columns
from ..seeding import BUFFER, rng_for
from .items import decode_row, item_columns
from .labels import LabelSpace
from .order import SharedEpoch, buffer_shuffle, consumer_pieces, rank_rows

#: Default rows held by the shuffle buffer of :class:`ShardIterableDataset` (per worker).
SHUFFLE_BUFFER = 8192

Transform = Callable[[Image.Image], Any]
Occlude = Callable[..., Any]


class _Rows:
    """The rows a dataset reads: the run's files, the kept rows of each, the label table."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        split: str | Sequence[str] | None,
        variants: str | Sequence[str] | None,
        occluded: bool | None,
        allow_partial: bool,
        columns: list[str],
        labels: str = "global",
    ) -> None:
        self.path = Path(path)
        self.files = dataset_files(self.path, allow_partial=allow_partial)
        if not self.files:
            raise OutputError(f"no completed shards under {str(path)!r}; run `maskforge run` first")
        scans = [read_scan(f) for f in self.files]
        self.filter = RowFilter.resolve(scans, split=split, variants=variants, occluded=occluded)
        self.keep = [self.filter.mask(t) for t in scans]
        run_labels = label_table(self.path, scans)
        all_labels = [t["label"].to_numpy() for t in scans]
        kept = [a[k] for a, k in zip(all_labels, self.keep, strict=True)]
        self.space = LabelSpace.make(labels, run_labels, all_labels, kept)
        self.row_labels = [self.space.remap(a) for a in all_labels]
        self.offsets: list[np.ndarray] = []
        self.columns: list[list[str]] = []
        for f in self.files:
            meta = pq.ParquetFile(f)
            sizes = [meta.metadata.row_group(g).num_rows for g in range(meta.num_row_groups)]
            self.offsets.append(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
            self.columns.append(scan_columns(meta.schema_arrow, columns))
        if self.num_rows == 0:
            raise ValueError(
                f"no rows of {str(path)!r} match {self.filter.describe()}; check the filters "
                "against `maskforge inspect`"
            )

    @property
    def num_rows(self) -> int:
        return int(sum(int(k.sum()) for k in self.keep))

    def group_rows(self) -> list[list[int]]:
        """Kept rows per row group, per file."""
        return [
            [int(keep[offsets[g]:offsets[g + 1]].sum()) for g in range(len(offsets) - 1)]
            for keep, offsets in zip(self.keep, self.offsets, strict=True)
        ]

    def read(
        self, fi: int, rg: int, files: dict[int, pq.ParquetFile], start: int = 0, stop: int | None = None
    ) -> list[dict[str, Any]]:
        """The kept rows ``[start, stop)`` of row group ``rg`` of file ``fi``, in file order."""
        pf = files.get(fi)
        if pf is None:
            pf = files[fi] = pq.ParquetFile(self.files[fi])
        table = pf.read_row_group(rg, columns=self.columns[fi])
        lo, hi = self.offsets[fi][rg], self.offsets[fi][rg + 1]
        kept = table.filter(self.keep[fi][lo:hi])
        return kept.slice(start, (kept.num_rows if stop is None else stop) - start).to_pylist()


class _Base:
    _rows: _Rows
    transform: Transform | None
    occlude: Occlude | None
    return_dict: bool

    @property
    def files(self) -> list[Path]:
        """The Parquet files read: exactly the run's dataset shards (see ``maskforge.io.reader``)."""
        return self._rows.files

    @property
    def labels(self) -> dict[str, int]:
        """identity -> label of the items: the run's label space (``OUT/labels.csv``, labels
        ``0..K-1``), or with ``labels="split"`` the contiguous labels of the identities the
        filters keep (see :mod:`maskforge.torch.labels`)."""
        return self._rows.space.labels

    @property
    def global_labels(self) -> dict[str, int]:
        """identity -> the run's label (``OUT/labels.csv``), whatever ``labels`` says."""
        return self._rows.space.run_labels

    @property
    def num_classes(self) -> int:
        """Size of the label space: the classifier's number of outputs."""
        return self._rows.space.num_classes

    def write_labels(self, path: str | os.PathLike[str]) -> Path:
        """Write the label mapping as CSV ``identity,label,global_label`` (atomically; an
        existing file is never overwritten). Keep it with the trained model."""
        return self._rows.space.write(path)

    @property
    def num_rows(self) -> int:
        """Rows the filters keep (over all ranks and workers)."""
        return self._rows.num_rows

    def _item(self, row: dict[str, Any]) -> Any:
        row["label"] = self._rows.space.label_of(row["label"])
        return decode_row(row, transform=self.transform, occlude=self.occlude, return_dict=self.return_dict)


class ShardDataset(_Base, Dataset):
    """Map-style dataset: ``ds[i]`` reads one row through its row group (cached per worker).

    Pick it with ``DataLoader(ds, shuffle=True)`` (or a sampler over :attr:`targets`) for a full
    uniform shuffle, at the price of random reads: each item decodes from a cached row group, so
    a shuffled epoch reads about one row group per item unless the data fits in the cache.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        split: str | Sequence[str] | None = None,
        variants: str | Sequence[str] | None = None,
        occluded: bool | None = None,
        transform: Transform | None = None,
        occlude: Occlude | None = None,
        return_dict: bool = False,
        allow_partial: bool = False,
        labels: Literal["global", "split"] = "global",
        cache_row_groups: int = 4,
    ) -> None:
        """
        Args:
            path: a run's output folder ``OUT``, its ``dataset`` folder, or one Parquet file.
            split: keep only rows of this split (or these splits), e.g. ``"train"``.
            variants: keep only these variants; a name also selects the variants it prefixes
                before ``+`` or ``#`` (``"mask"``: ``mask+aug``, ``mask+aug#2``).
            occluded: keep only rows with (True) or without (False) an occluder.
            transform: called with the RGB ``PIL.Image``; returns the item's image (any type).
            occlude: online occluder ``(image, landmarks68, sample_id) -> image or (image, mask)``.
            return_dict: items are dicts (see :mod:`maskforge.torch.items`), not ``(image, label)``.
            allow_partial: read a run that has not finished (its done shards).
            labels: ``"global"``: the run's labels (``OUT/labels.csv``); ``"split"``: contiguous
                labels ``0..K-1`` over the identities the filters keep, in the run's label order
                (:attr:`labels`, :meth:`write_labels`).
            cache_row_groups: how many row groups each worker keeps in memory.

        Raises:
            ValueError: an unknown split or variant, or filters that keep no row.
            IncompleteRunError: the run has not finished and ``allow_partial`` is False.
        """
        self._rows = _Rows(path, split=split, variants=variants, occluded=occluded, allow_partial=allow_partial,
                           columns=item_columns(return_dict=return_dict, occlude=occlude is not None),
                           labels=labels)
        self.transform, self.occlude, self.return_dict = transform, occlude, return_dict
        self.cache_row_groups = cache_row_groups
        fis, rgs, rs, targets = [], [], [], []
        for fi, keep in enumerate(self._rows.keep):
            pos = np.flatnonzero(keep)
            offsets = self._rows.offsets[fi]
            rg = np.searchsorted(offsets, pos, side="right") - 1
            fis.append(np.full(len(pos), fi, np.int32))
            rgs.append(rg.astype(np.int32))
            rs.append((pos - offsets[rg]).astype(np.int32))
            targets.append(self._rows.row_labels[fi][pos])
        self._index = np.stack([np.concatenate(fis), np.concatenate(rgs), np.concatenate(rs)], axis=1)
        #: The label of every item, in index order (for samplers).
        self.targets: list[int] = np.concatenate(targets).astype(int).tolist()
        self._cache: OrderedDict[tuple[int, int], pa.Table] = OrderedDict()
        self._pq: dict[int, pq.ParquetFile] = {}

    def __len__(self) -> int:
        return len(self._index)

    def __getstate__(self) -> dict[str, Any]:
        """Workers start with an empty cache and no open files (picklable for spawn)."""
        state = dict(self.__dict__)
        state["_cache"], state["_pq"] = OrderedDict(), {}
        return state

    def _row_group(self, fi: int, rg: int) -> pa.Table:
        key = (fi, rg)
        table = self._cache.get(key)
        if table is None:
            pf = self._pq.get(fi)
            if pf is None:
                pf = self._pq[fi] = pq.ParquetFile(self._rows.files[fi])
            table = pf.read_row_group(rg, columns=self._rows.columns[fi])
            self._cache[key] = table
            while len(self._cache) > self.cache_row_groups:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return table

    def __getitem__(self, i: int) -> Any:
        fi, rg, r = (int(v) for v in self._index[i])
        return self._item(self._row_group(fi, rg).slice(r, 1).to_pylist()[0])


class ShardIterableDataset(_Base, IterableDataset):
    """Streams row groups, split across DataLoader workers and distributed ranks.

    Each worker of each rank reads a contiguous range of every shard's kept rows (see
    :mod:`maskforge.torch.order`), so every kept sample is yielded exactly once per epoch and
    every worker draws from all shards. With ``shuffle=True`` the ranges move every
    ``(seed, epoch)``, each worker reads its pieces in a seeded order and passes the rows through a
    shuffle buffer of ``shuffle_buffer`` rows. ``len()`` is this rank's rows per epoch. Call :meth:`set_epoch` before each epoch; it reaches
    the workers of a ``persistent_workers=True`` DataLoader too.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        split: str | Sequence[str] | None = None,
        variants: str | Sequence[str] | None = None,
        occluded: bool | None = None,
        transform: Transform | None = None,
        occlude: Occlude | None = None,
        return_dict: bool = False,
        allow_partial: bool = False,
        labels: Literal["global", "split"] = "global",
        shuffle: bool = False,
        seed: int = 0,
        shuffle_buffer: int = SHUFFLE_BUFFER,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        """
        Args:
            path, split, variants, occluded, transform, occlude, return_dict, allow_partial,
                labels: as for :class:`ShardDataset`.
            shuffle: a new seeded order every epoch (row groups, then a shuffle buffer).
            seed: seeds the order, with the epoch.
            shuffle_buffer: rows each worker holds to mix row groups (memory: about this many
                encoded rows, e.g. 8192 x ~5 KB for 112x112 JPEG crops).
            rank, world_size: this process's place in distributed training (default: from
                ``torch.distributed`` when initialised, else 0 and 1).

        Raises:
            ValueError: an unknown split or variant, or filters that keep no row.
            IncompleteRunError: the run has not finished and ``allow_partial`` is False.
        """
        if shuffle_buffer < 1:
            raise ValueError("shuffle_buffer must be at least 1 row")
        self._rows = _Rows(path, split=split, variants=variants, occluded=occluded, allow_partial=allow_partial,
                           columns=item_columns(return_dict=return_dict, occlude=occlude is not None),
                           labels=labels)
        self.transform, self.occlude, self.return_dict = transform, occlude, return_dict
        self._groups = self._rows.group_rows()
        if rank is None or world_size is None:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
            else:
                rank, world_size = 0, 1
        self.rank, self.world_size = rank, world_size
        self.shuffle, self.seed, self.shuffle_buffer = shuffle, seed, shuffle_buffer
        self._epoch = SharedEpoch(0)

    @property
    def epoch(self) -> int:
        return self._epoch.get()

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` from the next ``iter()`` on (in every worker)."""
        self._epoch.set(epoch)

    def __len__(self) -> int:
        """Rows this rank yields per epoch (all its DataLoader workers together): the rows the
        filters keep when ``world_size`` is 1; ranks differ by at most one row. The same every
        epoch and for any ``num_workers``, so LR schedulers can use it."""
        return rank_rows(self._groups, self.rank, self.world_size)

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        wid, nworkers = (info.id, info.num_workers) if info is not None else (0, 1)
        consumer = self.rank * nworkers + wid
        epoch = self._epoch.get()
        mine = consumer_pieces(
            self._groups, rank=self.rank, world_size=self.world_size, worker=wid, num_workers=nworkers,
            shuffle=self.shuffle, seed=self.seed, epoch=epoch,
        )
        files: dict[int, pq.ParquetFile] = {}
        rows: Iterator[dict[str, Any]] = (
            row for p in mine for row in self._rows.read(p.file, p.row_group, files, p.start, p.stop)
        )
        if self.shuffle:
            rows = buffer_shuffle(rows, self.shuffle_buffer, rng_for(self.seed, BUFFER, epoch, consumer))
        for row in rows:
            yield self._item(row)
