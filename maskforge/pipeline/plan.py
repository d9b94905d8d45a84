"""The plan of a run: validated recipe, listing, identity-aligned shards, and stage keys.

A *stage key* is a short hash of everything a stage's output depends on (its configuration, the
configurations of the stages before it, the seed where it is random). Cached stage outputs live in
folders named by their key, so changing, say, the cleaning threshold reuses detection and
embeddings, while changing the detector recomputes everything after it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io.schema import SCHEMA_VERSION
from ..io.sharding import Shard, make_shards
from ..io.sources import Listing
from ..recipe import Recipe
from .layout import Layout


def config_key(*parts: Any) -> str:
    """12 hex characters identifying a JSON-serialisable configuration."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def shard_key(shard: Shard) -> str:
    """Identifies a shard's content (its sample ids) so a changed input invalidates it."""
    return config_key([s.sample_id for s in shard.samples])


@dataclass
class RunPlan:
    """Everything a worker needs to process any shard of the run."""

    recipe: dict[str, Any]
    input_path: str
    out: Path
    listing: Listing
    shards: list[Shard]
    stage_keys: dict[str, str] = field(default_factory=dict)
    identity_splits: dict[str, str] = field(default_factory=dict)
    dropped_identities: dict[str, str] = field(default_factory=dict)
    #: The embedder resolved at planning (name, requested, weights, sha256); {} without one.
    embed_identity: dict[str, Any] = field(default_factory=dict)

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


#: Keys that never change what a run produces.
_NON_SEMANTIC = ("name", "input", "output", "ray")


def make_plan(recipe: Recipe, listing: Listing, input_path: str, out: Path) -> RunPlan:
    data = recipe.to_dict()
    semantic = {k: v for k, v in data.items() if k not in _NON_SEMANTIC}
    source = {k: semantic["source"][k] for k in ("max_pixels", "min_side")}
    keys: dict[str, str] = {}
    keys["detect"] = config_key("detect", source, semantic.get("detect"))
    embed_identity, embed_parts = _plan_embedder(data)
    keys["embed"] = config_key("embed", keys["detect"], embed_parts)
    # columns and row order (SCHEMA_VERSION), and the resolved embedder, which decides which
    # samples cleaning keeps, are part of the dataset key too
    keys["dataset"] = config_key(
        "dataset", SCHEMA_VERSION, semantic, *([embed_parts] if embed_parts else [])
    )
    samples, dropped = choose_identities(listing, data)
    shards = make_shards(samples, data["source"]["shard_size"])
    splits: dict[str, str] = {}
    split = data.get("split")
    if split and split["by"] == "identity":
        from ..augment import assign_splits

        names = sorted({s.identity for s in samples})
        splits = assign_splits(names, names, split["val_fraction"], "identity", int(data["seed"]))
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
    )


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
