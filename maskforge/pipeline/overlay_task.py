"""The ``overlay`` writer task: occluded copies of one shard's input images (``maskforge overlay``).

Options: :class:`OverlayWriter` (built by :func:`maskforge.app.overlay.overlay_plan`).
The task decodes with the pipeline's decode stage (so a bad file gets the pipeline's reason code),
writes each output file atomically and returns the shard's ``overlay_log.csv`` rows in ``log``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import RunContext
from .decode_stage import decode_shard
from .progress import Tick, ticker
from .records import ShardStats


@dataclass(frozen=True)
class OverlayWriter:
    """The ``overlay`` writer: occluded copies of the input images under ``dst`` (and their
    masks under ``masks_dir``), as ``maskforge overlay`` asks."""

    dst: str
    masks_dir: str | None
    choices: Any  # maskforge.occlude.spec.OccluderChoice
    detector: str
    all_faces: bool
    quality: int
    assets_dir: tuple[str, ...] = ()
    in_front: str = "keep"
    runtime: str = "auto"
    landmarks: str = "dlib68"

    def task(self, ctx: RunContext) -> OverlayTask:
        return OverlayTask(ctx, self)


class OverlayTask:
    """``task(index) -> stats``: occlude the images of shard ``index`` into ``dst``."""

    def __init__(self, plan: RunContext, opts: OverlayWriter) -> None:
        self.plan = plan
        self.opts = opts
        self._overlayer: Any = None

    @property
    def overlayer(self) -> Any:  # maskforge.occlude.overlay.Overlayer, imported lazily
        if self._overlayer is None:
            from ..occlude.assets import AssetLibrary
            from ..occlude.overlay import Overlayer

            o = self.opts
            self._overlayer = Overlayer(
                dst_dir=Path(o.dst),
                choices=o.choices,
                seed=self.plan.seed,
                detector=o.detector,
                all_faces=o.all_faces,
                masks_dir=Path(o.masks_dir) if o.masks_dir else None,
                library=AssetLibrary.load(extra_dirs=list(o.assets_dir) or None),
                quality=o.quality,
                in_front=o.in_front,
                runtime=o.runtime,
                landmarks=o.landmarks,
            )
        return self._overlayer

    def warm(self) -> None:
        """Load the detector, the occluder assets and the hand models now."""
        if self.overlayer.guard.mode != "off":
            _ = self.overlayer.guard.hands

    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> ShardStats:
        """``tick(n)``: input images of the shard handled so far (see :mod:`.progress`)."""
        from ..occlude.overlay import error_row

        t0 = time.perf_counter()
        shard, decoded, rejects = decode_shard(self.plan, index)
        t_decode = time.perf_counter() - t0
        rows = {r["source_path"]: error_row(r["source_path"], r["reason"]) for r in rejects}
        tick = ticker(tick)
        # faces, landmarks and hands in front of them for the whole shard (the hand models batch)
        self.overlayer.prepare([(d.sample.source_path, d.pixels) for d in decoded])
        for i, d in enumerate(decoded, 1):
            rel = d.sample.source_path
            rows[rel] = self.overlayer(rel, d.pixels, d.info.get("format"))
            tick(len(rejects) + i)
        return {
            "shard": index,
            "inputs": len(shard.samples),
            "log": [rows[s.source_path] for s in shard.samples],
            "seconds": {"decode": t_decode, "overlay": time.perf_counter() - t0 - t_decode},
            "skipped": False,
        }
