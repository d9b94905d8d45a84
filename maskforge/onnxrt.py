"""Your own ONNX models through onnxruntime: ``onnx:PATH`` names, sessions, execution providers.

A detector or embedder named ``onnx:PATH`` (``[detect] detector``, ``[embed] embedder``,
``--embedder``) is the ONNX file at ``PATH``. maskforge never downloads weights: a missing file
raises :class:`~maskforge.errors.ModelFileMissingError` saying where to put it. The file's SHA-256
(:func:`sha256_file`) identifies the model in cache keys and manifests; its path does not.

Execution providers follow the device names of :mod:`maskforge.device`: ``cpu`` runs on
``CPUExecutionProvider``; ``cuda`` / ``cuda:N`` on ``CUDAExecutionProvider`` (GPU ``N``), a
:class:`~maskforge.errors.DeviceError` when this onnxruntime build has no CUDA provider; ``auto``
takes CUDA when the build offers it, else the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .device import check_device
from .errors import DeviceError, ModelFileMissingError, RecipeError
from .models import sha256_file

#: The prefix that names an ONNX model file in a detector or embedder name.
ONNX_PREFIX = "onnx:"
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def onnx_path(name: str) -> Path | None:
    """The file of an ``onnx:PATH`` name (``~`` expanded), or None for any other name."""
    if not isinstance(name, str) or not name.startswith(ONNX_PREFIX):
        return None
    return Path(name[len(ONNX_PREFIX) :]).expanduser()


def absolute_name(name: str) -> str:
    """An ``onnx:PATH`` name with its path made absolute (``~`` expanded, relative to the current
    folder), so every worker finds the same file; other names unchanged."""
    path = onnx_path(name)
    if path is None or not str(path):
        return name
    return f"{ONNX_PREFIX}{path.absolute()}"


def is_onnx(name: str) -> bool:
    """True for an ``onnx:PATH`` name (with a non-empty path)."""
    return isinstance(name, str) and name.startswith(ONNX_PREFIX) and len(name) > len(ONNX_PREFIX)


def require_file(path: str | Path, role: str, option: str) -> Path:
    """``path`` if it is a file; else ModelFileMissingError for the ``role`` model (e.g. "ONNX
    detector") named by ``option`` (e.g. ``[detect] detector = "onnx:PATH"``)."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    where = "is a folder, not a file" if p.is_dir() else "does not exist"
    raise ModelFileMissingError(
        f"{role} {str(p)!r} {where}. maskforge never downloads weights: copy the .onnx file to "
        f"{p.resolve()} (or elsewhere and change {option}), or give --models DIR with an "
        "insightface model-pack folder (det_*.onnx, w600k_*.onnx)"
    )


def _env_threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def cuda_available() -> bool:
    """Whether the installed onnxruntime offers the CUDA execution provider."""
    import onnxruntime

    return CUDA in onnxruntime.get_available_providers()


def providers_for(device: str, available: list[str] | None = None) -> list[Any]:
    """onnxruntime providers for a maskforge device name (module doc). ``available``: the
    build's providers (default ``onnxruntime.get_available_providers()``)."""
    check_device(device)
    if available is None:
        import onnxruntime

        available = list(onnxruntime.get_available_providers())
    if device == "cpu" or (device == "auto" and CUDA not in available):
        return [CPU]
    if CUDA not in available:
        raise DeviceError(
            f"device {device!r} needs onnxruntime's {CUDA}, but this onnxruntime offers only "
            f"{', '.join(available)}; install onnxruntime-gpu, or set device = \"cpu\""
        )
    index = int(device.split(":")[1]) if ":" in device else 0
    return [(CUDA, {"device_id": index}), CPU]


@dataclass(frozen=True)
class Port:
    """One input or output of an ONNX graph: its name and shape (ints, or None where the
    dimension is symbolic)."""

    name: str
    shape: tuple[int | None, ...]


def _ports(items: Any) -> list[Port]:
    return [Port(p.name, tuple(d if isinstance(d, int) else None for d in p.shape)) for p in items]


class OnnxModel:
    """An onnxruntime session over one ONNX file, with its inputs, outputs and identity.

    Args:
        path: the ``.onnx`` file (ModelFileMissingError when absent).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (module doc).
        threads: onnxruntime intra-op threads (None: ``$OMP_NUM_THREADS`` when set, as in a Ray
            actor limited to its CPU share, else onnxruntime's default of one per core).
        role, option: how the missing-file message names the model (see :func:`require_file`).
    """

    def __init__(
        self,
        path: str | Path,
        device: str = "auto",
        threads: int | None = None,
        role: str = "ONNX model",
        option: str = "the onnx:PATH name",
    ) -> None:
        import onnxruntime

        self.path = require_file(path, role, option)
        self.providers = providers_for(device)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        threads = threads or _env_threads()
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), sess_options=options, providers=self.providers
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own unrelated types
            raise ModelFileMissingError(
                f"{role} {str(self.path)!r} is not a readable ONNX model ({exc}); replace it "
                "with the original .onnx file"
            ) from exc
        self.inputs = _ports(self.session.get_inputs())
        self.outputs = _ports(self.session.get_outputs())
        self.device = "cuda" if CUDA in self.session.get_providers() else "cpu"

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the weights file."""
        return sha256_file(self.path)

    def run(self, feed: Any) -> list[Any]:
        """All outputs, in graph order, for the one input ``feed`` (a float32 array)."""
        return list(self.session.run(None, {self.inputs[0].name: feed}))


#: Output counts of the detector layouts (see :mod:`maskforge.detect.scrfd`).
DETECTOR_OUTPUTS = (6, 9, 10, 15)


@lru_cache(maxsize=64)
def _role_cached(path: str, size: int, mtime_ns: int) -> str | None:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(path, sess_options=options, providers=[CPU])
    except Exception:  # noqa: BLE001 - not a model onnxruntime can read: no role
        return None
    inputs, outputs = _ports(session.get_inputs()), _ports(session.get_outputs())
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        return None
    if len(outputs) in DETECTOR_OUTPUTS:
        return "detector"
    h, w = inputs[0].shape[2:]
    if len(outputs) == 1 and len(outputs[0].shape) == 2 and h == w == 112:
        return "embedder"
    return None


def model_role(path: str | Path) -> str | None:
    """``"detector"`` (one image input, 6/9/10/15 outputs: SCRFD / RetinaFace-style),
    ``"embedder"`` (one ``(N, 3, 112, 112)`` input, one ``(N, D)`` output) or None (landmark,
    attribute and other models), read from the graph's signature."""
    p = Path(path).resolve()
    st = p.stat()
    return _role_cached(str(p), st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class ModelPack:
    """The models of an insightface model-pack folder: the ``onnx:PATH`` names of its detector
    and its embedder (None when the folder has none)."""

    folder: Path
    detector: str | None
    embedder: str | None

    def require(self, role: str) -> str:
        """The ``onnx:PATH`` name of the pack's ``detector`` or ``embedder``;
        ModelFileMissingError when the pack has none."""
        name = self.detector if role == "detector" else self.embedder
        if name is None:
            example = "det_10g.onnx" if role == "detector" else "w600k_r50.onnx"
            raise ModelFileMissingError(
                f"model folder {str(self.folder)!r} holds no ONNX {role}: copy the pack's "
                f"{role} file (e.g. {example}) into it"
            )
        return name

    def overrides(self) -> dict[str, str]:
        """The recipe keys the pack sets, as ``--set`` overrides: ``detect.detector`` and
        ``embed.embedder`` (each only when the pack has that model)."""
        out = {}
        if self.detector:
            out["detect.detector"] = self.detector
        if self.embedder:
            out["embed.embedder"] = self.embedder
        return out


def model_pack(folder: str | Path) -> ModelPack:
    """Resolve an insightface model-pack folder (``buffalo_l``: ``det_10g.onnx``,
    ``w600k_r50.onnx``, and landmark / attribute models that are ignored): each ``*.onnx`` is
    classified by :func:`model_role`. ModelFileMissingError when the folder is missing or holds
    no detector and no embedder; RecipeError when it holds two of a kind (name one with
    ``onnx:PATH``)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ModelFileMissingError(
            f"model folder {str(root)!r} does not exist. maskforge never downloads weights: put an "
            "insightface model pack there (e.g. buffalo_l's det_10g.onnx and w600k_r50.onnx), or "
            "point --models at the folder that holds it"
        )
    found: dict[str, list[Path]] = {"detector": [], "embedder": []}
    for path in sorted(root.glob("*.onnx")):
        role = model_role(path) if path.is_file() else None
        if role is not None:
            found[role].append(path)
    if not found["detector"] and not found["embedder"]:
        raise ModelFileMissingError(
            f"model folder {str(root)!r} holds no ONNX face detector (det_*.onnx) and no ONNX "
            "embedder (w600k_*.onnx): copy the model pack's .onnx files into it"
        )
    for role, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            raise RecipeError(
                f"model folder {str(root)!r} holds {len(paths)} ONNX {role}s ({names}); name the "
                f"one to use with onnx:PATH"
            )
    det, emb = found["detector"], found["embedder"]
    return ModelPack(
        root,
        f"{ONNX_PREFIX}{det[0]}" if det else None,
        f"{ONNX_PREFIX}{emb[0]}" if emb else None,
    )
