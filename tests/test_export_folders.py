"""``maskforge export`` / export_folders: unique names, nothing overwritten, nothing outside DST."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.cli import main
from maskforge.errors import OutputError
from maskforge.export import export_folders
from maskforge.export.folders import plan_targets
from maskforge.io.paths import path_under
from maskforge.io.sources import sample_id_for
from maskforge.io.writer import shard_path, write_json_atomic, write_shard


def fake_run(out: Path, samples: list[tuple[str, str]], variants=("original", "masked"),
             input_root: Path | None = None) -> Path:
    """A finished run folder holding one dataset shard with ``samples`` x ``variants`` rows."""
    rows = [
        {"sample_id": sample_id_for(p), "identity": ident, "label": 0, "source_path": p,
         "variant": v, "image": f"{p}|{v}".encode(), "image_format": "jpeg", "split": "train"}
        for ident, p in samples for v in variants
    ]
    parquet = shard_path(out / "dataset", 0)
    write_shard(pa.Table.from_pylist(rows), parquet, {"rows": len(rows)})
    write_json_atomic({"status": "complete", "input": str(input_root or out.parent / "in"),
                       "dataset_files": [str(parquet.relative_to(out))]}, out / "manifest.json")
    return out


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".maskforge" not in p.parts)


def test_colliding_identities_and_stems_stay_unique(tmp_path: Path) -> None:
    # today's main: "A B" and "A_B" share a folder and pic.jpg/pic.png share a name: 8 of 16 written
    samples = [("A B", "A B/pic.jpg"), ("A B", "A B/pic.png"), ("A_B", "A_B/pic.jpg"),
               ("A_B", "A_B/pic.png"), ("a_b", "a_b/x.jpg"), ("C", "C/d1/y.jpg"), ("C", "C/d2/y.jpg"),
               ("C", "C/z.jpg")]
    out = fake_run(tmp_path / "out", samples)
    dst = tmp_path / "dst"
    result = CliRunner().invoke(main, ["export", str(out), str(dst)])
    assert result.exit_code == 0, result.output
    written = files_under(dst)
    assert len(written) == 16
    assert f"wrote {len(written)} images" in result.output
    # every row's bytes are in exactly one file, and identities never share a folder
    contents = {p.read_bytes().decode(): p for p in written}
    assert len(contents) == 16
    folder_of = {c.split("|")[0].split("/")[0]: p.parent.name for c, p in contents.items()}
    assert len(set(folder_of.values())) == 4
    assert folder_of["A B"] == "A_B" and folder_of["C"] == "C"  # the first in sorted order keeps the name
    assert len({f.casefold() for f in folder_of.values()}) == 4


def test_never_overwrites_and_checks_before_writing(tmp_path: Path) -> None:
    out = fake_run(tmp_path / "out", [("A", "A/1.jpg"), ("B", "B/2.jpg")])
    dst = tmp_path / "dst"
    (dst / "B").mkdir(parents=True)
    mine = dst / "B" / "2_masked.jpg"
    mine.write_bytes(b"the user's file")
    result = CliRunner().invoke(main, ["export", str(out), str(dst)])
    assert result.exit_code == 2 and "already exist" in result.output and "Traceback" not in result.output
    assert mine.read_bytes() == b"the user's file"
    assert files_under(dst) == [mine]  # nothing written before the refusal
    # a second export into the same folder redoes it: it replaces only the files it wrote there
    dst2 = tmp_path / "dst2"
    assert export_folders(out, dst2) == 4
    first = {p: p.read_bytes() for p in files_under(dst2)}
    (dst2 / "A" / "notes.txt").write_text("mine")
    assert export_folders(out, dst2) == 4
    assert {p: p.read_bytes() for p in files_under(dst2) if p.name != "notes.txt"} == first
    assert (dst2 / "A" / "notes.txt").read_text() == "mine"


def test_refuses_input_folder_and_own_folder(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    out = fake_run(tmp_path / "out", [("A", "A/1.jpg")], input_root=src)
    with pytest.raises(OutputError, match="input folder"):
        export_folders(out, src / "exported")
    with pytest.raises(OutputError, match="own folder"):
        export_folders(out, out)
    assert files_under(src) == []


def test_source_layout_maps_absolute_paths_under_dst(tmp_path: Path) -> None:
    # today's main: DST / "/abs/path.jpg" is the absolute path itself: the original is overwritten
    original = tmp_path / "elsewhere" / "Ann" / "face.jpg"
    original.parent.mkdir(parents=True)
    original.write_bytes(b"original pixels")
    out = fake_run(tmp_path / "out", [("Ann", str(original)), ("Bob", "../up/Bob/face.jpg")],
                   variants=("original",))
    dst = tmp_path / "crops"
    n = export_folders(out, dst, layout="source")
    assert original.read_bytes() == b"original pixels"
    written = files_under(dst)
    assert n == len(written) == 2
    assert all(p.resolve().is_relative_to(dst.resolve()) for p in written)
    assert dst / original.relative_to("/") in written
    assert dst / "__" / "up" / "Bob" / "face.jpg" in written


parts = st.text(alphabet="aA _.-/\\:é", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(parts, parts, st.sampled_from(["original", "masked", "m/../x"]),
                          st.sampled_from(["jpeg", "png", None])), min_size=1, max_size=12, unique=True),
       st.sampled_from(["identity", "source"]))
def test_planned_names_unique_and_inside(rows: list[tuple], layout: str) -> None:
    dicts = [{"identity": i, "source_path": p, "variant": v, "image_format": f,
              "sample_id": sample_id_for(p)} for i, p, v, f in rows]
    if layout == "source":
        try:
            [path_under('', p) for _, p, _, _ in rows]
        except ValueError:
            return  # a path naming no file is not a sample
    targets = plan_targets(dicts, layout)
    assert len({str(t).casefold() for t in targets}) == len(targets)
    for t in targets:
        assert not t.is_absolute() and ".." not in t.parts and "" not in t.parts


def test_manifest_input_missing_is_fine(tmp_path: Path) -> None:
    out = fake_run(tmp_path / "out", [("A", "A/1.jpg")])
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.pop("input")
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert export_folders(out, tmp_path / "d") == 2


def test_detect_export_images_with_absolute_list_paths(lfw_images: list[Path], tmp_path: Path) -> None:
    # today's main: the crops overwrite the originals (DST / "/abs/path" is the absolute path)
    import shutil

    originals = tmp_path / "faces"
    listed = []
    for src in lfw_images[:3]:
        target = originals / src.parent.name / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        listed.append(target)
    before = {p: p.read_bytes() for p in listed}
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "list.csv").write_text(
        "path,identity\n" + "".join(f"{p},{p.parent.name}\n" for p in listed), encoding="utf-8")
    dst = tmp_path / "crops"
    result = CliRunner().invoke(main, ["detect", str(lists / "list.csv"), "--output", str(tmp_path / "out"),
                                       "--export-images", str(dst), "--quiet"])
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in listed} == before
    written = [p for p in files_under(dst) if p.suffix != ".csv"]  # (the command's record aside)
    assert f"exported {len(written)} aligned crops" in result.output and len(written) == 3
    assert sorted(p.with_suffix("") for p in written) == sorted(dst / p.relative_to("/").with_suffix("") for p in listed)


@pytest.mark.parametrize("fmt", ["folders", "webdataset"])
def test_unfinished_run_is_refused_unless_allow_partial(tmp_path: Path, fmt: str) -> None:
    out = fake_run(tmp_path / "out", [("A", "A/1.jpg"), ("B", "B/2.jpg")])
    write_json_atomic({"status": "running", "input": str(tmp_path / "in")}, out / "manifest.json")
    refused = CliRunner().invoke(main, ["export", str(out), str(tmp_path / "dst"), "--format", fmt])
    assert refused.exit_code == 2 and "has not finished" in refused.output and "--allow-partial" in refused.output
    assert not (tmp_path / "dst").exists()  # refused before the first write
    ok = CliRunner().invoke(main, ["export", str(out), str(tmp_path / "dst"), "--format", fmt, "--allow-partial"])
    assert ok.exit_code == 0, ok.output
    assert "wrote 4" in ok.output  # the done shard: 2 samples x 2 variants
