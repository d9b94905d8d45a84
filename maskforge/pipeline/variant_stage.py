"""Expanding a sample into the recipe's variants (occluders + augmentation) and encoding them.

Without a variant plan a sample yields one row: ``original`` (the input's bytes) or ``aligned``
(the crop, encoded as the recipe's ``[encode]`` says). With a plan (``variants = "reference"`` or
a ``[[variants]]`` list) each variant is made by :func:`maskforge.augment.apply_variant`, with
occluders drawn by :mod:`maskforge.occlude` from the sample's 68 landmarks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..io.decode import decode_image, encode_image
from ..recipe import Recipe
from ..seeding import ROW_ORDER, rng_for
from ..vocab import OCCLUDED_LOWER_FACE
from .context import RunContext


def encode_mask(mask: np.ndarray) -> bytes:
    """A boolean ``(H, W)`` mask as an 8-bit grayscale PNG (255 = covered)."""
    ok, buf = cv2.imencode(".png", np.where(mask, 255, 0).astype(np.uint8))
    if not ok:  # pragma: no cover
        raise ValueError("could not encode the occlusion mask")
    return buf.tobytes()


def write_order(rows: list[dict[str, Any]], seed: int, shard: int) -> list[dict[str, Any]]:
    """``rows`` in a seeded random order (from ``(seed, "row-order", shard)``).

    Dataset shards are written in this order so that every row group mixes the shard's
    identities and an image's variants land in different row groups: a streaming reader that
    shuffles row groups and passes rows through a buffer then gets batches with about as many
    identities as a full shuffle (see docs/pipeline.md, "Shuffling").
    """
    order = rng_for(seed, ROW_ORDER, shard).permutation(len(rows))
    return [rows[i] for i in order]


def variants_of(recipe: Recipe | Mapping[str, Any]) -> list[Any] | None:
    """The recipe's variant plan, or None when it has none (a :class:`Recipe`, or its plain
    data)."""
    spec = recipe.variants if isinstance(recipe, Recipe) else recipe.get("variants")
    if spec is None:
        return None
    from ..augment import builtin_plan, parse_variants

    return builtin_plan(spec) if isinstance(spec, str) else parse_variants(list(spec))


def make_render(library: Any, yaw: float | None, look: Any = None, keep: Any = None):  # noqa: ANN201
    """An occluder renderer with the signature :func:`maskforge.augment.apply_variant` expects;
    ``look``: the recipe's ``occlude.look`` (:class:`maskforge.occlude.look.PhotoLook`);
    ``keep``: (H, W) bool pixels in front of the face (:mod:`maskforge.occlude.front`)."""
    from ..occlude import render_occluder
    from ..occlude.spec import occluder_spec

    def render(image, landmarks68, name, rng, wear, color):  # noqa: ANN001, ANN202
        spec = occluder_spec(name, wear, color)
        res = render_occluder(
            image, landmarks68, spec, rng, yaw=yaw, library=library, look=look, keep=keep
        )
        return res.image, res.mask, res.info

    return render


class VariantMaker:
    """Makes the output rows of one sample."""

    def __init__(self, plan: RunContext) -> None:
        self.plan = plan
        enc = plan.recipe.encode
        self.fmt, self.quality = enc.image_format, enc.quality
        self.variants = variants_of(plan.recipe)
        self._pipeline: Any = None
        self._library: Any = None
        self._guard: Any = None
        self._fronts: dict[str, Any] = {}

    @property
    def pipeline(self):  # noqa: ANN201
        if self._pipeline is None:
            from ..augment import build_pipeline

            self._pipeline = build_pipeline(self.plan.recipe.augment)
        return self._pipeline

    @property
    def library(self):  # noqa: ANN201
        if self._library is None:
            from ..occlude import AssetLibrary

            occlude = self.plan.recipe.occlude
            dirs: list[str | Path] | None = None
            if occlude is not None and occlude.asset_dirs is not None:
                dirs = list(occlude.asset_dirs)
            self._library = AssetLibrary.load(extra_dirs=dirs)
        return self._library

    @property
    def guard(self):  # noqa: ANN201 - maskforge.occlude.front.FrontGuard
        if self._guard is None:
            from ..occlude.front import FrontGuard
            from .plan import hand_runtime

            occlude = self.plan.recipe.occlude
            self._guard = FrontGuard(occlude.in_front if occlude is not None else "keep",
                                     runtime=hand_runtime(self.plan.recipe))  # fmt: skip
        return self._guard

    def prepare(self, rows: list[dict[str, Any]]) -> None:
        """Look for hands in front of the faces of ``rows`` in one batch (before :meth:`make`);
        only the rows whose variants draw occluders are looked at."""
        variants = self.variants or []
        if self.guard.mode == "off" or not any(v.occluder is not None for v in variants):
            return
        todo = [r for r in rows if r.get("landmarks68") is not None]
        fronts = self.guard(
            [self._pixels(r) for r in todo],
            [np.asarray(r["landmarks68"], np.float64) for r in todo],
        )
        for r, front in zip(todo, fronts, strict=True):
            if front.keep is not None or front.reject is not None:
                self._fronts[r["sample_id"]] = front
        self._fronts.update({r["sample_id"]: None for r in todo if r["sample_id"] not in self._fronts})

    def _front(self, row: dict[str, Any], lm68: np.ndarray) -> Any:
        """The row's :class:`maskforge.occlude.front.Front` (None when nothing is in front)."""
        if self.guard.mode == "off":
            return None
        if row["sample_id"] not in self._fronts:
            self.prepare([row])
        return self._fronts.pop(row["sample_id"], None)

    def _encode(self, pixels: np.ndarray) -> bytes:
        return encode_image(pixels, self.fmt, self.quality)

    def make(self, row: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        base = {k: v for k, v in row.items() if k != "pixels"}
        base["seed"] = self.plan.seed
        base["occluded"] = False
        if self.variants is None:
            if base["variant"] != "original":
                pixels = self._pixels(row)
                base.update(image=self._encode(pixels), image_format=self.fmt)
            return [base], []
        return self._expand(row, base)

    def _pixels(self, row: dict[str, Any]) -> np.ndarray:
        if row.get("pixels") is None:
            row["pixels"] = decode_image(row["image"])
        return row["pixels"]

    def _expand(self, row: dict[str, Any], base: dict[str, Any]) -> tuple[list, list]:
        from ..augment import Targets, apply_variant

        variants = self.variants or []
        pixels = self._pixels(row)
        lm5 = None if row.get("landmarks5") is None else np.asarray(row["landmarks5"], np.float32)
        lm68 = None if row.get("landmarks68") is None else np.asarray(row["landmarks68"], np.float32)
        bbox = None if row.get("bbox") is None else np.asarray(row["bbox"], np.float32)
        yaw = None if row.get("pose") is None else float(row["pose"][0])
        needs_occluder = any(v.occluder is not None for v in variants)
        occlude = self.plan.recipe.occlude
        look = occlude.look if occlude is not None else None
        front = self._front(row, lm68) if needs_occluder and lm68 is not None else None
        keep = None if front is None else front.keep
        render = make_render(self.library, yaw, look, keep) if needs_occluder and lm68 is not None else None
        out, rejects = [], []
        for variant in variants:
            if front is not None and front.reject is not None and variant.occluders:
                rejects.append({
                    "sample_id": row["sample_id"], "source_path": row["source_path"], "identity": row["identity"],
                    "stage": "occlude", "reason": OCCLUDED_LOWER_FACE, "detail": f"variant {variant.key}: {front.reject}",
                })
                continue
            targets = Targets(pixels, landmarks5=lm5, landmarks68=lm68, bbox=bbox)
            res = apply_variant(targets, variant, self.pipeline, self.plan.seed, row["sample_id"], render=render)
            if res.reject is not None:
                rejects.append({
                    "sample_id": row["sample_id"], "source_path": row["source_path"], "identity": row["identity"],
                    "stage": res.reject.get("stage", "variants"), "reason": res.reject["reason"],
                    "detail": f"variant {variant.key}: {res.reject.get('detail', '')}",
                })
                continue
            t = res.targets
            h, w = t.image.shape[:2]
            out.append({
                **base,
                "variant": variant.key,
                "image": self._encode(t.image),
                "image_format": self.fmt,
                "width": w,
                "height": h,
                "bbox": t.bbox,
                "landmarks5": t.landmarks5,
                "landmarks68": t.landmarks68,
                "occluders": [
                    {k: (None if o.get(k) is None else str(o.get(k))) for k in ("kind", "name", "color", "texture", "wear")}
                    for o in res.occluders
                ],
                "occluded": bool(res.occluders),
                "occlusion_mask": None if t.occlusion_mask is None else encode_mask(t.occlusion_mask),
                "augment": json.dumps(res.augment, sort_keys=True, separators=(",", ":")),
                "seed": int(res.seed),
            })
        return out, rejects
