"""Issue 15 item 6: OUT/README.md (dataset card), OUT/recipe.toml (reproduces the run) and
``maskforge run --dry-run`` (prints the plan, writes nothing)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from maskforge.cli import main
from maskforge.pipeline.resolved import to_toml
from maskforge.recipe import load_recipe

from .test_pipeline_keys import manifest, write_identities

SPLIT = """seed = 4
input_license = "Synthetic test pixels, CC0"
[source]
shard_size = 3
[split]
val_fraction = 0.4
[[variants]]
name = "original"
augment = false
[[variants]]
name = "again"
augment = false
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "in"
    write_identities(src, {"Aa": 2, "Bb": 1, "Cc": 3, "Dd": 1, "Ee": 2})
    rec = tmp_path / "split.toml"
    rec.write_text(SPLIT)
    return src, rec


def _dataset_bytes(out: Path) -> dict[str, bytes]:
    return {f: (out / f).read_bytes() for f in manifest(out)["dataset_files"]}


def test_recipe_toml_reproduces_the_run(tmp_path: Path) -> None:
    src, rec = _setup(tmp_path)
    out = tmp_path / "out"
    code, text = invoke("run", str(rec), "--input", str(src), "--output", str(out),
                        "--executor", "local", "--quiet")
    assert code == 0, text
    resolved = tomllib.loads((out / "recipe.toml").read_text())
    assert resolved["input"] == str(src.absolute()) and resolved["output"] == str(out.absolute())
    assert manifest(out)["recipe"]["input"] == str(src.absolute())  # the command line's, not None
    # the resolved recipe alone, elsewhere: the same bytes
    again = tmp_path / "again"
    code, text = invoke("run", str(out / "recipe.toml"), "--output", str(again),
                        "--executor", "local", "--quiet")
    assert code == 0, text
    assert _dataset_bytes(again) == _dataset_bytes(out) and _dataset_bytes(out)
    assert (again / "labels.csv").read_bytes() == (out / "labels.csv").read_bytes()
    # and as is: the same run (same output), every shard reused
    code, text = invoke("run", str(out / "recipe.toml"), "--executor", "local", "--quiet")
    assert code == 0 and manifest(out)["shards"]["processed"] == 0


def test_dataset_card(tmp_path: Path, monkeypatch) -> None:
    src, rec = _setup(tmp_path)
    out = tmp_path / "out"
    code, text = invoke("run", str(rec), "--input", str(src), "--output", str(out),
                        "--executor", "local", "--quiet")
    assert code == 0, text
    card = (out / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    files = {s["split"]: s["path"] for s in front["configs"][0]["data_files"]}
    # shards ignore the seed (so a new seed reuses caches): files may hold both splits, all are
    # listed under train, and the split column marks the val rows
    assert set(files) == {"train"} and sorted(files["train"]) == manifest(out)["dataset_files"]
    assert "`split` column" in card
    rows = {"train": 0, "val": 0}
    for f in files["train"]:
        for value in pq.read_table(out / f, columns=["split"]).column("split").to_pylist():
            rows[value] += 1
    assert rows["train"] and rows["val"]
    for split, n in rows.items():
        assert f"| split {split} | {n} |" in card
    m = manifest(out)
    for variant, n in m["counts"]["variants"].items():
        assert f"| variant {variant} | {n} |" in card
    assert "Synthetic test pixels, CC0" in card and "Apache-2.0" in card
    assert "non-commercial" not in card  # no [detect]: the 68-point model was not used
    assert 'val_fraction = 0.4' in card and f"maskforge {m['versions']['maskforge']}" in card
    # HF datasets reads the card's configs block: every row, the split column marks val rows
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    assert {k: v.num_rows for k, v in loaded.items()} == {"train": sum(rows.values())}
    assert sorted(loaded["train"]["split"]).count("val") == rows["val"]
    # issue 22 (6): the features block decodes images and names the labels by identity
    feats = loaded["train"].features
    assert isinstance(feats["image"], datasets.Image) and isinstance(feats["label"], datasets.ClassLabel)
    assert feats["label"].names == ["Aa", "Bb", "Cc", "Dd", "Ee"]  # labels.csv order
    for row in loaded["train"]:
        assert feats["label"].int2str(row["label"]) == row["identity"]
        assert row["image"].mode == "RGB" and row["image"].size == (row["width"], row["height"])


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    src, rec = _setup(tmp_path)
    out = tmp_path / "out"
    args = ("run", str(rec), "--input", str(src), "--output", str(out), "--executor", "local")
    code, text = invoke(*args, "--dry-run")
    assert code == 0, text
    assert not out.exists()
    # shards of whole identities in name order, never by split: Aa+Bb | Cc | Dd+Ee
    assert "9 images of 5 identities" in text and "shards:       3" in text
    assert "original: 9" in text and "again: 9" in text
    assert "resume would reuse: finish 0/3 shards" in text
    code, _ = invoke(*args, "--quiet")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    code, text = invoke(*args, "--dry-run")
    assert code == 0 and "finish 3/3 shards" in text
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    code, text = invoke(*args, "--dry-run", "--restart")
    assert "nothing (--restart)" in text
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "labels.csv").write_text("mine")
    code, text = invoke("run", str(rec), "--input", str(src), "--output", str(foreign), "--dry-run")
    assert code == 0 and "a run would be refused" in text and "labels.csv" in text


_SCALAR = (
    st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.text(max_size=8)
    | st.floats(allow_nan=False)
)
_KEY = st.text(min_size=1, max_size=6)


def _tables(depth: int = 2):  # noqa: ANN202
    leaf = st.dictionaries(_KEY, _SCALAR | st.lists(_SCALAR, max_size=3), max_size=4)
    if depth == 0:
        return leaf
    sub = _tables(depth - 1)
    return st.dictionaries(
        _KEY, _SCALAR | st.lists(_SCALAR, max_size=3) | sub | st.lists(sub, min_size=1, max_size=2),
        max_size=4,
    )


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@given(_tables())
def test_to_toml_round_trips(data: dict) -> None:
    assert _same(tomllib.loads(to_toml(data)), data)


def test_shipped_recipes_round_trip() -> None:
    root = Path(__file__).resolve().parent.parent / "recipes"
    for path in sorted(root.glob("*.toml")):
        r = load_recipe(path)
        assert load_recipe(text=to_toml(r.data)).data == r.data, path.name
