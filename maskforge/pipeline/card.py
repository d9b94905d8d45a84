"""``OUT/README.md``: the dataset card of a run (Hugging Face dataset-card format).

What was built and how (the resolved recipe, versions, embedder and weights sha256), counts per
split, variant and occluder, rejects and removals, the licences that apply, and a ``configs:``
block listing the dataset files. Shards are packed without looking at the seed (so a new seed
reuses the detection and embedding caches), hence a file may hold train and val rows: every file
is listed under ``train`` and the ``split`` column marks the val rows.
A ``dataset_info.features`` block declares every column (:mod:`maskforge.io.hf_features`), so
``datasets.load_dataset(OUT)`` decodes ``image`` / ``occlusion_mask`` as images and ``label`` as a
``ClassLabel`` named by the identities.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
import pyarrow.parquet as pq

from ..io.hf_features import features_yaml
from ..io.schema import SAMPLE_SCHEMA
from ..io.writer import write_text_atomic
from .plan import RunPlan
from .resolved import to_toml

LANDMARKS_LICENCE = (
    "dlib's 68-point landmark model (`shape_predictor_68_face_landmarks.dat`) placed every "
    "landmark, pose and occluder of this dataset. It was trained on iBUG 300-W, whose licence "
    "excludes commercial use: **this dataset inherits that restriction (non-commercial use "
    "only)**."
)
NO_INPUT_LICENCE = (
    "not stated (set `input_license = \"...\"` in the recipe). The input dataset's own terms "
    "apply to every image here: check them before you share this dataset or train on it."
)

CARD = """---
license: other
license_name: {{ license_name }}
tags:
- face-recognition
- masked-face-recognition
- maskforge
configs:
- config_name: default
  data_files:
{%- for split, files in data_files.items() %}
  - split: {{ split }}
    path:
{%- for f in files %}
    - {{ f }}
{%- endfor %}
{%- endfor %}
dataset_info:
{{ features }}
---

# {{ name }}

A masked-face recognition training set built by maskforge {{ versions.maskforge or "" }} from
`{{ input }}` on {{ created }}: {{ counts.samples }} rows of {{ identities }} identities
(labels 0..{{ identities - 1 }}, see `labels.csv`), in {{ files | length }} Parquet files under
`dataset/`. Columns are described in maskforge's docs/schema.md.
{%- if split_note %}

{{ split_note }}
{%- endif %}

## Counts

| | rows |
|---|---|
{%- for split, n in per_split.items() %}
| split {{ split }} | {{ n }} |
{%- endfor %}
{%- for v, n in counts.variants.items() %}
| variant {{ v }} | {{ n }} |
{%- endfor %}
{%- for o, n in counts.occluders.items() %}
| occluder {{ o }} | {{ n }} |
{%- endfor %}

| input | count |
|---|---|
| images listed | {{ counts.listed }} |
| rejected (`rejects.parquet`) | {{ counts.rejects }} |
{%- for reason, n in counts.rejects_by_reason.items() %}
| &nbsp; {{ reason }} | {{ n }} |
{%- endfor %}
{%- if counts.cleaned %}
| flagged by cleaning | {{ counts.flagged }} |
| removed by cleaning (`removed.parquet`) | {{ counts.removed }} |
{%- endif %}
{%- if counts.hygiene %}
| hygiene: duplicate sets (across identities) | {{ counts.hygiene.duplicate_sets }} ({{ counts.hygiene.duplicate_sets_across_identities }}) |
| hygiene: identity pairs that look like one person | {{ counts.hygiene.same_person_pairs }} |
| hygiene: identities overlapping an evaluation set | {{ counts.hygiene.eval_overlaps }} |
| hygiene (`{{ counts.hygiene.action }}`): images removed / relabelled (`hygiene.parquet`) | {{ counts.hygiene.applied_removed }} / {{ counts.hygiene.applied_relabelled }} |
{%- endif %}
{%- for reason, n in counts.dropped_identities.items() %}
| identities dropped ({{ reason }}) | {{ n }} |
{%- endfor %}

## How it was built

- seed {{ seed }}; stage keys {{ keys }}
{%- for stage, model in models.items() %}
- {{ stage }}: {% for k, v in model.items() %}{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}
{%- endfor %}
- versions: {% for k, v in versions.items() if v %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}

The resolved recipe (also in `recipe.toml`; `maskforge run recipe.toml` plans this run again):

```toml
{{ recipe_toml }}```

## Licences

- **Input data**: {{ input_license }}
- **maskforge** (the code that built this) is Apache-2.0; its occluder assets are drawn by its own
  code.
{%- if landmarks_licence %}
- **Landmarks**: {{ landmarks_licence }}
{%- endif %}
{%- if model_licences %}
- **Models used** (recipe `licence = "{{ licence }}"`):
{%- for m in model_licences %}
  - `{{ m.name }}`: {{ m.licence }}; commercial use: {{ {True: "allowed", False: "excluded", None: "not established"}[m.commercial] }}
{%- endfor %}
{%- endif %}
"""


def split_files(plan: RunPlan, files: list[str]) -> tuple[dict[str, list[str]], str]:
    """``{"train": [dataset file]}`` for the ``configs:`` block, and a note for the reader."""
    note = (
        "Validation rows are marked by the `split` column: shards are packed independently of "
        "the seed (so a new seed reuses the detection and embedding caches), so train and val "
        "rows share files, and every file is listed under `train`."
        if plan.has("split") else ""
    )
    return {"train": files}, note


def rows_per_split(out: Path, files: list[str]) -> dict[str, int]:
    """Rows per value of the ``split`` column (``none`` when a recipe has no split)."""
    counts: Counter = Counter()
    for f in files:
        col = pq.read_table(out / f, columns=["split"]).column("split").to_pylist()
        counts.update(s or "none" for s in col)
    return dict(sorted(counts.items()))


def render_card(plan: RunPlan, manifest: dict[str, Any]) -> str:
    """The dataset card's Markdown text."""
    files = list(manifest.get("dataset_files") or [])
    data_files, note = split_files(plan, files)
    recipe = plan.recipe
    licences = manifest.get("model_licences") or []
    used = {m["name"] for m in licences}
    non_commercial = any(m["commercial"] is False for m in licences)
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)
    return env.from_string(CARD).render(
        license_name="non-commercial (see Licences)" if non_commercial else "see Licences",
        data_files=data_files,
        features=features_yaml(SAMPLE_SCHEMA, plan.labels),
        split_note=note,
        name=recipe.name or "maskforge dataset",
        versions=manifest.get("versions") or {},
        input=manifest.get("input"),
        created=manifest.get("created"),
        counts=manifest["counts"],
        identities=len(plan.labels),
        files=files,
        per_split=rows_per_split(plan.out, files),
        seed=recipe.seed,
        keys=", ".join(f"{k}={v}" for k, v in plan.stage_keys.items()),
        models=manifest.get("models") or {},
        recipe_toml=to_toml(recipe.to_dict()),
        input_license=recipe.input_license or NO_INPUT_LICENCE,
        landmarks_licence=LANDMARKS_LICENCE if "dlib-68" in used else "",
        model_licences=licences,
        licence=recipe.licence,
    )


def write_card(plan: RunPlan, manifest: dict[str, Any]) -> Path:
    """Write ``OUT/README.md``."""
    path = plan.out / "README.md"
    write_text_atomic(render_card(plan, manifest), path)
    return path
