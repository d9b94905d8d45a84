"""``--models DIR``: an insightface model-pack folder as the detector and the embedder of a
command (:func:`maskforge.onnxrt.model_pack` finds them by their graphs' signatures)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from ..onnxrt import model_pack
from ..recipe import Recipe, load_recipe


def run_overrides(
    recipe: Recipe | str | os.PathLike[str], overrides: Sequence[str], models: str | None
) -> tuple[str, ...]:
    """``--set`` overrides for ``maskforge run --models DIR``: the pack's detector for a recipe
    that detects, its embedder for one that embeds or cleans, then the user's own ``--set``
    (which win). Without ``models``, the user's overrides as they are."""
    if not models:
        return tuple(overrides)
    pack = model_pack(models)
    loaded = load_recipe(recipe, overrides)
    extra = []
    if loaded.has("detect"):
        extra.append(f"detect.detector={json.dumps(pack.require('detector'))}")
    if loaded.has("embed") or loaded.has("clean"):
        extra.append(f"embed.embedder={json.dumps(pack.require('embedder'))}")
    return (*extra, *overrides)


def choose(role: str, given: str | None, models: str | None, default: str) -> str:
    """The detector or embedder of a direct command: the one given by name, else the model
    pack's, else ``default``."""
    if given:
        return given
    if models:
        return model_pack(models).require(role)
    return default
