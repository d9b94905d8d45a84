"""The plan of a run: validated recipe, listing, identity-aligned shards, labels and keys.

A *stage key* is a short hash of everything a stage's output depends on (its configuration, the
configurations of the stages before it, the seed where it is random). Cached stage outputs live in
folders named by their key, so changing, say, the cleaning threshold reuses detection and
embeddings, while changing the detector recomputes everything after it.

A *shard key* identifies a shard's input: for every sample its id, identity, relative path,
geometry hints, and the file's size, modification time and status-change time (ctime) in
nanoseconds (see :func:`input_fingerprint`; docs/pipeline.md says why not a content hash). A
finished shard is reused only when both keys match.

*Shard boundaries never depend on the seed*: identities are packed in name order (after the
unseeded ``source.limit_identities``), and the seeded choices (identity splits, select-N,
variants) are made per row inside a shard, so changing ``seed`` reuses detection and embeddings.
Only ``select.max_identities``, which draws the identities themselves, changes what is packed.

The *label space* (:attr:`RunPlan.labels`, written to ``OUT/labels.csv``) is the identities the
plan keeps, sorted by name, numbered 0..K-1. Labels are given to rows when the dataset shard is
written, never stored in a stage cache; the dataset shard's key covers its identities' labels and
splits, so a changed label space rewrites exactly the shards whose labels moved.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..io.schema import SCHEMA_VERSION
from ..io.sharding import Shard, make_shards, resolve_shard_size
from ..io.sources import Listing, SourceSample
from ..models import check_licence, model_licence
from ..recipe import Recipe
from .context import RunContext, ShardJob, config_key

__all__ = ["RunPlan", "check_recipe_licence", "choose_identities", "config_key", "input_fingerprint",
           "label_space", "make_plan", "model_licences", "models_used", "recipe_context", "shard_key"]


def input_fingerprint(sample: SourceSample) -> list[Any]:
    """What identifies one input file's content: id, identity, relative path, hints, and the
    file's size (bytes), modification time and status-change time (ctime; both ns). ctime cannot
    be set back by a program (``os.utime`` sets it to now), so a file rewritten with the same size
    and its old mtime restored is still seen as changed. A missing file fingerprints as
    ``-1, -1, -1`` (the decode stage rejects it)."""
    try:
        st = os.stat(sample.path)
        size, mtime, ctime = st.st_size, st.st_mtime_ns, st.st_ctime_ns
    except OSError:
        size, mtime, ctime = -1, -1, -1
    return [sample.sample_id, sample.identity, sample.source_path, sample.hints, size, mtime, ctime]


def shard_key(shard: Shard) -> str:
    """Identifies a shard's input (every sample's :func:`input_fingerprint`), so an added,
    removed, renamed, touched or rewritten file invalidates the shard."""
    return config_key([input_fingerprint(s) for s in shard.samples])


def label_space(samples: list[SourceSample]) -> dict[str, int]:
    """``{identity: label}``: the identities of ``samples`` sorted by name, numbered 0..K-1."""
    return {name: i for i, name in enumerate(sorted({s.identity for s in samples}))}


@dataclass(kw_only=True)
class RunPlan(RunContext):
    """The driver's view of a run: the :class:`~.context.RunContext` workers get, plus the
    input, the listing and every shard. Workers get :meth:`context` and one
    :class:`~.context.ShardJob` per shard (:meth:`shard`)."""

    input_path: str
    listing: Listing
    shards: list[Shard]
    #: :func:`shard_key` of every shard (computed when the plan is made unless given).
    shard_keys: list[str] = field(default_factory=list)
    dropped_identities: dict[str, str] = field(default_factory=dict)
    #: ``source.shard_size`` resolved (``"auto"`` made a number); 0 when not planned from one.
    shard_size: int = 0

    def __post_init__(self) -> None:
        if not self.shard_keys:  # input keys are taken once, when the run is planned
            self.shard_keys = [shard_key(s) for s in self.shards]
        if not self.labels:
            self.labels = label_space([s for sh in self.shards for s in sh.samples])

    def shard(self, index: int) -> ShardJob:
        """The job of shard ``index``: its samples and input key."""
        return ShardJob(self.shards[index], self.shard_keys[index])


#: Keys that never change what a run produces.
_NON_SEMANTIC = ("name", "input", "output", "ray", "input_license", "licence")


def stage_keys(recipe: Recipe, embed_parts: dict[str, Any]) -> dict[str, str]:
    """The stage keys of ``recipe`` (see the module doc), composed of the parts each stage
    package gives (``detect.cache_key``, ``embed.cache_key``, ``occlude.cache_key``)."""
    data = recipe.to_dict()
    semantic = {k: v for k, v in data.items() if k not in _NON_SEMANTIC}
    source = {"max_pixels": recipe.source.max_pixels, "min_side": recipe.source.min_side}
    keys: dict[str, str] = {}
    keys["detect"] = config_key("detect", source, _detect_part(recipe))
    keys["embed"] = config_key("embed", keys["detect"], embed_parts)
    # columns and row order (SCHEMA_VERSION), detection and the resolved embedder (which decides
    # which samples cleaning keeps) are part of the dataset key too, and so are the occluder
    # assets' bytes when variants may draw them
    keys["dataset"] = config_key("dataset", SCHEMA_VERSION, semantic, keys["embed"], _assets_part(recipe))
    return keys


def resolve_aligned_input(recipe: Recipe, listing: Listing) -> Recipe:
    """``[detect] aligned = "auto"`` made concrete for a RecordIO input (``arcface-112``: its
    faces are aligned already), so that the detect key, the manifest and ``recipe.toml`` hold
    what runs. Elsewhere ``auto`` stays, and the detect stage detects."""
    if recipe.detect is None or recipe.detect.aligned != "auto":
        return recipe
    if not any(s.offset is not None for s in listing.samples):
        return recipe
    from ..detect.aligned import resolve_aligned

    detect = recipe.detect.model_copy(update={"aligned": resolve_aligned("auto", recordio_input=True)})
    return recipe.model_copy(update={"detect": detect})


def resolve_runtime_setting(recipe: Recipe) -> Recipe:
    """``[detect] runtime = "auto"`` made concrete (``torch`` or ``litert``,
    :meth:`~maskforge.detect.DetectConfig.resolved_runtime`) where BlazeFace or the mesh runs, as
    this process resolves it: the workers then run what the detect key, the manifest and
    ``recipe.toml`` say, also where they would resolve it otherwise (Ray's CPU actors see no GPU
    that this process sees). The occluders' hand check follows it (:func:`hand_runtime`)."""
    if recipe.detect is None or recipe.detect.runtime != "auto":
        return recipe
    runtime = recipe.detect.resolved_runtime()
    if runtime is None:
        return recipe
    return recipe.model_copy(update={"detect": recipe.detect.model_copy(update={"runtime": runtime})})


def recipe_context(
    recipe: Recipe, input_path: str | Path, out: str | Path, listing: Listing | None = None
) -> RunContext:
    """What a run's workers get that the recipe alone decides, before the input is listed: the
    recipe with its input and output as absolute paths and its MediaPipe runtime resolved
    (:func:`resolve_runtime_setting`), the stage keys and the resolved embedder (no labels,
    splits or writers yet). Enough to start workers and load their models
    while the listing and planning go on (:mod:`.ray_early`). With the ``listing``, a RecordIO
    input's ``aligned = "auto"`` is made concrete (:func:`resolve_aligned_input`). A model whose
    licence the recipe's ``licence`` excludes is refused here, before anything is written."""
    recipe = recipe.with_paths(str(Path(input_path).absolute()), str(Path(out).absolute()))
    if listing is not None:
        recipe = resolve_aligned_input(recipe, listing)
    recipe = resolve_runtime_setting(recipe)
    embed_identity, embed_parts = plan_embedder(recipe)
    check_recipe_licence(recipe, embed_identity)
    return RunContext(recipe=recipe, out=Path(out), stage_keys=stage_keys(recipe, embed_parts),
                      embed_identity=embed_identity)  # fmt: skip


def make_plan(recipe: Recipe, listing: Listing, input_path: str, out: Path) -> RunPlan:
    """The plan of ``recipe`` over ``listing``. The recipe recorded (manifest, ``recipe.toml``)
    carries the input and output actually used, as absolute paths."""
    base = recipe_context(recipe, input_path, out, listing)
    recipe = base.recipe
    samples, dropped = choose_identities(listing, recipe)
    splits: dict[str, str] = {}
    if recipe.split is not None and recipe.split.by == "identity":
        from ..augment import assign_splits

        names = sorted({s.identity for s in samples})
        splits = assign_splits(names, names, recipe.split.val_fraction, "identity", recipe.seed)
    shard_size = resolve_shard_size(recipe.source.shard_size, len(samples))
    shards = make_shards(samples, shard_size)  # never by split: boundaries ignore the seed
    return RunPlan(
        recipe=recipe,
        input_path=input_path,
        out=Path(out),
        listing=listing,
        shards=shards,
        stage_keys=base.stage_keys,
        identity_splits=splits,
        dropped_identities=dropped,
        embed_identity=base.embed_identity,
        shard_size=shard_size,
    )


def models_used(recipe: Recipe, embed_identity: dict[str, Any]) -> list[str]:
    """The models a run of ``recipe`` uses, by :data:`maskforge.models.MODEL_LICENCES` name: the
    detect stage's (:meth:`DetectConfig.models_used`) and the resolved embedder."""
    used = recipe.detect.models_used() if recipe.detect is not None else []
    occlude = recipe.occlude
    if recipe.variants is not None and (occlude is None or occlude.in_front != "off"):
        used.append("mediapipe-hands")  # occluders look for hands in front of the face
    if embed_identity.get("name"):
        used.append(str(embed_identity["name"]))
    return used


def model_licences(recipe: Recipe, embed_identity: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"model", "licence", "commercial", "source"}]`` of :func:`models_used`, for the
    manifest and the dataset card."""
    return [asdict(model_licence(name)) for name in dict.fromkeys(models_used(recipe, embed_identity))]


def _detect_part(recipe: Recipe) -> dict[str, Any] | None:
    """The detect stage's key parts; None without detection."""
    if recipe.detect is None:
        return None
    from ..detect.key import cache_key

    return cache_key(recipe.detect)


def _assets_part(recipe: Recipe) -> str | None:
    """The digest of the occluder assets a recipe's variants would read; None without variants."""
    if recipe.variants is None:
        return None
    from ..occlude.key import cache_key

    occlude = recipe.occlude
    runtime = hand_runtime(recipe)
    if occlude is None:
        return cache_key(None, None, runtime=runtime)
    return cache_key(occlude.asset_dirs, occlude.look, occlude.in_front, runtime)


def hand_runtime(recipe: Recipe) -> str:
    """The ``runtime`` setting of the occluders' hand models: the recipe's ``detect.runtime``
    (one setting for every MediaPipe model), ``auto`` without a ``[detect]`` table."""
    return recipe.detect.runtime if recipe.detect is not None else "auto"


def check_recipe_licence(recipe: Recipe, embed_identity: dict[str, Any] | None = None) -> None:
    """Refuse a recipe whose models its ``licence`` excludes (LicenceError naming each model and
    its licence). Commands call it before they create anything; planning calls it again."""
    if embed_identity is None:
        embed_identity = plan_embedder(recipe)[0]
    check_licence(models_used(recipe, embed_identity), recipe.licence)


def plan_embedder(recipe: Recipe) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved embedder and the parts of the embed key (empty without embeddings)."""
    if recipe.detect is None or (recipe.clean is None and recipe.embed is None and recipe.hygiene is None):
        return {}, {}
    from ..embed.key import cache_key, resolve_identity

    identity = resolve_identity(recipe.embed_config)
    return identity, cache_key(identity)


def choose_identities(listing: Listing, recipe: Recipe) -> tuple[list[SourceSample], dict[str, str]]:
    """Apply the dataset-wide identity limits before sharding.

    ``source.limit_identities`` keeps the first N identities by name (for trials);
    ``select.max_identities`` keeps a seeded random N among those with at least
    ``select.min_images`` listed images
    (:func:`~maskforge.augment.select.sample_identities`; ``min_images`` is applied again per
    shard after detection and cleaning, when images may have been lost).
    """
    counts: dict[str, int] = {}
    for s in listing.samples:
        counts[s.identity] = counts.get(s.identity, 0) + 1
    names = sorted(counts)
    dropped: dict[str, str] = {}
    limit = recipe.source.limit_identities
    if limit:
        dropped.update({n: "limit_identities" for n in names[limit:]})
        names = names[:limit]
    select = recipe.select
    if select is not None and select.max_identities:
        from ..augment.select import sample_identities

        eligible = [n for n in names if counts[n] >= select.min_images]
        keep = set(sample_identities(eligible, select.max_identities, recipe.seed))
        dropped.update({n: "max_identities" for n in names if n not in keep and n in eligible})
        names = [n for n in names if n in keep or n not in eligible]
    keep_names = set(names)
    return [s for s in listing.samples if s.identity in keep_names], dropped
