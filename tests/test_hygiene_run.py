"""``maskforge hygiene`` and the ``[hygiene]`` table in a run: decisions applied to the dataset,
records, manifest, card and report pages; the same bytes on a rerun."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from maskforge.cli import main
from maskforge.errors import RecipeError
from maskforge.recipe import load_recipe


@pytest.fixture(scope="module")
def planted(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Aaron_Peirsol (4 images) split into two folders, a byte copy of one of them filed under
    Abdullah_Gul (first 4 of his images), and AJ_Cook (1 image)."""
    root = tmp_path_factory.mktemp("hyg")
    src = root / "src"
    shutil.copytree(lfw_dir / "AJ_Cook", src / "AJ_Cook")
    (src / "Aaron_Peirsol").mkdir()
    (src / "Aaron_Peirsol_b").mkdir()
    for i, f in enumerate(sorted((lfw_dir / "Aaron_Peirsol").iterdir())):
        shutil.copy(f, src / ("Aaron_Peirsol" if i < 2 else "Aaron_Peirsol_b") / f.name)
    (src / "Abdullah_Gul").mkdir()
    for f in sorted((lfw_dir / "Abdullah_Gul").iterdir())[:4]:
        shutil.copy(f, src / "Abdullah_Gul" / f.name)
    shutil.copy(lfw_dir / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg", src / "Abdullah_Gul" / "copy.jpg")
    return root


def _run(src: Path, out: Path) -> str:
    result = CliRunner().invoke(main, ["hygiene", str(src), "-o", str(out), "--action", "merge",
                                       "--device", "cpu", "--quiet"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def test_hygiene_command(planted: Path) -> None:
    out = planted / "out"
    text = _run(planted / "src", out)
    assert "1 duplicate sets (1 across identities)" in text and "1 identity pairs" in text
    records = pq.read_table(out / "hygiene.parquet").to_pylist()
    by_issue = {(r["issue"], r["source_path"]): r for r in records}
    copy = by_issue[("duplicate_across_identities", "Abdullah_Gul/copy.jpg")]
    assert copy["action"] == "remove" and copy["reason"] == "same_file"
    assert copy["partner"] == "Aaron_Peirsol/Aaron_Peirsol_0001.jpg"
    merged = [r for r in records if r["issue"] == "same_person"]
    assert {r["identity"] for r in merged} == {"Aaron_Peirsol_b"} and len(merged) == 2
    assert {r["new_identity"] for r in merged} == {"Aaron_Peirsol"}
    rows = pq.read_table(out / "dataset", columns=["source_path", "identity", "label"]).to_pylist()
    paths = {r["source_path"]: r for r in rows}
    assert "Abdullah_Gul/copy.jpg" not in paths
    b = paths["Aaron_Peirsol_b/Aaron_Peirsol_0003.jpg"]
    assert b["identity"] == "Aaron_Peirsol" and b["label"] == paths["Aaron_Peirsol/Aaron_Peirsol_0001.jpg"]["label"]
    counts = json.loads((out / "manifest.json").read_text())["counts"]["hygiene"]
    assert counts["applied_removed"] == 1 and counts["applied_relabelled"] == 2
    assert "hygiene (`merge`): images removed / relabelled" in (out / "README.md").read_text()
    pages = sorted(p.name for p in (out / "report" / "hygiene").glob("*.html"))
    assert pages == ["duplicates-0001.html", "identities-0001.html", "index.html"]
    shutil.rmtree(out / "report" / "hygiene")
    audit = CliRunner().invoke(main, ["audit", str(out)], catch_exceptions=False)
    assert audit.exit_code == 0 and "hygiene pages" in audit.output
    assert (out / "report" / "hygiene" / "duplicates-0001.html").is_file()
    # a second run into another folder gives the same bytes
    again = planted / "again"
    _run(planted / "src", again)
    for name in ("hygiene.parquet", "hygiene.json"):
        assert (out / name).read_bytes() == (again / name).read_bytes()
    for f in sorted((out / "dataset").glob("*.parquet")):
        assert f.read_bytes() == (again / "dataset" / f.name).read_bytes()


def test_hygiene_table_needs_detect() -> None:
    with pytest.raises(RecipeError, match=r"\[hygiene\] needs a \[detect\] table"):
        load_recipe(data={"hygiene": {"action": "remove"}})
    recipe = load_recipe(data={"detect": {}, "hygiene": {"exclude": [{"path": "p.txt", "images": "i"}]}})
    assert recipe.hygiene is not None and recipe.hygiene.exclude_specs()[0].images == "i"
    assert "hygiene" in recipe.to_dict()
