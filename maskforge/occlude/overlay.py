"""Direct mode: put occluders on every face of a folder of images (``maskforge overlay``).

``overlay_folder(src_dir, dst_dir, ...)`` writes each processed image to the same relative path
under ``dst_dir`` (same name and extension, re-encoded in that format) and one row per input file
in ``dst_dir/overlay_log.csv``: ``path,status,occluder,color,wear,reason``. ``status`` is ``ok``,
``skipped`` (no usable face: ``reason`` from face selection, e.g. ``no_face``) or ``error``
(``reason`` a decode code such as ``truncated`` or ``not_an_image``, or ``write_failed``); only
``ok`` inputs get an output file. Every choice is seeded by ``(seed, relative path)``, so the same
command gives the same bytes whatever ``workers``. Parallel over processes (fork: workers share
the parent's loaded detector and assets).
"""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DecodeError, OutputError
from ..io.decode import decode_with_info
from ..io.writer import atomic_path, write_bytes_atomic
from ..seeding import rng_for
from .assets import AssetLibrary
from .render import render_occluder
from .spec import OccluderSpec, choose_spec, parse_mix

LOG_NAME = "overlay_log.csv"
LOG_COLUMNS = ("path", "status", "occluder", "color", "wear", "reason")
_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


@dataclass
class OverlaySummary:
    """Counts of a run: inputs, written outputs, skipped (no face), errors; log path."""

    total: int = 0
    ok: int = 0
    skipped: int = 0
    errors: int = 0
    log: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def list_inputs(src_dir: Path, exclude: Sequence[Path] = ()) -> list[str]:
    """Every regular, non-hidden file under ``src_dir`` (relative POSIX paths, sorted),
    skipping folders in ``exclude`` (e.g. an output folder nested in the source)."""
    src = Path(src_dir)
    skip = {Path(p).resolve() for p in exclude}
    out = []
    for root, dirs, files in os.walk(src):
        rp = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (rp / d).resolve() not in skip
        )
        out += [(rp / f).relative_to(src).as_posix() for f in files if not f.startswith(".")]
    return sorted(out)


def _decode(data: bytes) -> tuple[np.ndarray, str | None]:
    """RGB uint8 pixels and the PIL format name (maskforge.io.decode)."""
    pixels, info = decode_with_info(data)
    return pixels, info.get("format")


def _encode(pixels: np.ndarray, fmt: str, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    im = Image.fromarray(pixels)
    if fmt == "JPEG":
        im.save(buf, format="JPEG", quality=quality)
    elif fmt == "PNG":
        im.save(buf, format="PNG", compress_level=3)
    elif fmt == "WEBP":
        im.save(buf, format="WEBP", quality=quality, method=4)
    else:
        im.save(buf, format=fmt)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    write_bytes_atomic(data, path)


class Overlayer:
    """Per-process worker: detector, landmarks, assets and choices, loaded once."""

    def __init__(
        self,
        src_dir: Path,
        dst_dir: Path,
        choices: list[tuple[OccluderSpec, float]],
        seed: int,
        detector: str,
        all_faces: bool,
        masks_dir: Path | None,
        library: AssetLibrary,
        quality: int = 95,
        detector_opts: dict | None = None,
    ) -> None:
        from ..detect import make_detector

        self.src_dir, self.dst_dir = Path(src_dir), Path(dst_dir)
        self.choices, self.seed, self.all_faces = choices, int(seed), all_faces
        self.masks_dir = Path(masks_dir) if masks_dir else None
        self.library, self.quality = library, int(quality)
        self.detector = make_detector(detector, **(detector_opts or {}))
        self._landmarker = getattr(self.detector, "landmarker", None)

    def _landmarks(self, image: np.ndarray, face: Any) -> np.ndarray:
        if face.landmarks68 is not None:
            return np.asarray(face.landmarks68, np.float64)
        if self._landmarker is None:
            from ..detect import Landmarker68

            self._landmarker = Landmarker68()
        return np.asarray(self._landmarker(image, face.box), np.float64)

    def faces(self, image: np.ndarray) -> tuple[list[Any], str | None]:
        """Faces to occlude (selected one, or all) or ``([], reason)``."""
        from ..detect import select_face

        found = self.detector.detect([image])[0]
        if self.all_faces and found:
            return list(found), None
        face, reason = select_face(found, image.shape[:2])
        return ([face], None) if face is not None else ([], reason or "no_face")

    def __call__(self, rel: str) -> dict[str, str]:
        row = dict.fromkeys(LOG_COLUMNS, "")
        row["path"] = rel
        src = self.src_dir / rel
        try:
            data = src.read_bytes()
            image, fmt = _decode(data)
        except DecodeError as exc:
            return {**row, "status": "error", "reason": exc.reason}
        except OSError:
            return {**row, "status": "error", "reason": "unreadable"}
        faces, reason = self.faces(image)
        if not faces:
            return {**row, "status": "skipped", "reason": reason or "no_face"}
        mask = np.zeros(image.shape[:2], bool)
        infos = []
        for k, face in enumerate(faces):
            lm = self._landmarks(image, face)
            rng = rng_for(self.seed, "overlay", rel, k)
            spec = choose_spec(self.choices, rng)
            # yaw: the cheap landmark estimate (only the far-side margin depends on it); the
            # full PnP pose would cost ~0.5 ms per face here
            res = render_occluder(image, lm, spec, rng, yaw=None, library=self.library)
            image, mask = res.image, mask | res.mask
            infos.append(res.info)
        out_fmt = _FORMATS.get(src.suffix.lower(), fmt or "PNG")
        try:
            _write(self.dst_dir / rel, _encode(image, out_fmt, self.quality))
            if self.masks_dir is not None:
                _write(
                    (self.masks_dir / rel).with_suffix(".png"),
                    _encode((mask * 255).astype(np.uint8), "PNG", self.quality),
                )
        except (OSError, ValueError, KeyError) as exc:
            return {
                **row,
                "status": "error",
                "reason": "write_failed",
                "occluder": type(exc).__name__,
            }
        return {
            **row,
            "status": "ok",
            "occluder": ";".join(i["asset"] for i in infos),
            "color": ";".join(str(i["color"] or "") for i in infos),
            "wear": ";".join(i["wear"] for i in infos),
        }


_WORKER: Overlayer | None = None


def _init_worker(kwargs: dict | None) -> None:
    """Pool initializer. Forked children inherit the parent's Overlayer (``kwargs`` None);
    spawned ones build their own."""
    global _WORKER
    if kwargs is None:
        return
    kwargs = dict(kwargs)
    library = AssetLibrary.load(extra_dirs=kwargs.pop("assets_dir") or None)
    _WORKER = Overlayer(library=library, **kwargs)


def _run_one(rel: str) -> dict[str, str]:
    assert _WORKER is not None
    return _WORKER(rel)


def _pool(workers: int, kwargs: dict, parent: Overlayer):  # noqa: ANN202
    """A process pool. With ``fork`` (Linux) the children share the parent's loaded detector and
    assets copy-on-write and start at once. OpenCV is switched to one thread first: a child
    forked from a process whose OpenCV thread pool is running could wait forever on it, and
    single-threaded OpenCV is what each worker should use anyway. Elsewhere, ``spawn``."""
    global _WORKER
    if "fork" in mp.get_all_start_methods():
        import cv2

        cv2.setNumThreads(1)
        _WORKER = parent
        return mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(None,))
    return mp.get_context("spawn").Pool(  # pragma: no cover - Windows / macOS default
        workers, initializer=_init_worker, initargs=(kwargs,)
    )


def resolve_choices(
    occluder: Iterable[str] = (), mix: str | None = None, wear: str = "correct"
) -> list[tuple[OccluderSpec, float]]:
    """The weighted choices of a run: ``mix`` if given, else each ``occluder`` equally, else
    ``surgical-blue``. ``wear`` is the default wear of every spec (a spec's own wear token wins)."""
    choices: list[tuple[OccluderSpec, float]] = []
    if mix:
        choices += parse_mix(mix, wear=wear)
    choices += [(OccluderSpec.parse(o, wear=wear), 1.0) for o in occluder]
    return choices or [(OccluderSpec.parse("surgical-blue", wear=wear), 1.0)]


def overlay_folder(
    src_dir: str | Path,
    dst_dir: str | Path,
    occluder: Sequence[str] = (),
    mix: str | None = None,
    wear: str = "correct",
    seed: int = 0,
    detector: str = "dlib-hog",
    workers: int = 1,
    all_faces: bool = False,
    masks_dir: str | Path | None = None,
    assets_dir: Sequence[str | Path] = (),
    quality: int = 95,
    progress: Callable[[int, int], None] | None = None,
) -> OverlaySummary:
    """Occlude every image of ``src_dir`` into ``dst_dir`` (see module doc). Returns counts.

    Raises AssetError for an unknown occluder/colour, OutputError when ``dst_dir`` is unusable."""
    src, dst = Path(src_dir), Path(dst_dir)
    choices = resolve_choices(occluder, mix, wear)
    library = AssetLibrary.load(extra_dirs=list(assets_dir) or None)
    for spec, _ in choices:  # fail early on unknown names / missing wear variants
        if spec.name != "random":
            library.get(spec.name, spec.wear)
    try:
        dst.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {dst}: {exc}") from exc
    excludes = [dst] + ([Path(masks_dir)] if masks_dir else [])
    inputs = list_inputs(src, exclude=excludes)
    kwargs = {
        "src_dir": src,
        "dst_dir": dst,
        "choices": choices,
        "seed": seed,
        "detector": detector,
        "all_faces": all_faces,
        "masks_dir": Path(masks_dir) if masks_dir else None,
        "quality": quality,
    }
    summary = OverlaySummary(total=len(inputs), log=dst / LOG_NAME)
    pool = None
    with atomic_path(dst / LOG_NAME) as tmp_log, open(tmp_log, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
        writer.writeheader()
        worker = Overlayer(library=library, **kwargs)
        if workers <= 1 or len(inputs) < 2:
            results: Iterable[dict[str, str]] = map(worker, inputs)
        else:
            spawn_kwargs = {**kwargs, "assets_dir": [str(d) for d in assets_dir]}
            pool = _pool(int(workers), spawn_kwargs, worker)
            chunk = max(1, min(16, len(inputs) // (int(workers) * 8)))
            results = pool.imap(_run_one, inputs, chunksize=chunk)
        try:
            for n, row in enumerate(results, 1):
                writer.writerow(row)
                status = row["status"]
                summary.ok += status == "ok"
                summary.skipped += status == "skipped"
                summary.errors += status == "error"
                if row["reason"]:
                    summary.reasons[row["reason"]] = summary.reasons.get(row["reason"], 0) + 1
                if progress is not None:
                    progress(n, len(inputs))
        finally:
            if pool is not None:
                pool.close()
                pool.join()
            global _WORKER
            _WORKER = None
    return summary
