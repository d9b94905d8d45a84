"""Evaluation sets to exclude from training: which images, under which identity names.

An :class:`EvalSet` lists image files (absolute paths) and their identity names; embedding them
is the caller's work (detect + embed, as for the training images). Loaders by kind:

- ``pairs``: an LFW-style ``pairs.txt`` (or pairs ``.csv``, read by
  :func:`maskforge.eval.pairs.read_pairs`) with its image folder: every image a pair names;
- ``folder``: a folder of identity folders (:func:`maskforge.io.sources.list_samples`);
- ``bin``: an insightface ``.bin`` verification set (:func:`maskforge.io.verification_bin.read_bin`):
  aligned 112x112 faces carried as bytes (``EvalSet.images``), keyed ``<file>#<index>``. A
  ``.bin`` names no people: the two images of a same-person pair get one name (``<file>#pair<k>``),
  every other image its own, so only the ``image`` and ``face`` signals can match (never the
  name). Its faces are aligned: a run embeds them with ``[detect] aligned = "arcface-112"``.

**Extension point**: another kind registers itself with ``register_loader(kind, fn)``,
``fn(spec) -> EvalSet`` (and :func:`kind_of` names it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import SourceError
from ..eval.pairs import read_pairs
from ..io.sources import list_samples
from ..io.verification_bin import read_bin
from .config import ExcludeSpec


@dataclass(frozen=True)
class EvalSet:
    """Images of an evaluation set: ``paths[i]`` (absolute, or a name inside the set) shows
    ``names[i]``; ``images`` holds the encoded bytes when the images are not files (``.bin``),
    else None."""

    label: str
    kind: str
    paths: tuple[str, ...]
    names: tuple[str, ...]
    images: tuple[bytes, ...] | None = None

    def __len__(self) -> int:
        return len(self.paths)


Loader = Callable[[ExcludeSpec], EvalSet]
_LOADERS: dict[str, Loader] = {}


def register_loader(kind: str, loader: Loader) -> None:
    """Register the loader of an evaluation-set kind (``pairs``, ``folder``, ``bin``)."""
    _LOADERS[kind] = loader


def kind_of(spec: ExcludeSpec) -> str:
    """``bin`` for a ``.bin`` file, ``pairs`` for another file, ``folder`` for a folder."""
    p = Path(spec.path).expanduser()
    if p.suffix.lower() == ".bin":
        return "bin"
    if p.is_dir():
        return "folder"
    if p.is_file():
        return "pairs"
    raise SourceError(
        f"hygiene.exclude: {spec.path!r} does not exist; give a folder of identity folders or a "
        "pairs.txt with its images folder"
    )


def load_eval_set(spec: ExcludeSpec) -> EvalSet:
    """Read one evaluation set (see module doc). SourceError when it cannot."""
    kind = kind_of(spec)
    loader = _LOADERS.get(kind)
    if loader is None:
        raise SourceError(
            f"hygiene.exclude: cannot read {spec.path!r} ({kind}); give a folder of identity "
            "folders, a pairs.txt with its images folder, or a .bin verification set"
        )
    return loader(spec)


def _pairs(spec: ExcludeSpec) -> EvalSet:
    path = Path(spec.path).expanduser()
    images = Path(spec.images).expanduser() if spec.images else path.parent
    if not images.is_dir():
        raise SourceError(
            f"hygiene.exclude: images folder {str(images)!r} of {str(path)!r} is not a folder; "
            'set images = "..." to the folder the pairs file\'s names refer to'
        )
    rels = sorted({p for pair in read_pairs(path) for p in (pair.path_a, pair.path_b)})
    paths, names = [], []
    for rel in rels:
        full = Path(rel) if Path(rel).is_absolute() else images / rel
        if not full.is_file():
            raise SourceError(
                f"hygiene.exclude: {str(path)!r} names {rel!r}, not found under {str(images)!r}"
            )
        paths.append(str(full.resolve()))
        parts = PurePosixPath(rel.replace("\\", "/")).parts
        names.append(parts[-2] if len(parts) >= 2 else PurePosixPath(rel).stem)
    return EvalSet(spec.name or str(path), "pairs", tuple(paths), tuple(names))


def _folder(spec: ExcludeSpec) -> EvalSet:
    listing = list_samples(spec.path)
    samples = sorted(listing.samples, key=lambda s: s.source_path)
    return EvalSet(
        spec.name or str(spec.path),
        "folder",
        tuple(str(Path(s.path).resolve()) for s in samples),
        tuple(s.identity for s in samples),
    )


def _bin(spec: ExcludeSpec) -> EvalSet:
    bins, issame = read_bin(spec.path)
    name = Path(spec.path).name
    names = []
    for k, same in enumerate(issame):
        names += [f"{name}#pair{k}"] * 2 if same else [f"{name}#{2 * k}", f"{name}#{2 * k + 1}"]
    keys = tuple(f"{name}#{i}" for i in range(len(bins)))
    return EvalSet(spec.name or str(spec.path), "bin", keys, tuple(names), tuple(bins))


register_loader("pairs", _pairs)
register_loader("folder", _folder)
register_loader("bin", _bin)
