"""Training items made from Parquet rows, and the collate function for them.

An item is ``(image, label)`` or, with ``return_dict=True``, a dict whose every value collates:

| key | value |
|---|---|
| ``image`` | what ``transform`` returned, else a float32 tensor ``(3, H, W)`` in ``[0, 1]`` |
| ``label`` | int, the identity's label (``labels.csv``) |
| ``sample_id``, ``identity``, ``variant``, ``split`` | str (``split`` is ``""`` when the run has none) |
| ``occluded`` | bool: an occluder covers part of the face (stored, or drawn online) |
| ``occlusion_mask`` | uint8 tensor ``(H, W)``, 1 where covered; all zeros when nothing is |
| ``landmarks5``, ``landmarks68`` | float32 tensors ``(5, 2)`` / ``(68, 2)``, ``(x, y)`` in pixels of the stored image; NaN when the run has no landmarks |

``transform`` only sees the image: the mask and the landmarks stay in the stored image's frame
(``H, W`` of the stored image). A transform that moves pixels (crop, flip, resize) therefore
leaves them behind; use geometric augmentation at build time (``[augment]``), which moves them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..io.decode import decode_image

#: Columns an item is made from (others, such as ``embedding``, are never read for training).
ITEM_COLUMNS = [
    "sample_id", "identity", "label", "variant", "split", "image", "landmarks5", "landmarks68",
    "occlusion_mask", "occluders", "occluded",
]
#: The columns the ``(image, label)`` form needs without an online occluder.
TUPLE_COLUMNS = ["sample_id", "label", "image", "occluders", "occluded"]


def item_columns(*, return_dict: bool, occlude: bool) -> list[str]:
    """The columns to read for an item form: fewer columns, less memory per buffered row."""
    if return_dict:
        return list(ITEM_COLUMNS)
    return [*TUPLE_COLUMNS, "landmarks68"] if occlude else list(TUPLE_COLUMNS)


def _points(value: Any, n: int) -> torch.Tensor:
    if value is None:
        return torch.full((n, 2), float("nan"))
    return torch.tensor(np.asarray(value, np.float32))


def _stored_mask(row: dict[str, Any], shape: tuple[int, int]) -> np.ndarray:
    data = row.get("occlusion_mask")
    if data is None:
        return np.zeros(shape, bool)
    return decode_image(data)[..., 0] > 127


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """An RGB uint8 ``(H, W, 3)`` image as a float32 tensor ``(3, H, W)`` in ``[0, 1]``.

    Computed in numpy (one thread): torch's element-wise ops on a ~40k-element tensor start its
    intra-op thread pool, which costs milliseconds per image on a busy machine.
    """
    chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    np.divide(chw, 255.0, out=chw)
    return torch.from_numpy(chw)


def row_occluded(row: dict[str, Any]) -> bool:
    """The row's ``occluded`` flag (derived from ``occluders`` for files written before it)."""
    flag = row.get("occluded")
    return bool(row.get("occluders")) if flag is None else bool(flag)


def decode_row(
    row: dict[str, Any],
    *,
    transform: Callable[[Image.Image], Any] | None = None,
    occlude: Callable[..., Any] | None = None,
    return_dict: bool = False,
) -> Any:
    """Turn one Parquet row (a dict) into a training item (see the module docstring).

    Args:
        row: a row of a dataset shard, as ``pyarrow`` ``to_pylist`` gives it.
        transform: called with the RGB ``PIL.Image`` (after ``occlude``); it may return anything
            (usually a tensor). Without it the image becomes a float tensor ``(3, H, W)`` in [0, 1].
        occlude: online occluder ``(image uint8 (H, W, 3), landmarks68 float32 (68, 2),
            sample_id) -> image`` or ``(image, mask bool (H, W))``; not called without landmarks.
        return_dict: return the dict form instead of ``(image, label)``.
    """
    image = decode_image(row["image"])
    mask = _stored_mask(row, image.shape[:2]) if return_dict else None
    occluded = row_occluded(row)
    lm68 = row.get("landmarks68")
    if occlude is not None and lm68 is not None:
        result = occlude(image, np.asarray(lm68, np.float32), row["sample_id"])
        if isinstance(result, tuple):
            image, extra = result
            occluded = occluded or bool(np.any(extra))
            if mask is not None:
                mask |= np.asarray(extra, bool)
        else:
            image = result
    if transform is not None:
        tensor = transform(Image.fromarray(image))
    else:
        tensor = to_tensor(image)
    label = int(row["label"])
    if not return_dict:
        return tensor, label
    assert mask is not None  # read above whenever return_dict
    return {
        "image": tensor,
        "label": label,
        "sample_id": row["sample_id"],
        "identity": row["identity"],
        "variant": row["variant"],
        "split": row.get("split") or "",
        "occluded": occluded,
        "occlusion_mask": torch.from_numpy(mask.astype(np.uint8)),
        "landmarks5": _points(row.get("landmarks5"), 5),
        "landmarks68": _points(row.get("landmarks68"), 68),
    }


def _stack(values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        if all(isinstance(v, torch.Tensor) and v.shape == first.shape for v in values):
            return torch.stack(values)
        return list(values)  # images of different sizes: keep them as a list
    if isinstance(first, bool):
        return torch.tensor(values, dtype=torch.bool)
    if isinstance(first, int):
        return torch.tensor(values, dtype=torch.int64)
    return list(values)


def collate(items: Sequence[Any]) -> Any:
    """Batch items of :class:`ShardDataset` / :class:`ShardIterableDataset`, either form.

    Tensors of one shape are stacked (``image`` ``(B, 3, H, W)``, ``occlusion_mask`` ``(B, H, W)``,
    landmarks ``(B, K, 2)``); tensors of different shapes (e.g. ``original`` images of
    different sizes, without a resizing transform) stay a list; ``label`` becomes an int64 tensor,
    ``occluded`` a bool tensor, strings a list. ``torch.utils.data.default_collate`` gives the same
    batches when every image has one size; pass ``collate_fn=collate`` otherwise.
    """
    if not items:
        raise ValueError("collate() needs at least one item")
    if isinstance(items[0], dict):
        return {k: _stack([it[k] for it in items]) for k in items[0]}
    return tuple(_stack(list(col)) for col in zip(*items, strict=True))
