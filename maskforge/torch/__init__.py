"""PyTorch datasets over a maskforge run's Parquet shards.

- :class:`ShardDataset` — map-style, random access through the shards' row groups; use it with
  ``DataLoader(shuffle=True)`` for a full uniform shuffle (random reads).
- :class:`ShardIterableDataset` — streams row groups (sequential reads), split across DataLoader
  workers and distributed ranks so that every sample is yielded exactly once per epoch; with
  ``shuffle=True``, a seeded, epoch-aware order that mixes identities (row groups permuted, rows
  through a shuffle buffer).

Both read exactly the run's shards (``maskforge.io.reader.dataset_files``), refuse unknown
``split`` / ``variants`` values, expose the label space (:attr:`labels`, :attr:`num_classes`),
decode ``image`` to RGB, optionally draw an occluder online from ``landmarks68`` (``occlude=``),
then apply ``transform`` (which receives a ``PIL.Image``). Items are ``(image, label)`` or, with
``return_dict=True``, dicts that always collate (see :mod:`maskforge.torch.items` and
:func:`collate`).
"""

from .datasets import SHUFFLE_BUFFER, ShardDataset, ShardIterableDataset
from .items import collate, decode_row

__all__ = ["SHUFFLE_BUFFER", "ShardDataset", "ShardIterableDataset", "collate", "decode_row"]
