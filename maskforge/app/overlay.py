"""``maskforge overlay`` as a run: the input folder listed and checked, the ``overlay`` writer
task planned over shards of input files and run on the pipeline's executors, the log written.

The per-image work (:class:`maskforge.occlude.overlay.Overlayer`), the listing, the target checks
and the log format live in :mod:`maskforge.occlude.overlay`; see its doc for what is written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..detect.config import LANDMARKS, DetectConfig
from ..errors import RecipeError
from ..io.lock import write_lock
from ..io.names import from_text
from ..io.paths import check_destination, check_output_folder, check_write_targets, path_under
from ..io.sharding import Shard
from ..io.sources import Listing, SourceSample, sample_id_for
from ..models import check_licence
from ..occlude.assets import AssetLibrary
from ..occlude.overlay import (
    OverlaySummary,
    check_targets,
    list_inputs,
    mask_path,
    resolve_choices,
    write_log,
)
from ..occlude.spec import OccluderChoice
from ..pipeline.executors import execute
from ..pipeline.options import RunOptions
from ..pipeline.overlay_task import OverlayWriter
from ..pipeline.plan import RunPlan
from ..recipe import Recipe
from ..vocab import IN_FRONT, RUNTIMES

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
    in_front: str = "keep",
    runtime: str = "auto",
    landmarks: str = "dlib68",
) -> RunPlan:
    """The plan of ``maskforge overlay``: the ``overlay`` writer task over shards of inputs."""
    samples = [
        SourceSample(sample_id_for(rel), rel.split("/")[0] if "/" in rel else "", 0, rel, src / from_text(rel))
        for rel in inputs
    ]
    shards = [
        Shard(i, tuple(samples[start : start + SHARD_FILES]))
        for i, start in enumerate(range(0, len(samples), SHARD_FILES))
    ]
    writer = OverlayWriter(
        dst=str(dst),
        masks_dir=str(masks_dir) if masks_dir else None,
        choices=choices,
        detector=detector,
        all_faces=all_faces,
        quality=int(quality),
        assets_dir=tuple(str(d) for d in assets_dir),
        in_front=in_front,
        runtime=runtime,
        landmarks=landmarks,
    )
    return RunPlan(
        recipe=Recipe(seed=int(seed)),  # [source] defaults: the decoder's limits
        input_path=str(src),
        out=dst,
        listing=Listing(root=src, samples=samples, labels={}),
        shards=shards,
        writers={"overlay": writer},
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
    licence: str = "any",
    in_front: str = "keep",
    runtime: str = "auto",
    landmarks: str = "dlib68",
) -> OverlaySummary:
    """Occlude every image of ``src_dir`` into ``dst_dir`` (see module doc). Returns counts.

    Runs on the pipeline's executors: ``executor`` ``local`` (this process), ``processes``
    (``workers`` processes of this machine, no Ray start-up) or ``ray`` (``workers`` CPUs);
    default ``local`` for one worker, else ``processes``. The bytes written do not depend on it. ``dst_dir`` inside ``src_dir`` is skipped when listing; ``dst_dir`` equal
    to ``src_dir``, or ``masks_dir`` equal to or inside ``src_dir`` (or equal to ``dst_dir``), is
    refused. ``progress(done, total)`` is called per finished shard, ``monitor`` with live
    per-image :class:`maskforge.pipeline.progress.Snapshot`. Raises AssetError for an unknown
    occluder/colour, OutputError when ``dst_dir`` is unusable or holds files this command would overwrite and did not write.
    ``licence="commercial"`` raises LicenceError first for a model whose licence excludes it
    (dlib's 68 points: place from ``landmarks="mesh"`` with ``detector="blazeface"`` instead).
    ``landmarks``: ``dlib68`` (default) or ``mesh``, the 68 points derived from Face Mesh
    (docs/models.md; their placement figures are in docs/detection.md).
    ``in_front``: ``keep`` (masks behind hands in front of the face), ``skip`` (such images are
    skipped, reason ``occluded_lower_face``) or ``off`` (docs/occluders.md). ``runtime``: what
    runs the hand models (and a ``blazeface`` detector): ``auto``, ``torch`` or ``litert``
    (:func:`maskforge.detect.tflite_runtime.resolve_runtime`)."""
    if in_front not in IN_FRONT:
        raise RecipeError(f"in_front must be one of {', '.join(IN_FRONT)}, not {in_front!r}")
    if runtime not in RUNTIMES:
        raise RecipeError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if landmarks not in LANDMARKS:
        raise RecipeError(f"landmarks must be one of {', '.join(LANDMARKS)}, not {landmarks!r}")
    used = DetectConfig(detector=detector, landmarks=landmarks).models_used()
    check_licence(used + (["mediapipe-hands"] if in_front != "off" else []), licence)
    src, dst = Path(src_dir), Path(dst_dir)
    masks = Path(masks_dir) if masks_dir else None
    check_destination(dst, src, what="DST_DIR", source_what="SRC_DIR")  # never into SRC, nor inside it
    if masks is not None:
        check_destination(masks, src, what="--masks-dir", source_what="SRC_DIR")
        check_destination(masks, dst, what="--masks-dir", source_what="DST_DIR", inside=False)
    choices = resolve_choices(occluder, mix, wear)
    library = AssetLibrary.load(extra_dirs=list(assets_dir) or None)
    for spec in choices.specs():  # fail early on unknown names / missing wear variants
        if spec.name != "random":
            library.get(spec.name, spec.wear)
    check_output_folder(dst, "DST_DIR")
    with write_lock(dst):  # one writer per folder, for the whole overlay
        return _overlay_locked(src, dst, masks, choices, seed, detector, workers, all_faces, assets_dir, quality,
                               progress, executor, monitor, in_front, runtime, landmarks)  # fmt: skip


def _overlay_locked(
    src: Path, dst: Path, masks: Path | None, choices: OccluderChoice, seed: int, detector: str, workers: int,
    all_faces: bool, assets_dir: Sequence[str | Path], quality: int, progress: Callable[[int, int], None] | None,
    executor: str | None, monitor: Callable[[Any], None] | None, in_front: str = "keep",
    runtime: str = "auto", landmarks: str = "dlib68",
) -> OverlaySummary:
    inputs = list_inputs(src, exclude=[dst] + ([masks] if masks else []))
    check_targets(dst, masks, inputs)
    targets = [path_under(dst, rel) for rel in inputs]
    targets += [mask_path(masks, rel) for rel in inputs] if masks else []
    check_write_targets(targets, [src], what="overlay")  # by where they lead: DST/A -> SRC/B is refused
    plan = overlay_plan(src, dst, inputs, choices=choices, seed=seed, detector=detector,
                        all_faces=all_faces, masks_dir=masks, assets_dir=assets_dir,
                        quality=quality, in_front=in_front, runtime=runtime,
                        landmarks=landmarks)  # fmt: skip
    done = 0

    def on_shard(stats: Mapping[str, Any]) -> None:
        nonlocal done
        done += stats["inputs"]
        if progress is not None:
            progress(done, len(inputs))

    executor = executor or ("local" if workers <= 1 else "processes")
    with tempfile.TemporaryDirectory(prefix="maskforge-overlay-") as work:
        options = RunOptions(executor=executor, num_cpus=int(workers), progress=on_shard, monitor=monitor)
        stats = execute(plan, [s.index for s in plan.shards], options, work_dir=Path(work))
    rows = [r for s in sorted(stats, key=lambda s: s["shard"]) for r in s["overlay"]["log"]]
    return write_log(dst, rows)


