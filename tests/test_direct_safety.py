"""The user's files are sacred (issue 10, item 5): every command refuses to write into its input,
``overlay``/``detect --export-images`` never overwrite a file they did not write and never write
outside their destination, and bad ``--keep``/``--device`` values are one message, exit 2."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from maskforge.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def one_message(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """12 small images (JPEG and PNG) in 3 identity folders; no faces needed for refusals."""
    root = tmp_path / "src"
    rng = np.random.default_rng(0)
    for i in range(12):
        folder = root / f"id{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        im.save(folder / (f"img{i}.png" if i % 2 else f"img{i}.jpg"))
    return root


# --------------------------------------------------------------------- overlay


def test_overlay_src_equal_dst_is_refused(synthetic: Path):
    before = snapshot(synthetic)
    code, out = invoke("overlay", synthetic, synthetic, "--occluder", "surgical-blue")
    assert code == 2
    assert "DST_DIR" in one_message(out) and "never writes into its input" in out
    assert snapshot(synthetic) == before  # 12/12 originals untouched, nothing added


@pytest.mark.parametrize("inside", [False, True])
def test_overlay_masks_dir_in_src_is_refused(synthetic: Path, tmp_path: Path, inside: bool):
    before = snapshot(synthetic)
    masks = synthetic / "id0" if inside else synthetic
    code, out = invoke("overlay", synthetic, tmp_path / "out", "--masks-dir", masks)
    assert code == 2 and "--masks-dir" in one_message(out)
    assert snapshot(synthetic) == before
    assert not (tmp_path / "out").exists()


def test_overlay_never_overwrites_a_file_it_did_not_write(synthetic: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    (dst / "id0").mkdir(parents=True)
    (dst / "id0" / "img0.jpg").write_bytes(b"the user's own file")
    code, out = invoke("overlay", synthetic, dst)
    assert code == 2 and "did not write" in one_message(out)
    assert (dst / "id0" / "img0.jpg").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in dst.rglob("*") if ".maskforge" not in p.parts) == ["id0", "img0.jpg"]


def test_overlay_file_named_like_the_log_is_not_overwritten(synthetic: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "overlay_log.csv").write_text("my,own,table\n1,2,3\n")
    code, out = invoke("overlay", synthetic, dst)
    assert code == 2 and "not an overlay log" in one_message(out)
    assert (dst / "overlay_log.csv").read_text() == "my,own,table\n1,2,3\n"


@pytest.fixture
def two_faces(lfw_images: list[Path], tmp_path: Path) -> Path:
    root = tmp_path / "faces"
    (root / "a").mkdir(parents=True)
    for p in lfw_images[:2]:
        (root / "a" / p.name).write_bytes(p.read_bytes())
    return root


def test_overlay_rerun_and_dst_inside_src(two_faces: Path, tmp_path: Path):
    """`overlay SRC SRC/x` is refused (issue 21: it wrote 734 images into the input, read back
    as a fake identity); a rerun rewrites only its own files."""
    before = snapshot(two_faces)
    code, out = invoke("overlay", two_faces, two_faces / "masked", "--seed", "4")
    assert code == 2 and "inside SRC_DIR" in one_message(out)
    assert snapshot(two_faces) == before and not (two_faces / "masked").exists()
    dst = tmp_path / "masked"
    code, out = invoke("overlay", two_faces, dst, "--seed", "4")
    assert code == 0, out
    first = snapshot(dst)
    with open(dst / "overlay_log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows] == sorted(f"a/{p.name}" for p in (two_faces / "a").iterdir())
    assert all(r["status"] == "ok" for r in rows)
    code, out = invoke("overlay", two_faces, dst, "--seed", "4")
    assert code == 0, out
    assert snapshot(dst) == first  # same inputs (its own outputs not listed), same bytes


# --------------------------------------------------------------------- output = input


@pytest.fixture
def plain_recipe(tmp_path: Path) -> Path:
    p = tmp_path / "plain.toml"
    p.write_text("seed = 0\n")
    return p


@pytest.mark.parametrize("where", ["same", "inside"])
@pytest.mark.parametrize("command", ["run", "detect", "clean"])
def test_output_equal_to_or_inside_the_input_is_refused(
    synthetic: Path, plain_recipe: Path, command: str, where: str
):
    before = snapshot(synthetic)
    out = synthetic if where == "same" else synthetic / "id1" / "out"
    if command == "run":
        args = ["run", plain_recipe, "--input", synthetic, "--output", out, "--executor", "local"]
    else:
        args = [command, synthetic, "--output", out]
    code, text = invoke(*args)
    assert code == 2, text
    assert "output" in one_message(text)
    assert snapshot(synthetic) == before


@pytest.mark.parametrize("flag", ["--move-to", "--copy-to"])
@pytest.mark.parametrize("where", ["same", "inside"])
def test_clean_transfer_into_the_input_is_refused(synthetic: Path, tmp_path: Path, flag: str, where: str):
    before = snapshot(synthetic)
    dest = synthetic if where == "same" else synthetic / "flagged"
    code, text = invoke("clean", synthetic, "--output", tmp_path / "out", flag, dest)
    assert code == 2 and flag in one_message(text)
    assert snapshot(synthetic) == before and not (tmp_path / "out").exists()


def test_clean_binary_keep_file_and_unknown_device(synthetic: Path, tmp_path: Path):
    keep = tmp_path / "keep.bin"
    keep.write_bytes(bytes(range(256)) * 4)
    code, text = invoke("clean", synthetic, "--output", tmp_path / "o1", "--keep", keep)
    assert code == 2 and "keep list" in one_message(text)
    code, text = invoke("clean", synthetic, "--output", tmp_path / "o2", "--device", "tpu")
    assert code == 2 and "device" in one_message(text) and "'tpu'" in text


# --------------------------------------------------------------------- detect --export-images


def test_detect_export_images_with_absolute_list_paths(lfw_images: list[Path], tmp_path: Path):
    """Absolute paths in a list file: crops go under DIR (never next to the originals), pic.jpg
    and pic.png get distinct names, the count printed is the files written, a rerun works and a
    file the user put in DIR is never overwritten."""
    data = tmp_path / "data" / "person"
    data.mkdir(parents=True)
    (data / "pic.jpg").write_bytes(lfw_images[0].read_bytes())
    Image.open(lfw_images[1]).save(data / "pic.png")
    (data / "other.jpg").write_bytes(lfw_images[2].read_bytes())
    before = snapshot(tmp_path / "data")
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "list.csv").write_text(
        "path,identity\n" + "".join(f"{data / n},person\n" for n in ("pic.jpg", "pic.png", "other.jpg"))
    )
    crops = tmp_path / "crops"
    args = ["detect", lists / "list.csv", "--output", tmp_path / "out", "--export-images", crops]
    code, text = invoke(*args)
    assert code == 0, text
    assert snapshot(tmp_path / "data") == before  # originals untouched, nothing added beside them
    files = sorted(p.relative_to(crops).as_posix() for p in crops.rglob("*.png"))
    rel = (data.relative_to(data.anchor)).as_posix()
    assert files == [f"{rel}/other.png", f"{rel}/pic.png", f"{rel}/pic_2.png"]
    assert f"exported {len(files)} aligned crops" in text
    for f in files:
        assert Image.open(crops / f).size == (112, 112)
    code, text = invoke(*args)  # rerun into the same folder: its own files, rewritten
    assert code == 0 and "exported 3 aligned crops" in text, text
    other = tmp_path / "crops2"
    (other / files[1]).parent.mkdir(parents=True)
    (other / files[1]).write_bytes(b"mine")
    code, text = invoke(*args[:-1], other)
    assert code == 2 and "not written by maskforge" in one_message(text)
    assert (other / files[1]).read_bytes() == b"mine"
    assert [p.name for p in other.rglob("*") if p.is_file() and ".maskforge" not in p.parts] == [Path(files[1]).name]
