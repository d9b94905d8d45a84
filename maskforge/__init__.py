"""maskforge: clean, masked, augmented face-recognition training sets from identity folders.

The public entry points:

- :func:`read_shards` — a ``pyarrow.dataset.Dataset`` over a run's output shards;
- :func:`run` — run a recipe (what ``maskforge run`` does);
- :func:`list_samples`, :func:`decode_image` — the dataset reader and the image decoder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    AssetError,
    DecodeError,
    DeviceError,
    MaskforgeError,
    ModelNotFoundError,
    OutputError,
    RecipeError,
    SourceError,
)

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import RunResult
    from .recipe import Recipe

_LAZY = {
    "decode_image": ("maskforge.io.decode", "decode_image"),
    "read_shards": ("maskforge.io.reader", "read_shards"),
    "list_samples": ("maskforge.io.sources", "list_samples"),
}


def __getattr__(name: str):  # noqa: ANN202 - keeps `import maskforge` (and every CLI command) fast
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'maskforge' has no attribute {name!r}")


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
    progress: Callable[[dict[str, Any]], None] | None = None,
    monitor: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run a recipe: what ``maskforge run`` does (see :func:`maskforge.pipeline.run`).

    Args:
        recipe: a recipe file (TOML) or a loaded :class:`maskforge.recipe.Recipe`.
        input: the input dataset folder (default: the recipe's ``input``).
        output: the output folder ``OUT`` (default: the recipe's ``output``).
        overrides: ``"key=value"`` strings, like ``--set``.
        executor: ``"ray"`` (default) or ``"local"`` (one process; tests, tiny inputs).
        resume: reuse the shards already done (``False``: ``--restart``).
        num_cpus, num_gpus, address: Ray resources and cluster (default: the recipe's ``[ray]``).
        progress: called with each shard's stats as it finishes.
        monitor: called a few times a second with a :class:`maskforge.pipeline.progress.Snapshot`:
            input images each task has handled, of how many, and what each worker pool is doing
            (the CLI's progress bar).

    Returns:
        the run's :class:`maskforge.pipeline.RunResult` (output folder, per-shard stats, counts).

    Ray is imported only when this is called.
    """
    from .pipeline import run as _run

    return _run(
        recipe, input=input, output=output, overrides=overrides, executor=executor, resume=resume,
        num_cpus=num_cpus, num_gpus=num_gpus, address=address, progress=progress,
        monitor=monitor,
    )


__all__ = [
    "AssetError",
    "DecodeError",
    "DeviceError",
    "MaskforgeError",
    "ModelNotFoundError",
    "OutputError",
    "RecipeError",
    "SourceError",
    "__version__",
    "decode_image",
    "list_samples",
    "read_shards",
    "run",
]
