"""Direct mode: put occluders on every face of a folder of images (``maskforge overlay``).

``overlay_folder(src_dir, dst_dir, ...)`` writes each processed image to the same relative path
under ``dst_dir`` (same name and extension, re-encoded in that format) and one row per input file
in ``dst_dir/overlay_log.csv``: ``path,status,occluder,color,wear,reason``. ``status`` is ``ok``,
``skipped`` (no usable face: ``reason`` from face selection, e.g. ``no_face``) or ``error``
(``reason`` a decode code such as ``truncated`` or ``not_an_image``, or ``write_failed``); only
``ok`` inputs get an output file. Every choice is seeded by ``(seed, relative path)``, so the same
command gives the same bytes whatever ``workers``. It runs as a plan on the pipeline's
executors (:func:`maskforge.pipeline.executors.execute`): the ``overlay`` writer task over shards
of input files, in this process or on Ray actors (each loads the detector and assets once).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..errors import OutputError
from ..io.writer import write_bytes_atomic
from ..pipeline.plan import RunPlan
from ..seeding import rng_for
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
    """Every regular, non-hidden file under ``src_dir`` (relative POSIX paths, sorted),
    skipping folders in ``exclude`` (e.g. an output folder nested in the source)."""
    src = Path(src_dir)
    from ..io.paths import resolved

    skip = {resolved(p) for p in exclude}
    out = []
    for root, dirs, files in os.walk(src):
        rp = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and resolved(rp / d) not in skip
        )
        out += [(rp / f).relative_to(src).as_posix() for f in files if not f.startswith(".")]
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
    ) -> None:
        from ..detect import make_detector

        self.dst_dir = Path(dst_dir)
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

    def __call__(self, rel: str, image: np.ndarray, fmt: str | None) -> dict[str, str]:
        """Occlude the decoded input ``rel`` (RGB pixels, its PIL format name), write its output
        file(s) and return its log row."""
        row = dict.fromkeys(LOG_COLUMNS, "")
        row["path"] = rel
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
        out_fmt = _FORMATS.get(PurePosixPath(rel).suffix.lower(), fmt or "PNG")
        try:
            write_bytes_atomic(_encode(image, out_fmt, self.quality), self.dst_dir / rel)
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
    return (Path(masks_dir) / rel).with_suffix(".png")


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
        targets = [dst / rel] + ([mask_path(masks_dir, rel)] if masks_dir else [])
        if rel not in previous and any(t.exists() or t.is_symlink() for t in targets):
            foreign.append(rel)
    if foreign:
        raise OutputError(
            f"{len(foreign)} output file(s) already exist under {str(dst)!r}"
            f"{' or ' + repr(str(masks_dir)) if masks_dir else ''} that maskforge did not write "
            f"(e.g. {foreign[0]!r}); they would be overwritten: choose an empty DST_DIR"
        )


#: Input files per shard of an overlay plan (bounded memory per task, many tasks to spread).
SHARD_FILES = 32


def overlay_plan(
    src: Path,
    dst: Path,
    inputs: Sequence[str],
    *,
    choices: OccluderChoice,
    seed: int,
    detector: str,
    all_faces: bool,
    masks_dir: Path | None,
    assets_dir: Sequence[str | Path],
    quality: int,
) -> RunPlan:
    """The plan of ``maskforge overlay``: the ``overlay`` writer task over shards of inputs."""
    from ..io.decode import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
    from ..io.sharding import Shard
    from ..io.sources import Listing, SourceSample, sample_id_for

    samples = [
        SourceSample(sample_id_for(rel), rel.split("/")[0] if "/" in rel else "", 0, rel, src / rel)
        for rel in inputs
    ]
    shards = [
        Shard(i, tuple(samples[start : start + SHARD_FILES]))
        for i, start in enumerate(range(0, len(samples), SHARD_FILES))
    ]
    opts = {
        "dst": str(dst),
        "masks_dir": str(masks_dir) if masks_dir else None,
        "choices": choices,
        "detector": detector,
        "all_faces": all_faces,
        "quality": int(quality),
        "assets_dir": [str(d) for d in assets_dir],
    }
    return RunPlan(
        recipe={"seed": int(seed), "source": {"max_pixels": DEFAULT_MAX_PIXELS, "min_side": DEFAULT_MIN_SIDE}},
        input_path=str(src),
        out=dst,
        listing=Listing(root=src, samples=samples, labels={}),
        shards=shards,
        writers={"overlay": opts},
        dataset=False,
    )


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
    executor: str | None = None,
    monitor: Callable[[Any], None] | None = None,
) -> OverlaySummary:
    """Occlude every image of ``src_dir`` into ``dst_dir`` (see module doc). Returns counts.

    Runs on the pipeline's executors: ``executor`` ``local`` (this process) or ``ray``
    (``workers`` CPUs); default ``local`` for one worker, else ``ray``. The bytes written do not
    depend on either. ``dst_dir`` inside ``src_dir`` is skipped when listing; ``dst_dir`` equal
    to ``src_dir``, or ``masks_dir`` equal to or inside ``src_dir`` (or equal to ``dst_dir``), is
    refused. ``progress(done, total)`` is called per finished shard, ``monitor`` with live
    per-image :class:`maskforge.pipeline.progress.Snapshot`. Raises AssetError for an unknown
    occluder/colour, OutputError when ``dst_dir`` is unusable or holds files this command would overwrite and did not write."""
    from ..io.paths import check_destination, check_output_folder
    from ..pipeline.executors import execute

    src, dst = Path(src_dir), Path(dst_dir)
    masks = Path(masks_dir) if masks_dir else None
    check_destination(dst, src, what="DST_DIR", source_what="SRC_DIR", inside=False)
    if masks is not None:
        check_destination(masks, src, what="--masks-dir", source_what="SRC_DIR")
        check_destination(masks, dst, what="--masks-dir", source_what="DST_DIR", inside=False)
    choices = resolve_choices(occluder, mix, wear)
    library = AssetLibrary.load(extra_dirs=list(assets_dir) or None)
    for spec in choices.specs():  # fail early on unknown names / missing wear variants
        if spec.name != "random":
            library.get(spec.name, spec.wear)
    check_output_folder(dst, "DST_DIR")
    inputs = list_inputs(src, exclude=[dst] + ([masks] if masks else []))
    check_targets(dst, masks, inputs)
    plan = overlay_plan(src, dst, inputs, choices=choices, seed=seed, detector=detector,
                        all_faces=all_faces, masks_dir=masks, assets_dir=assets_dir,
                        quality=quality)  # fmt: skip
    done = 0

    def on_shard(stats: dict[str, Any]) -> None:
        nonlocal done
        done += stats["inputs"]
        if progress is not None:
            progress(done, len(inputs))

    executor = executor or ("local" if workers <= 1 else "ray")
    with tempfile.TemporaryDirectory(prefix="maskforge-overlay-") as work:
        stats = execute(plan, [s.index for s in plan.shards], executor=executor,
                        num_cpus=int(workers), progress=on_shard, monitor=monitor,
                        work_dir=Path(work))  # fmt: skip
    rows = [r for s in sorted(stats, key=lambda s: s["shard"]) for r in s["overlay"]["log"]]
    return write_log(dst, rows)


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
