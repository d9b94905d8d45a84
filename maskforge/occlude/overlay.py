"""Direct mode: put occluders on every face of a folder of images (``maskforge overlay``).

``maskforge.app.overlay.overlay_folder(src_dir, dst_dir, ...)`` writes each processed image to the same relative path
under ``dst_dir`` (same name and extension, re-encoded in that format) and one row per input file
in ``dst_dir/overlay_log.csv``: ``path,status,occluder,color,wear,reason``. ``status`` is ``ok``,
``skipped`` (no usable face: ``reason`` from face selection, e.g. ``no_face``) or ``error``
(``reason`` a decode code such as ``truncated`` or ``not_an_image``, or ``write_failed``); only
``ok`` inputs get an output file; ``occluded_lower_face`` skips an image whose every face has a
hand in front of its lower face (:mod:`maskforge.occlude.front`). Every choice is seeded by ``(seed, relative path)``, so the same
command gives the same bytes whatever ``workers``. :func:`maskforge.app.overlay.overlay_folder`
runs it as a plan on the pipeline's executors: the ``overlay`` writer task over shards of input
files, in this process or on Ray actors (each loads the detector and assets once); this module
holds the domain part (the per-image :class:`Overlayer`, listing, target checks, the log).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..errors import OutputError
from ..io.names import to_text
from ..io.paths import path_under
from ..io.writer import write_bytes_atomic
from ..seeding import OVERLAY, rng_for
from ..vocab import OCCLUDED_LOWER_FACE
from .assets import AssetLibrary
from .render import render_occluder
from .spec import OccluderChoice, choose_spec

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
    """Every non-hidden file under ``src_dir`` (relative POSIX paths in the text form of
    :func:`maskforge.io.names.to_text`, sorted), skipping folders in ``exclude`` (e.g. an output
    folder nested in the source). What a name leads to is checked when it is read (a FIFO or a
    device is a ``not_a_regular_file`` row of the log)."""
    src = Path(src_dir)
    from ..io.paths import resolved

    skip = {resolved(p) for p in exclude}
    out = []
    for root, dirs, files in os.walk(src):
        rp = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and resolved(rp / d) not in skip
        )
        out += [to_text((rp / f).relative_to(src).as_posix()) for f in files if not f.startswith(".")]
    return sorted(out)


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


def error_row(rel: str, reason: str, status: str = "error") -> dict[str, str]:
    """The log row of an input without an output file."""
    return {**dict.fromkeys(LOG_COLUMNS, ""), "path": rel, "status": status, "reason": reason}


class Overlayer:
    """Per-process worker: detector, landmarks, assets and choices, loaded once."""

    def __init__(
        self,
        dst_dir: Path,
        choices: OccluderChoice,
        seed: int,
        detector: str,
        all_faces: bool,
        masks_dir: Path | None,
        library: AssetLibrary,
        quality: int = 95,
        detector_opts: dict | None = None,
        in_front: str = "keep",
        runtime: str = "auto",
        landmarks: str = "dlib68",
    ) -> None:
        from ..detect import make_detector
        from .front import FrontGuard

        self.dst_dir = Path(dst_dir)
        self.choices, self.seed, self.all_faces = choices, int(seed), all_faces
        self.masks_dir = Path(masks_dir) if masks_dir else None
        self.library, self.quality = library, int(quality)
        opts = {"runtime": runtime} if detector.startswith("blazeface") else {}
        self.detector = make_detector(detector, **{**opts, **(detector_opts or {})})
        self._landmarker = getattr(self.detector, "landmarker", None)
        self.guard = FrontGuard(in_front, runtime=runtime)
        self._mesh: Any = None
        if landmarks == "mesh":  # the 68 points derived from Face Mesh (docs/models.md)
            from ..detect.facemesh import FaceMesh

            self._mesh = FaceMesh(device="cpu", runtime=runtime)
        self._prepared: dict[str, tuple[list[np.ndarray], str | None, list[Any]]] = {}

    def _landmarks68(self, images: list[np.ndarray], faces: list[Any]) -> list[np.ndarray]:
        """(68, 2) float64 points of ``faces[i]`` in ``images[i]``: derived from Face Mesh (one
        batch) with ``landmarks="mesh"``, else the detector's own or dlib's 68."""
        if self._mesh is not None:
            from ..detect.mesh68 import mesh_to_68

            meshes, _ = self._mesh(images, faces)
            return [np.asarray(mesh_to_68(m), np.float64) for m in meshes]
        out = []
        for image, face in zip(images, faces, strict=True):
            if face.landmarks68 is None:
                if self._landmarker is None:
                    from ..detect import Landmarker68

                    self._landmarker = Landmarker68()
                out.append(np.asarray(self._landmarker(image, face.box), np.float64))
            else:
                out.append(np.asarray(face.landmarks68, np.float64))
        return out

    def _selected(self, found: list[Any], image: np.ndarray) -> tuple[list[Any], str | None]:
        """Faces to occlude among the detected ``found`` (selected one, or all), or ``([],
        reason)``."""
        from ..detect import select_face

        if self.all_faces and found:
            return list(found), None
        face, reason = select_face(found, image.shape[:2])
        return ([face], None) if face is not None else ([], reason or "no_face")

    def prepare(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """Find the faces (one detector batch), their 68 landmarks and what is in front of them
        for the decoded inputs ``items`` (``(rel, pixels)``), the mesh and the hands of all their
        faces in one batch each; :meth:`__call__` uses (and forgets) what was found."""
        images = [image for _, image in items]
        found = self.detector.detect(images)
        detected = [self._selected(f, im) for f, im in zip(found, images, strict=True)]
        flat = [(im, f) for im, (faces, _) in zip(images, detected, strict=True) for f in faces]
        lm68 = self._landmarks68([im for im, _ in flat], [f for _, f in flat])
        fronts = self.guard([im for im, _ in flat], lm68)
        at = 0
        for (rel, _), (faces, reason) in zip(items, detected, strict=True):
            n = len(faces)
            self._prepared[rel] = (lm68[at : at + n], reason, fronts[at : at + n])
            at += n

    def __call__(self, rel: str, image: np.ndarray, fmt: str | None) -> dict[str, str]:
        """Occlude the decoded input ``rel`` (RGB pixels, its PIL format name), write its output
        file(s) and return its log row."""
        row = dict.fromkeys(LOG_COLUMNS, "")
        row["path"] = rel
        if rel not in self._prepared:
            self.prepare([(rel, image)])
        lms, reason, fronts = self._prepared.pop(rel)
        if not lms:
            return {**row, "status": "skipped", "reason": reason or "no_face"}
        mask = np.zeros(image.shape[:2], bool)
        infos = []
        for k, (lm, front) in enumerate(zip(lms, fronts, strict=True)):
            if front.reject is not None:
                continue
            rng = rng_for(self.seed, OVERLAY, rel, k)
            spec = choose_spec(self.choices, rng)
            # yaw: the cheap landmark estimate (only the far-side margin depends on it); the
            # full PnP pose would cost ~0.5 ms per face here
            res = render_occluder(image, lm, spec, rng, yaw=None, library=self.library, keep=front.keep)
            image, mask = res.image, mask | res.mask
            infos.append(res.info)
        if not infos:
            return {**row, "status": "skipped", "reason": OCCLUDED_LOWER_FACE}
        out_fmt = _FORMATS.get(PurePosixPath(rel).suffix.lower(), fmt or "PNG")
        try:
            write_bytes_atomic(_encode(image, out_fmt, self.quality), path_under(self.dst_dir, rel))
            if self.masks_dir is not None:
                write_bytes_atomic(
                    _encode((mask * 255).astype(np.uint8), "PNG", self.quality),
                    mask_path(self.masks_dir, rel),
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


def resolve_choices(
    occluder: Iterable[str] = (), mix: str | None = None, wear: str = "correct"
) -> OccluderChoice:
    """The choice of a run (:meth:`OccluderChoice.from_cli`): ``mix`` and each ``occluder``,
    else ``surgical-blue``. ``wear`` is the default wear (a spec's own wear token wins)."""
    return OccluderChoice.from_cli(occluder, mix, wear)




def mask_path(masks_dir: Path, rel: str) -> Path:
    """Where the occlusion mask of input ``rel`` goes: same relative path, ``.png``."""
    return path_under(masks_dir, rel, ".png")


def read_log(dst: Path) -> list[dict[str, str]] | None:
    """The rows of ``dst/overlay_log.csv``; None when there is none. OutputError when a file of
    that name exists but is not an overlay log (maskforge did not write it)."""
    path = Path(dst) / LOG_NAME
    if not path.exists():
        return None
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            ok = tuple(reader.fieldnames or ()) == LOG_COLUMNS
    except (OSError, UnicodeDecodeError, csv.Error):
        ok = False
    if not ok:
        raise OutputError(
            f"{str(path)!r} exists and is not an overlay log: maskforge will not overwrite it; "
            "move it away or choose another DST_DIR"
        )
    return rows


def check_targets(dst: Path, masks_dir: Path | None, inputs: Sequence[str]) -> None:
    """Before the first write: refuse when an output file of this run exists and was not written
    by an earlier overlay into the same folder (an ``ok`` row of its ``overlay_log.csv``)."""
    previous = {r["path"] for r in read_log(dst) or () if r.get("status") == "ok"}
    foreign = []
    for rel in inputs:
        targets = [path_under(dst, rel)] + ([mask_path(masks_dir, rel)] if masks_dir else [])
        if rel not in previous and any(t.exists() or t.is_symlink() for t in targets):
            foreign.append(rel)
    if foreign:
        raise OutputError(
            f"{len(foreign)} output file(s) already exist under {str(dst)!r}"
            f"{' or ' + repr(str(masks_dir)) if masks_dir else ''} that maskforge did not write "
            f"(e.g. {foreign[0]!r}); they would be overwritten: choose an empty DST_DIR"
        )


def write_log(dst: Path, rows: list[dict[str, str]]) -> OverlaySummary:
    """Write ``dst/overlay_log.csv`` atomically; the counts of its rows."""
    summary = OverlaySummary(total=len(rows), log=dst / LOG_NAME)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        summary.ok += row["status"] == "ok"
        summary.skipped += row["status"] == "skipped"
        summary.errors += row["status"] == "error"
        if row["reason"]:
            summary.reasons[row["reason"]] = summary.reasons.get(row["reason"], 0) + 1
    write_bytes_atomic(buf.getvalue().encode("utf-8"), dst / LOG_NAME)
    return summary
