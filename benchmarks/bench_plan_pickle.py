"""What the Ray executor sends its actors, in bytes, at CASIA-WebFace size.

    PYTHONPATH=. python benchmarks/bench_plan_pickle.py [--files 494414] [--identities 10575]

(run from a checkout's root: it imports the ``maskforge`` on ``PYTHONPATH`` and reads that
checkout's ``recipes/demo.toml``, so the same script measures an older checkout too).

Plans ``recipes/demo.toml`` over a synthetic listing (no files are made: the shard keys then
fingerprint every file as missing, which changes no size) and prints the pickled size of what
each actor receives: the whole plan (what maskforge pickled to every actor before issue 19, and
what it still is when run against an older checkout), or, where the plan has ``context()``, the
unit of work (:class:`maskforge.pipeline.shard_work.ShardWork`, once per actor) and the shard job
that travels with each call (largest and mean).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from pathlib import Path


def synthetic_listing(files: int, identities: int, root: Path):  # noqa: ANN201
    """``files`` samples over ``identities`` folders of near-equal size (ids as the lister
    makes them)."""
    from maskforge.io.sources import Listing, SourceSample, sample_id_for

    names = [f"{i:07d}" for i in range(identities)]
    samples = []
    for k in range(files):
        name = names[k % identities]
        rel = f"{name}/{k:06d}.jpg"
        samples.append(SourceSample(sample_id_for(rel), name, k % identities, rel, root / rel))
    return Listing(root=root, samples=samples, labels={n: i for i, n in enumerate(names)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=494_414)
    ap.add_argument("--identities", type=int, default=10_575)
    args = ap.parse_args()
    from maskforge.pipeline.plan import make_plan
    from maskforge.recipe import load_recipe

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "casia"
        listing = synthetic_listing(args.files, args.identities, root)
        plan = make_plan(load_recipe(Path("recipes") / "demo.toml"), listing, str(root), Path(tmp) / "out")
    whole = len(pickle.dumps(plan))
    print(f"{args.files} files, {args.identities} identities, {len(plan.shards)} shards")
    print(f"whole plan pickled: {whole / 1e6:.1f} MB (each actor, before)")
    if hasattr(plan, "context"):
        from maskforge.pipeline.shard_work import ShardWork

        work = len(pickle.dumps(ShardWork(plan.context(), True)))
        jobs = [len(pickle.dumps(plan.shard(s.index))) for s in plan.shards]
        print(f"unit of work pickled: {work / 1e6:.2f} MB (each actor, once)")
        print(f"shard job pickled: largest {max(jobs) / 1e3:.1f} kB, mean {sum(jobs) / len(jobs) / 1e3:.1f} kB (each call)")


if __name__ == "__main__":
    main()
