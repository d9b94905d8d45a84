"""Where a command may write, decided once for every command.

The user's input is never written to: every command checks its destinations against its input
with :func:`check_destination` before its first write. Paths are compared after resolving
symlinks and ``..`` (a folder that does not exist yet is resolved through its nearest existing
parent), so ``out``, ``./out/`` and a symlink to it are the same folder.

:func:`path_under` maps a dataset-relative (or absolute) source path to a file under a destination
folder; :func:`unique_targets` gives each of many such paths its own file name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from ..errors import OutputError


def resolved(path: str | os.PathLike[str]) -> Path:
    """The absolute, symlink-free form of ``path`` (which need not exist)."""
    return Path(path).expanduser().resolve(strict=False)


def is_within(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """True when ``path`` is ``folder`` or lies inside it (both resolved)."""
    p, f = resolved(path), resolved(folder)
    return p == f or p.is_relative_to(f)


def check_destination(
    dest: str | os.PathLike[str],
    source: str | os.PathLike[str],
    *,
    what: str,
    source_what: str = "the input",
    inside: bool = True,
) -> None:
    """Raise :class:`OutputError` when ``dest`` is the input folder ``source`` or, with
    ``inside``, lies inside it (a list file's input folder is the list's folder only for
    equality: files listed by a list may live anywhere).

    ``what`` names the destination in the message (``--output``, ``DST_DIR``, ``--move-to``).
    """
    src = resolved(source)
    folder = src if src.is_dir() else src.parent
    d = resolved(dest)
    if d == src or d == folder:
        raise OutputError(
            f"{what} {str(dest)!r} is {source_what} {str(source)!r}: maskforge never writes into "
            f"its input; choose another folder for {what}"
        )
    if inside and src.is_dir() and d.is_relative_to(src):
        raise OutputError(
            f"{what} {str(dest)!r} is inside {source_what} {str(source)!r}: its files would be read "
            f"back as input; choose a folder outside {str(source)!r}"
        )


def check_output_folder(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Create ``path`` as a folder (with parents) or raise :class:`OutputError` saying why not."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{what} {str(p)!r} is a file, not a folder: remove it or choose a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create {what} folder {str(p)!r}: {exc.strerror or exc}; choose a writable folder"
        ) from exc
    if not os.access(p, os.W_OK | os.X_OK):
        raise OutputError(f"{what} folder {str(p)!r} is not writable: choose a writable folder")
    return p


def path_under(dest: str | os.PathLike[str], source_path: str, suffix: str | None = None) -> Path:
    """The file under ``dest`` for ``source_path``, never outside ``dest``.

    A relative path keeps its folders; an absolute one (a list file's path outside the list's
    folder) is mapped under ``dest`` without its root (``/data/a/x.jpg`` -> ``dest/data/a/x.jpg``);
    ``..`` parts become ``__``. ``suffix`` (``".png"``) replaces the extension."""
    parts = [
        "__" if p == ".." else p
        for p in PurePosixPath(source_path.replace("\\", "/")).parts
        if p.strip("/") not in ("", ".")  # the root ("/", "//") and "." go
    ]
    if not parts:
        raise ValueError(f"empty source path {source_path!r}")
    rel = PurePosixPath(*parts)
    if suffix is not None:
        rel = rel.with_suffix(suffix)
    return Path(dest).joinpath(*rel.parts)


def unique_targets(
    dest: str | os.PathLike[str],
    source_paths: Iterable[str],
    target: Callable[[str], Path] | None = None,
) -> dict[str, Path]:
    """One distinct file under ``dest`` per source path (``target`` maps a source path to its
    preferred file, default :func:`path_under`). Paths are taken in sorted order; a path whose
    preferred file is taken (``pic.jpg`` and ``pic.png`` both exported as ``pic.png``) gets
    ``_2``, ``_3``, ... before its extension. Names compare case-insensitively, so the result is
    the same on case-insensitive file systems."""
    to = target or (lambda sp: path_under(dest, sp))
    used: set[str] = set()
    out: dict[str, Path] = {}
    for sp in sorted(set(source_paths)):
        first = to(sp)
        cand, n = first, 1
        while str(cand).lower() in used:
            n += 1
            cand = first.with_name(f"{first.stem}_{n}{first.suffix}")
        used.add(str(cand).lower())
        out[sp] = cand
    return out


def recorded_input_root(out: str | os.PathLike[str]) -> Path | None:
    """The folder a run read its images from, from ``OUT/manifest.json``'s ``input`` (a list
    file's folder for a list); None when the manifest does not say."""
    import json

    try:
        manifest = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    recorded = manifest.get("input") if isinstance(manifest, dict) else None
    if not recorded:
        return None
    root = Path(recorded)
    return root.parent if root.suffix.lower() in (".csv", ".parquet", ".rec") else root


def check_export_targets(out: Path, dst: Path, targets: list[Path]) -> None:
    """Raise OutputError, before any write, unless an export of run ``out`` may write the files
    ``targets`` under the folder ``dst``: ``dst`` is not a file, not the run's own folder, not
    inside the run's input folder; no target exists yet; no target's folder links outside
    ``dst``."""
    if dst.exists() and not dst.is_dir():
        raise OutputError(f"{str(dst)!r} is a file; pass a folder (new or empty) to export into")
    if dst.resolve() == out.resolve():
        raise OutputError(f"{str(dst)!r} is the run's own folder; pass another folder to export into")
    root = recorded_input_root(out)
    if root is not None and is_within(dst, root):
        raise OutputError(
            f"{str(dst)!r} is inside the run's input folder {str(root)!r}: exported images would "
            "be read as input by the next run; pass a folder outside it"
        )
    existing = [t for t in targets if t.exists() or t.is_symlink()]
    if existing:
        raise OutputError(
            f"{len(existing)} of the {len(targets)} files to export already exist in {str(dst)!r} "
            f"(e.g. {str(existing[0])!r}); export into a new or empty folder"
        )
    for parent in sorted({t.parent for t in targets}):
        if parent.exists() and not is_within(parent, dst):
            raise OutputError(
                f"{str(parent)!r} links outside {str(dst)!r}; export into a folder without links"
            )
