"""Exception classes of maskforge.

Every error a user can meet is one of these, with a message that says what to do.
"""

from __future__ import annotations


class MaskforgeError(Exception):
    """Base class of every maskforge error."""


class RecipeError(MaskforgeError):
    """A recipe (TOML) or a ``--set`` override is invalid: unknown key, wrong type, bad value."""


class SourceError(MaskforgeError):
    """The input dataset cannot be listed (missing folder, bad list file, no images)."""


class DecodeError(MaskforgeError):
    """An image cannot be decoded. ``reason`` is a short machine-readable code
    (``empty_file``, ``truncated``, ``corrupt``, ``not_an_image``, ``too_many_pixels``,
    ``too_small``, ``unreadable``), ``detail`` a human explanation."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ModelNotFoundError(MaskforgeError):
    """A model file (dlib predictor, detector, embedder weights) is not available."""


class DeviceError(MaskforgeError):
    """A compute device (CUDA GPU) is missing, out of memory or failed; the run stops."""


class AssetError(MaskforgeError):
    """An occluder asset (PNG + JSON sidecar) is missing or malformed."""


class OutputError(MaskforgeError):
    """An output folder is unusable (written by another recipe, not writable, corrupt shard)."""


class IncompleteRunError(OutputError):
    """A run's output is read before the run finished (its manifest is missing or not
    ``complete``). Rerun the same ``maskforge run`` to finish it, or pass ``allow_partial=True``
    to read the shards that are done."""


class EvalError(MaskforgeError):
    """An evaluation cannot run: a ``--model`` that cannot be loaded, or an embedding function
    that returns something other than one finite ``(N, D)`` row per crop."""


class ModelFileMissingError(ModelNotFoundError):
    """A model file the recipe or command names (an ONNX detector or embedder, a model-pack
    folder) is not there. maskforge never downloads weights: the message says where to put the
    file and how to point maskforge at it."""


class LicenceError(MaskforgeError):
    """A model the recipe or command would use has a licence that excludes the use asked for
    (``licence = "commercial"``). The message names each such model and its licence."""
