"""maskforge: clean, masked, augmented face-recognition training sets from identity folders.

The public entry points:

- :func:`read_shards` — a ``pyarrow.dataset.Dataset`` over a run's output shards;
- :func:`run` — run a recipe (what ``maskforge run`` does);
- :func:`list_samples`, :func:`decode_image` — the dataset reader and the image decoder;
- the exceptions of :mod:`maskforge.errors`, all subclasses of :class:`MaskforgeError`.

``import maskforge`` stays cheap: each entry point imports its module (pyarrow, OpenCV, Ray...)
when it is called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .errors import (
    AssetError,
    BoundError,
    ClusterError,
    CorruptFileError,
    DamagedManifestError,
    DecodeError,
    DeviceError,
    EvalError,
    IncompleteRunError,
    LicenceError,
    MaskforgeError,
    ModelFileMissingError,
    ModelNotFoundError,
    OutputError,
    OutputLockedError,
    RecipeError,
    SourceError,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow.dataset as ds

    from .io.sources import Listing
    from .pipeline import RunResult
    from .pipeline.records import ShardStats
    from .recipe import Recipe

__version__ = "0.1.0"


def run(
    recipe: Recipe | str | os.PathLike[str],
    *,
    input: str | os.PathLike[str] | None = None,  # noqa: A002 - the CLI's --input
    output: str | os.PathLike[str] | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    executor: str = "ray",
    resume: bool = True,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    address: str | None = None,
    progress: Callable[[ShardStats], None] | None = None,
    monitor: Callable[[Any], None] | None = None,
    early_start: bool = True,
) -> RunResult:
    """Run a recipe: what ``maskforge run`` does (the keyword arguments are its flags' names,
    gathered once into a :class:`maskforge.pipeline.RunOptions`).

    Args:
        recipe: a recipe file (TOML) or a loaded :class:`maskforge.recipe.Recipe`.
        input: the input dataset folder (default: the recipe's ``input``).
        output: the output folder ``OUT`` (default: the recipe's ``output``).
        overrides: ``"key=value"`` strings, like ``--set``.
        executor: ``"ray"`` (default) or ``"local"`` (one process; tests, tiny inputs).
        resume: reuse the shards already done (``False``: ``--restart``).
        num_cpus, num_gpus, address: Ray resources and cluster (default: the recipe's ``[ray]``).
        progress: called with each shard's stats (:class:`maskforge.pipeline.records.ShardStats`)
            as it finishes.
        monitor: called a few times a second with a :class:`maskforge.pipeline.progress.Snapshot`:
            input images each task has handled, of how many, and what each worker pool is doing
            (the CLI's progress bar).
        early_start: on Ray, start Ray and load the actors' models while the input is listed
            and planned, where this process has not imported Ray before (a process that had a
            Ray session can abort in Ray's core when Ray starts from a background thread);
            ``$MASKFORGE_EARLY_RAY=1`` or ``0`` forces it on or off.

    Returns:
        the run's :class:`maskforge.pipeline.RunResult` (output folder, per-shard stats, counts).

    Ray is imported only when this is called.
    """
    from .pipeline import RunOptions, run_recipe

    options = RunOptions(
        input=input, output=output, overrides=tuple(overrides), executor=executor, resume=resume,
        num_cpus=num_cpus, num_gpus=num_gpus, address=address, progress=progress, monitor=monitor,
        early_start=early_start,
    )  # fmt: skip
    return run_recipe(recipe, options)


def read_shards(
    path: str | os.PathLike[str], *, table: str = "dataset", allow_partial: bool = False
) -> ds.Dataset:
    """A ``pyarrow.dataset.Dataset`` over a run's shards (see :func:`maskforge.io.reader.read_shards`);
    raises :class:`IncompleteRunError` for an unfinished run unless ``allow_partial``."""
    from .io.reader import read_shards as _read_shards

    return _read_shards(path, table=table, allow_partial=allow_partial)


def list_samples(
    source: str | os.PathLike[str], *, exclude: Iterable[str | os.PathLike[str]] = ()
) -> Listing:
    """The samples of an identity-folder dataset or a ``.csv``/``.parquet`` list (see
    :func:`maskforge.io.sources.list_samples`)."""
    from .io.sources import list_samples as _list_samples

    return _list_samples(source, exclude=exclude)


def decode_image(
    source: bytes | str | os.PathLike[str], *, max_pixels: int | None = None, min_side: int | None = None
) -> np.ndarray:
    """An RGB uint8 ``(H, W, 3)`` image from encoded bytes or a path (see
    :func:`maskforge.io.decode.decode_image`; ``None``: its default limits). Raises
    :class:`DecodeError`."""
    from .io.decode import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
    from .io.decode import decode_image as _decode_image

    return _decode_image(
        source,
        max_pixels=DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels,
        min_side=DEFAULT_MIN_SIDE if min_side is None else min_side,
    )


__all__ = [
    "AssetError",
    "BoundError",
    "ClusterError",
    "CorruptFileError",
    "DamagedManifestError",
    "DecodeError",
    "DeviceError",
    "EvalError",
    "IncompleteRunError",
    "LicenceError",
    "MaskforgeError",
    "ModelFileMissingError",
    "ModelNotFoundError",
    "OutputError",
    "OutputLockedError",
    "RecipeError",
    "SourceError",
    "__version__",
    "decode_image",
    "list_samples",
    "read_shards",
    "run",
]
