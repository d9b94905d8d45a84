"""The last per-shard step: clean, select, split, make variants, write the dataset shard.

Inputs are the detect/embed caches of the shard (or the decoded originals when the recipe has no
``[detect]``). Outputs, all written before the dataset shard's stats file (which marks it done):
``rejects/``, ``removed/``, ``clean_scores/`` and ``dataset/`` shard files. A shard being redone
loses its done mark first, so side tables of a half-finished attempt are never served.
Every row's ``label`` is given here, from the plan's label space (``OUT/labels.csv``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa

from ..clean.keep import KeepList, read_keep
from ..io.schema import REJECT_SCHEMA, SAMPLE_SCHEMA, to_table
from ..io.writer import is_done, read_stats, verified_done, write_shard, write_table_atomic
from .context import RunContext
from .decode_stage import decode_samples
from .detect_task import DetectTask, base_row
from .embed_task import EmbedTask
from .progress import Tick, ticker
from .records import RejectRow, ShardStats
from .variant_stage import VariantMaker, write_order

if TYPE_CHECKING:
    from ..clean import CleanConfig

#: Rows whose hands in front of the face are looked for in one batch (the hand models' batch).
FRONT_BATCH = 32

CLEAN_SCORE_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("identity", pa.string()),
        ("source_path", pa.string()),
        ("clean_score", pa.float32()),
        ("threshold", pa.float32()),
        ("flagged", pa.bool_()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("method", pa.string()),
        ("embedder", pa.string()),
        ("nearest_identity", pa.string()),
        ("nearest_distance", pa.float32()),
        ("image", pa.binary()),
    ]
)


def rejected_scores(rejects: list[RejectRow], method: str, embedder: str) -> list[dict[str, Any]]:
    """clean_scores rows (status ``rejected``, reason ``stage:reason``, no score) for the inputs
    that decoding or detection rejected, so the cleaning audit accounts for every input."""
    return [
        {"sample_id": r["sample_id"], "identity": r["identity"], "source_path": r["source_path"],
         "clean_score": None, "threshold": None, "flagged": False, "status": "rejected",
         "reason": f"{r['stage']}:{r['reason']}", "method": method, "embedder": embedder,
         "nearest_identity": None, "nearest_distance": None, "image": None}
        for r in rejects
    ]


class FinishTask:
    """``task(index) -> stats``: the dataset shard ``index`` and its side tables."""

    def __init__(self, plan: RunContext) -> None:
        self.plan = plan
        self.detect = DetectTask(plan) if plan.has("detect") else None
        self.embed = EmbedTask(plan) if plan.needs_embeddings else None
        self._variants: VariantMaker | None = None

    @property
    def variants(self) -> VariantMaker:
        if self._variants is None:
            self._variants = VariantMaker(self.plan)
        return self._variants

    def key(self, index: int) -> str:
        return self.plan.dataset_key(index)

    def warm(self) -> None:
        """Build the augmentation pipeline and load the occluder assets now."""
        if self.variants.variants is not None:
            _ = self.variants.pipeline, self.variants.library

    def is_done(self, index: int) -> bool:
        layout = self.plan.layout
        parquet = layout.shard_file(layout.dataset, index)
        stats = read_stats(parquet) if is_done(parquet) else None
        if stats is None or stats.get("key") != self.key(index):
            return False
        return verified_done(parquet, warn=logging.getLogger("maskforge").warning)  # sizes + hashes

    # ------------------------------------------------------------------ inputs
    def _inputs(self, index: int) -> tuple[list[dict[str, Any]], list[RejectRow], dict]:
        """Rows with their decoded ``pixels``, reject rows, and seconds spent."""
        plan = self.plan
        if self.detect is None:
            t0 = time.perf_counter()
            source = plan.recipe.source
            decoded, rejects = decode_samples(
                plan.shard(index).shard.samples, max_pixels=source.max_pixels, min_side=source.min_side
            )
            rows = []
            for d in decoded:
                data, fmt = d.original_bytes()
                rows.append({**base_row(d.sample), "variant": "original", "image": data,
                             "image_format": fmt, "pixels": d.pixels})
            return rows, rejects, {"decode": time.perf_counter() - t0}
        rows = self.detect.cache.read(index).to_pylist()
        for r in rows:
            r["pixels"] = None  # decoded on demand (PNG crops)
        return rows, self.detect.cache.read_rejects(index), {}

    # ------------------------------------------------------------------ main
    def __call__(self, index: int, resume: bool = True, tick: Tick | None = None) -> ShardStats:
        """``tick(n)``: input images of the shard handled so far (see :mod:`.progress`)."""
        plan, layout = self.plan, self.plan.layout
        dataset_file = layout.shard_file(layout.dataset, index)
        if resume and self.is_done(index):
            return cast(ShardStats, {**(read_stats(dataset_file) or {}), "skipped": True})
        shard = plan.shard(index).shard
        dataset_file.unlink(missing_ok=True)  # not done (nor served) until rewritten
        rows, rejects, seconds = self._inputs(index)
        rows, hygiene_counts = self._apply_hygiene(rows)
        for r in rows:
            r["label"] = plan.labels[r["identity"]]
        removed: list[dict[str, Any]] = []
        scores: list[dict[str, Any]] = []
        clean_summary: dict[str, Any] = {}

        if self.embed is not None:
            emb = self.embed.cache.read(index)
            by_id = dict(zip(emb.column("sample_id").to_pylist(), emb.column("embedding").to_pylist(), strict=True))
            for r in rows:
                r["embedding"] = by_id.get(r["sample_id"])
        clean = plan.recipe.clean
        if clean is not None and rows:
            t0 = time.perf_counter()
            rows, removed, scores, clean_summary = self._clean(rows, index, clean)
            seconds["clean"] = time.perf_counter() - t0
        if clean is not None and rejects:  # the audit lists the inputs with no usable face too
            scores += rejected_scores(rejects, str(clean.method), self._embedder_name(index))

        rows, selection_stats = self._select(rows)
        if plan.has("split") and rows:
            self._split(rows)

        t0 = time.perf_counter()
        out_rows = self._make_variants(rows, rejects, len(shard.samples), ticker(tick))
        seconds["variants"] = time.perf_counter() - t0

        stats: ShardStats = {
            "shard": index,
            "key": self.key(index),
            "inputs": len(shard.samples),
            "identities": len(shard.identities),
            "samples": len(out_rows),
            "rejects": len(rejects),
            "rejects_by_reason": dict(Counter(f"{r['stage']}:{r['reason']}" for r in rejects)),
            "removed": len(removed),
            "flagged": clean_summary.get("flagged", 0),
            "variants": dict(Counter(r["variant"] for r in out_rows)),
            "occluders": dict(Counter(f"{o['kind']}:{o['name']}" for r in out_rows for o in r.get("occluders") or [])),
            "selection": selection_stats,
            "per_identity_input": dict(Counter(s.identity for s in shard.samples)),
            "per_identity_output": dict(Counter(i for i, _ in {(r["identity"], r["sample_id"]) for r in out_rows})),
            "clean": clean_summary,
            "seconds": seconds,
            "skipped": False,
        }
        if hygiene_counts:
            stats["hygiene_removed"], stats["relabelled"] = hygiene_counts
        self._write(index, out_rows, {"rejects": rejects, "removed": removed, "scores": scores}, stats)
        return stats

    def _apply_hygiene(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
        """Hygiene's decisions (``plan.hygiene``): removed samples leave (their record, with
        reason and partner, is in OUT/hygiene.parquet), merged ones take their new identity."""
        decisions = self.plan.hygiene
        if not decisions:
            return rows, None
        kept, removed, relabelled = [], 0, 0
        for r in rows:
            new = decisions.get(r["sample_id"])
            if new == "":
                removed += 1
                continue
            if new:
                r["identity"] = new
                relabelled += 1
            kept.append(r)
        return kept, (removed, relabelled)

    def _write(self, index: int, out_rows: list, side: dict[str, list], stats: ShardStats) -> None:
        """The shard's side tables (rejects; removed and clean_scores when cleaning), then its
        dataset file with ``stats`` (which marks the shard done) last."""
        plan, layout = self.plan, self.plan.layout
        t0 = time.perf_counter()
        sides = [layout.shard_file(layout.rejects, index)]
        write_table_atomic(to_table(side["rejects"], REJECT_SCHEMA), sides[0])
        if plan.has("clean"):
            sides += [layout.shard_file(layout.removed, index), layout.shard_file(layout.clean_scores, index)]
            write_table_atomic(to_table(side["removed"], SAMPLE_SCHEMA), sides[1])
            write_table_atomic(to_table(side["scores"], CLEAN_SCORE_SCHEMA), sides[2])
        table = to_table(write_order(out_rows, plan.seed, index), SAMPLE_SCHEMA)
        stats["seconds"]["write"] = time.perf_counter() - t0
        write_shard(table, layout.shard_file(layout.dataset, index), stats, side=tuple(sides))

    # ------------------------------------------------------------------ steps
    def _select(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Select-N per identity (seeded), when the recipe has ``[select]``: the rows kept and
        the selection's counts."""
        sel_cfg = self.plan.recipe.select
        if sel_cfg is None or not rows:
            return rows, {}
        from ..augment import select_per_identity

        sel = select_per_identity(
            [r["sample_id"] for r in rows], [r["identity"] for r in rows],
            per_identity=sel_cfg.per_identity, min_images=sel_cfg.min_images,
            max_identities=None, seed=self.plan.seed,
        )  # fmt: skip
        kept = [r for r in rows if r["sample_id"] in sel]
        return kept, {"counts_before": sel.counts_before, "dropped": sel.dropped}

    def _make_variants(
        self, rows: list[dict[str, Any]], rejects: list[RejectRow], inputs: int, tick: Tick
    ) -> list[dict[str, Any]]:
        """The output rows of every kept row (variant rejects go to ``rejects``), reporting
        progress in input images after each."""
        out_rows: list[dict[str, Any]] = []
        for i, r in enumerate(rows, 1):
            if (i - 1) % FRONT_BATCH == 0:  # hands in front of the faces, found in batches
                self.variants.prepare(rows[i - 1 : i - 1 + FRONT_BATCH])
            made, variant_rejects = self.variants.make(r)
            out_rows.extend(made)
            rejects.extend(cast(list[RejectRow], variant_rejects))
            tick(inputs * i // len(rows))
        return out_rows

    def _keep(self, config: CleanConfig) -> KeepList:
        """The keep list, its paths made relative to the run's input folder (absolute, relative
        to the list or to the working folder, as people write them)."""
        keep = read_keep(config.keep)
        recorded = self.plan.recipe.input
        if not keep.paths or recorded is None:
            return keep
        root = Path(recorded)
        return keep.resolved(root.parent if root.suffix.lower() in (".csv", ".parquet") else root)

    def _clean(
        self, rows: list[dict[str, Any]], index: int, clean: CleanConfig
    ) -> tuple[list, list, list, dict]:
        from ..clean import score_identities

        usable = [r for r in rows if r.get("embedding") is not None]
        config = clean.with_embedder(self._embedder_name(index))
        if not usable:
            return rows, [], [], {}
        res = score_identities(
            np.asarray([r["embedding"] for r in usable], np.float32),
            [r["identity"] for r in usable],
            config,
            source_paths=[r["source_path"] for r in usable],
            sample_ids=[r["sample_id"] for r in usable],
            keep=self._keep(config),
        )
        kept, removed, scores = [], [], []
        gone = res.removed
        for i, r in enumerate(usable):
            r["clean_score"] = None if np.isnan(res.score[i]) else float(res.score[i])
            r["clean_flagged"] = bool(res.flagged[i])
            scores.append({
                "sample_id": r["sample_id"], "identity": r["identity"], "source_path": r["source_path"],
                "clean_score": r["clean_score"],
                "threshold": None if np.isnan(res.threshold[i]) else float(res.threshold[i]),
                "flagged": bool(res.flagged[i]), "status": str(res.status[i]), "reason": str(res.reason[i]),
                "method": res.method, "embedder": res.embedder,
                "nearest_identity": res.nearest_identity[i] if res.nearest_identity[i] else None,
                "nearest_distance": None if np.isnan(res.nearest_distance[i]) else float(res.nearest_distance[i]),
                "image": r["image"],
            })
            if gone[i]:
                removed.append({k: v for k, v in r.items() if k != "pixels"})
            else:
                kept.append(r)
        summary = res.summary()
        return kept, removed, scores, summary

    def _embedder_name(self, index: int) -> str:
        """The embedder that made shard ``index``'s vectors: read from the embed cache's stats
        (the embedder itself is never loaded here), else the one the plan resolved."""
        if self.embed is None:  # cleaning without embeddings: never planned (recipe checks)
            return str(self.plan.embed_identity.get("name") or self.plan.recipe.embed_config.embedder)
        model = self.embed.stored_model(index) or {}
        return model.get("name") or self.embed.embedder_name

    def _split(self, rows: list[dict[str, Any]]) -> None:
        cfg = self.plan.recipe.split
        if cfg is None:
            return
        if cfg.by == "identity":
            for r in rows:
                r["split"] = self.plan.identity_splits.get(r["identity"], "train")
            return
        from ..augment import assign_splits

        splits = assign_splits(
            [r["sample_id"] for r in rows], [r["identity"] for r in rows],
            val_fraction=cfg.val_fraction, by="image", seed=self.plan.seed,
        )
        for r in rows:
            r["split"] = splits[r["sample_id"]]


