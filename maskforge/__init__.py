"""maskforge: clean, masked, augmented face-recognition training sets from identity folders.

The public entry points:

- :func:`read_shards` — a ``pyarrow.dataset.Dataset`` over a run's output shards;
- :func:`run` — run a recipe (what ``maskforge run`` does);
- :func:`list_samples`, :func:`decode_image` — the dataset reader and the image decoder.
"""

from __future__ import annotations

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


def run(*args, **kwargs):  # noqa: ANN002, ANN003
    """Run a recipe; see :func:`maskforge.pipeline.run` (imported lazily: Ray is heavy)."""
    from .pipeline import run as _run

    return _run(*args, **kwargs)


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
