"""The ``overlay`` writer task: occluded copies of one shard's input images (``maskforge overlay``).

Options (``plan.writers["overlay"]``, built by :func:`maskforge.occlude.overlay.overlay_plan`):
``dst``, ``masks_dir``, ``choices``, ``detector``, ``all_faces``, ``quality``, ``assets_dir``.
The task decodes with the pipeline's decode stage (so a bad file gets the pipeline's reason code),
writes each output file atomically and returns the shard's ``overlay_log.csv`` rows in ``log``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .decode_stage import decode_shard
from .plan import RunPlan
from .progress import Tick, ticker


class OverlayTask:
    """``task(index) -> stats``: occlude the images of shard ``index`` into ``dst``."""

    def __init__(self, plan: RunPlan, opts: dict[str, Any]) -> None:
        self.plan = plan
        self.opts = opts
        self._overlayer = None

    @property
    def overlayer(self):  # noqa: ANN201 - maskforge.occlude.overlay.Overlayer, imported lazily
        if self._overlayer is None:
            from ..occlude.assets import AssetLibrary
            from ..occlude.overlay import Overlayer

            o = self.opts
            self._overlayer = Overlayer(
                dst_dir=Path(o["dst"]),
                choices=o["choices"],
                seed=self.plan.seed,
                detector=o["detector"],
                all_faces=o["all_faces"],
                masks_dir=Path(o["masks_dir"]) if o.get("masks_dir") else None,
                library=AssetLibrary.load(extra_dirs=list(o.get("assets_dir") or ()) or None),
                quality=o["quality"],
            )
        return self._overlayer

    def warm(self) -> None:
        """Load the detector and the occluder assets now."""
        _ = self.overlayer

    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> dict[str, Any]:
        """``tick(n)``: input images of the shard handled so far (see :mod:`.progress`)."""
        from ..occlude.overlay import error_row

        t0 = time.perf_counter()
        shard, decoded, rejects = decode_shard(self.plan, index)
        t_decode = time.perf_counter() - t0
        rows = {r["source_path"]: error_row(r["source_path"], r["reason"]) for r in rejects}
        tick = ticker(tick)
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
