"""PyTorch datasets over a maskforge run's Parquet shards.

- :class:`ShardDataset` — map-style, random access through the shards' row groups (an index of
  ``(file, row group, row)`` built once from Parquet metadata and the small filter columns).
- :class:`ShardIterableDataset` — streams row groups; splits them across DataLoader workers and
  distributed ranks so that every sample is yielded exactly once per epoch.

Both decode ``image`` to RGB, optionally draw an occluder online from the stored ``landmarks68``
(``occlude=``, e.g. :class:`maskforge.occlude.Occlude`), then apply the user's ``transform``
(which receives a ``PIL.Image``, as torchvision transforms expect). Without a transform the image
becomes a float tensor ``(3, H, W)`` in ``[0, 1]``. Items are ``(image, label)`` or, with
``return_dict=True``, a dict with ``image``, ``label``, ``sample_id``, ``identity``, ``variant``,
``landmarks5``/``landmarks68`` (float32 tensors in image pixels) and ``occlusion_mask`` (uint8
tensor ``(H, W)``, 1 where covered, or None).
"""

from .datasets import ShardDataset, ShardIterableDataset, decode_row

__all__ = ["ShardDataset", "ShardIterableDataset", "decode_row"]
