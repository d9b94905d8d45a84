"""Starting Ray while the input is listed: a run's fixed cost overlapped, not paid in series.

A ``maskforge run`` on Ray pays, before its first shard, Ray's start-up (~3 s on a quiet 2-core
machine) and its actors' start-up (a process each, torch and the models: ~4 s), then after its
last shard the end-of-run files (docs/benchmarks.md). The recipe alone decides which models the
actors load (:func:`~.plan.recipe_context`), so :func:`start_early` starts Ray and the actors in
a background thread (:class:`~.ray_executor.EarlyRay`) as soon as the recipe is loaded and the
output folder checked, and the listing and planning run meanwhile; the executor then takes the
actors over and hands them the final unit of work (with the label space). The manifest's ``ray``
block says how long the driver still waited (``waited_s``) next to ``init_s`` and ``warm_s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ..io.lock import write_lock
from ..io.manifest import COMPLETE
from ..io.paths import check_destination
from ..io.reach import check_address
from ..recipe import Recipe
from .options import RunOptions
from .outdir import check_output, claim_output
from .plan import recipe_context
from .quiet import redirect_output
from .ray_executor import EarlyRay

__all__ = ["EARLY_ENV", "early_wanted", "start_early"]


#: ``1`` starts Ray while the input is listed in any process, ``0`` never. Unset: only where the
#: run asks for it (``RunOptions.early_start``, the default) and Ray was never imported in this
#: process (a fresh ``maskforge run`` or script; not a notebook that used Ray before). With Ray 2.5x-2.60, a process that had a Ray session before
#: (``ray.init()`` then ``ray.shutdown()``, e.g. a notebook or a benchmark) and then starts Ray
#: from this background thread can abort in Ray's core ("Tried to create an owned object that
#: already exists"); a process that never imported Ray cannot have had one.
EARLY_ENV = "MASKFORGE_EARLY_RAY"


@contextlib.contextmanager
def start_early(
    recipe: Recipe, options: RunOptions, input_path: Path, output: Path
) -> Iterator[EarlyRay | None]:
    """Inside the block, Ray and the run's actors start in the background when
    :func:`early_wanted` (None: not started early, or not a Ray run). ``input_path`` and ``output`` are the run's (:func:`maskforge.pipeline.resolve_paths`).
    The output folder is checked as the run checks it (never the input, never a folder of
    someone else's files) before anything is written to it; Ray's output goes to
    ``OUT/logs/ray.log`` as during the run, so the block's own terminal output must go to
    :func:`~.quiet.terminal`. An instance that no run took over (planning failed, nothing to do)
    is shut down when the block ends. Not started when ``OUT`` holds a complete run of the same
    recipe (a rerun that most likely reuses every shard: Ray would be started for nothing; if
    an input changed, Ray starts after planning, as it did before)."""
    out = Path(output)
    if not early_wanted(options):
        yield None
        return
    ctx = recipe_context(recipe, str(input_path), out) if options.executor == "ray" else None
    if ctx is None or (options.resume and _finished_before(out, ctx.recipe)):
        yield None
        return
    check_destination(out, Path(input_path), what="output")
    check_output(out)
    ray = options.with_ray_defaults(recipe.ray)
    if ray.address:
        check_address(ray.address)  # within a time-out: never a background start that hangs
    with write_lock(out):  # before anything is written: a second writer is refused here, at once
        claim_output(out)
        (out / "cache").mkdir(parents=True, exist_ok=True)
        with redirect_output(out / "logs" / "ray.log"):
            early = EarlyRay(ctx, ray.num_cpus, ray.num_gpus, ray.address, work_dir=out)
            try:
                yield early
            finally:
                early.close()


def early_wanted(options: RunOptions) -> bool:
    """Whether a Ray run with ``options`` starts Ray while its input is listed (see
    :data:`EARLY_ENV`)."""
    forced = os.environ.get(EARLY_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    return options.early_start and "ray" not in sys.modules


def _finished_before(out: Path, recipe: Recipe) -> bool:
    """Whether ``OUT/manifest.json`` records a complete run of ``recipe``."""
    try:
        manifest = json.loads((out / "manifest.json").read_text("utf-8"))
        return bool(manifest.get("status") == COMPLETE and manifest.get("recipe") == recipe.to_dict())
    except (OSError, ValueError, AttributeError):
        return False
