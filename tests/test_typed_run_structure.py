"""Issue 19's structure: public names, a cheap import, seed streams from one registry, the
small unit of work the executors send, one max_identities sampler."""

from __future__ import annotations

import ast
import inspect
import pickle
import subprocess
import sys
from pathlib import Path

import maskforge
from maskforge import errors, seeding

PACKAGE = Path(maskforge.__file__).resolve().parent


def test_public_names_are_visible() -> None:
    public = {"run", "read_shards", "list_samples", "decode_image"}
    exceptions = {n for n, c in vars(errors).items() if inspect.isclass(c) and issubclass(c, errors.MaskforgeError)}
    assert "IncompleteRunError" in exceptions
    for name in public | exceptions:
        assert name in dir(maskforge), name
        assert name in maskforge.__all__, name
    assert maskforge.IncompleteRunError is errors.IncompleteRunError
    assert not hasattr(maskforge, "__getattr__")


def test_import_is_cheap() -> None:
    code = "import sys, maskforge; print(sorted(m for m in ('pyarrow', 'cv2', 'ray', 'torch', 'maskforge.pipeline') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_seed_streams_come_from_the_registry() -> None:
    assert len(set(seeding.STREAMS)) == len(seeding.STREAMS)
    literal = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "seeding.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("rng_for", "derive_seed")
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)):
                literal.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert literal == []


def _listing(root: Path, identities: int, per_identity: int):  # noqa: ANN202
    from maskforge.io.sources import Listing, SourceSample, sample_id_for

    samples = []
    for i in range(identities):
        for k in range(per_identity):
            rel = f"id{i:04d}/{k:04d}.jpg"
            samples.append(SourceSample(sample_id_for(rel), f"id{i:04d}", i, rel, root / rel))
    return Listing(root=root, samples=samples, labels={f"id{i:04d}": i for i in range(identities)})


def _plan(tmp_path: Path, identities: int, per_identity: int, extra: str = ""):  # noqa: ANN202
    from maskforge.pipeline.plan import make_plan
    from maskforge.recipe import load_recipe

    recipe = load_recipe(text=f"seed = 3\n[source]\nshard_size = 50\n{extra}")
    return make_plan(recipe, _listing(tmp_path / "in", identities, per_identity), str(tmp_path / "in"), tmp_path / "out")


def test_workers_get_the_context_and_one_shard_per_call(tmp_path: Path) -> None:
    from maskforge.pipeline.shard_work import ShardWork

    small, large = _plan(tmp_path, 40, 5), _plan(tmp_path, 40, 50)
    work = [len(pickle.dumps(ShardWork(p.context(), True))) for p in (small, large)]
    assert work[0] == work[1]  # the unit of work does not grow with the listing
    assert work[1] * 10 < len(pickle.dumps(large))
    job = large.shard(3)
    assert job.index == 3 and job.shard is large.shards[3] and job.key == large.shard_keys[3]
    ctx = large.context()
    ctx.jobs[3] = job
    assert ctx.dataset_key(3) == large.dataset_key(3)
    assert ctx.recipe is large.recipe and ctx.recipe.source.shard_size == 50


def test_one_max_identities_sampler(tmp_path: Path) -> None:
    from maskforge.augment import select_per_identity

    plan = _plan(tmp_path, 30, 2, "[select]\nmax_identities = 7\n")
    planned = {s.identity for sh in plan.shards for s in sh.samples}
    samples = _listing(tmp_path / "in", 30, 2).samples
    sel = select_per_identity([s.sample_id for s in samples], [s.identity for s in samples], None,
                              max_identities=7, seed=3)  # fmt: skip
    assert len(planned) == 7 and set(sel.counts_after) == planned
