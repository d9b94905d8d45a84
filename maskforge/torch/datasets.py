"""Map-style and iterable datasets over Parquet shards (see the package docstring)."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from ..errors import OutputError
from ..io.decode import decode_image
from ..io.reader import shard_files

_FILTER_COLUMNS = ["split", "variant"]


def _files(path: str | os.PathLike[str]) -> list[Path]:
    p = Path(path)
    if p.is_file():
        return [p]
    folder = p / "dataset" if (p / "dataset").is_dir() else p
    files = shard_files(folder)
    if not files:
        raise OutputError(f"no completed shards under {str(p)!r}; run `maskforge run` first")
    return files


def _wanted(value: str | None, allowed: set[str] | None) -> bool:
    return allowed is None or value in allowed


def _as_set(value: str | Sequence[str] | None) -> set[str] | None:
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def decode_row(
    row: dict[str, Any],
    *,
    transform: Callable[[Image.Image], Any] | None = None,
    occlude: Callable[..., Any] | None = None,
    return_dict: bool = False,
) -> Any:
    """Turn one Parquet row (a dict) into a training item."""
    image = decode_image(row["image"])
    mask = None
    if row.get("occlusion_mask") is not None:
        mask = decode_image(row["occlusion_mask"])[..., 0] > 127
    lm68 = row.get("landmarks68")
    if occlude is not None and lm68 is not None:
        result = occlude(image, np.asarray(lm68, np.float32), row["sample_id"])
        if isinstance(result, tuple):
            image, extra = result
            mask = extra if mask is None else (mask | extra)
        else:
            image = result
    if transform is not None:
        tensor = transform(Image.fromarray(image))
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    label = int(row["label"])
    if not return_dict:
        return tensor, label
    item: dict[str, Any] = {
        "image": tensor,
        "label": label,
        "sample_id": row["sample_id"],
        "identity": row["identity"],
        "variant": row["variant"],
        "occlusion_mask": None if mask is None else torch.from_numpy(mask.astype(np.uint8)),
    }
    for key in ("landmarks5", "landmarks68"):
        v = row.get(key)
        item[key] = None if v is None else torch.tensor(np.asarray(v, np.float32))
    return item


class _Common:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        split: str | Sequence[str] | None = None,
        variants: str | Sequence[str] | None = None,
        transform: Callable[[Image.Image], Any] | None = None,
        occlude: Callable[..., Any] | None = None,
        return_dict: bool = False,
    ) -> None:
        self.files = _files(path)
        self.split = _as_set(split)
        self.variants = _as_set(variants)
        self.transform = transform
        self.occlude = occlude
        self.return_dict = return_dict

    def _keep(self, split: str | None, variant: str | None) -> bool:
        return _wanted(split, self.split) and _wanted(variant, self.variants)

    def _item(self, row: dict[str, Any]) -> Any:
        return decode_row(
            row, transform=self.transform, occlude=self.occlude, return_dict=self.return_dict
        )


class ShardDataset(_Common, Dataset):
    """Map-style dataset: ``ds[i]`` reads one row through its row group (cached per worker).

    Args:
        path: a run's output folder, its ``dataset`` folder, or one Parquet file.
        split: keep only rows of this split (or these splits), e.g. ``"train"``.
        variants: keep only these variants, e.g. ``["original", "mask+aug"]``.
        transform: callable applied to the ``PIL.Image`` (e.g. torchvision transforms).
        occlude: online occluder ``(image, landmarks68, sample_id) -> image or (image, mask)``.
        return_dict: return a dict (see the package docstring) instead of ``(image, label)``.
        cache_row_groups: how many decoded row groups each worker keeps.
    """

    def __init__(self, path: str | os.PathLike[str], *, cache_row_groups: int = 4, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.cache_row_groups = cache_row_groups
        index: list[tuple[int, int, int]] = []
        for fi, f in enumerate(self.files):
            pf = pq.ParquetFile(f)
            t = pf.read(columns=_FILTER_COLUMNS)
            splits = t.column("split").to_pylist()
            variants = t.column("variant").to_pylist()
            start = 0
            for rg in range(pf.num_row_groups):
                n = pf.metadata.row_group(rg).num_rows
                for r in range(n):
                    if self._keep(splits[start + r], variants[start + r]):
                        index.append((fi, rg, r))
                start += n
        self.index = index
        self._cache: OrderedDict[tuple[int, int], list[dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.index)

    def _row_group(self, fi: int, rg: int) -> list[dict[str, Any]]:
        key = (fi, rg)
        rows = self._cache.get(key)
        if rows is None:
            rows = pq.ParquetFile(self.files[fi]).read_row_group(rg).to_pylist()
            self._cache[key] = rows
            while len(self._cache) > self.cache_row_groups:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return rows

    def __getitem__(self, i: int) -> Any:
        fi, rg, r = self.index[i]
        return self._item(self._row_group(fi, rg)[r])

    def labels(self) -> list[int]:
        """The label of every item, in index order (for samplers)."""
        out = []
        for fi, f in enumerate(self.files):
            labels = pq.read_table(f, columns=["label"]).column("label").to_pylist()
            pf = pq.ParquetFile(f)
            offsets = np.cumsum([0] + [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)])
            out.extend(labels[offsets[rg] + r] for ffi, rg, r in self.index if ffi == fi)
        return out


class ShardIterableDataset(_Common, IterableDataset):
    """Streams row groups, split across DataLoader workers and distributed ranks.

    The unit of distribution is a row group: consumer ``k`` of ``K`` (``K = world_size x
    num_workers``) reads row groups ``k, k+K, k+2K, ...``, so every sample is yielded exactly once
    per epoch. ``shuffle=True`` permutes row groups and rows within them with a generator seeded by
    ``(seed, epoch)``; call :meth:`set_epoch` each epoch.

    Args (besides those of :class:`ShardDataset`):
        rank, world_size: this process's place in distributed training (default: from
            ``torch.distributed`` when initialised, else 0 and 1).
        shuffle, seed: see above.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        rank: int | None = None,
        world_size: int | None = None,
        shuffle: bool = False,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(path, **kwargs)
        self.units = [
            (fi, rg) for fi, f in enumerate(self.files) for rg in range(pq.ParquetFile(f).num_row_groups)
        ]
        if rank is None or world_size is None:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
            else:
                rank, world_size = 0, 1
        self.rank, self.world_size = rank, world_size
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        wid, nworkers = (info.id, info.num_workers) if info is not None else (0, 1)
        consumer = self.rank * nworkers + wid
        total = self.world_size * nworkers
        rng = np.random.default_rng([self.seed, self.epoch])
        units = list(self.units)
        if self.shuffle:
            units = [units[i] for i in rng.permutation(len(units))]
        for fi, rg in units[consumer::total]:
            rows = pq.ParquetFile(self.files[fi]).read_row_group(rg).to_pylist()
            order = rng.permutation(len(rows)) if self.shuffle else range(len(rows))
            for r in order:
                row = rows[r]
                if self._keep(row.get("split"), row.get("variant")):
                    yield self._item(row)
