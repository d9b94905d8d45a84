"""``export --format insightface`` and ``--format verification-bin``; ``.bin`` sets read back with
``pickle.load`` as arcface_torch does, and as pairs for ``eval pairs``."""

from __future__ import annotations

import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from maskforge.errors import OutputError, SourceError
from maskforge.eval.bin_sets import bin_pairs
from maskforge.eval.run_bin import export_verification_bin
from maskforge.export.insightface import export_insightface
from maskforge.io.selection import RowFilter
from maskforge.io.sources import sample_id_for
from maskforge.io.verification_bin import read_bin, write_bin
from maskforge.io.writer import shard_path, write_json_atomic, write_shard

from . import recordio_ref as ref

VARIANTS = (("original", False), ("mask+aug", True))


def _run(out: Path, identities: dict[str, int], per_identity: int = 3, splits=None) -> Path:
    """A finished run: two shards; identity -> run label; every sample in VARIANTS; rows of a
    shard interleaved across identities, as runs write them."""
    names = sorted(identities)
    files = []
    for index, part in enumerate((names[: len(names) // 2], names[len(names) // 2 :])):
        rows = []
        for k in range(per_identity):
            for ident in part:
                p = f"{ident}/{ident}_{k:04d}.jpg"
                for v, occ in VARIANTS:
                    rows.append({
                        "sample_id": sample_id_for(p), "identity": ident, "label": identities[ident],
                        "source_path": p, "variant": v, "image": f"{p}|{v}".encode() * 3,
                        "image_format": "jpeg", "width": 112, "height": 112, "occluded": occ,
                        "split": (splits or {}).get(ident, "train"),
                    })  # fmt: skip
        parquet = shard_path(out / "dataset", index)
        write_shard(pa.Table.from_pylist(rows), parquet, {"rows": len(rows)})
        files.append(str(parquet.relative_to(out)))
    write_json_atomic({"status": "complete", "input": str(out.parent / "in"), "dataset_files": files},
                      out / "manifest.json")  # fmt: skip
    return out


def test_insightface_export_reads_back_through_the_independent_reader(tmp_path: Path) -> None:
    # the train split holds run labels 1, 4 and 6: exported as 0, 1, 2
    ids = {"ann": 1, "bob": 4, "cat": 6, "dan": 7}
    out = _run(tmp_path / "out", ids, splits={"dan": "val"})
    dst = tmp_path / "rec"
    flt = RowFilter(splits=frozenset({"train"}))
    res = export_insightface(out, dst, row_filter=flt)
    assert res == {"records": 18, "identities": 3, "size": (112, 112)}
    got = ref.read_all(dst / "train.rec", dst / "train.idx")
    assert sorted(got) == list(range(1 + 18 + 3))
    flag, (first, end), _ = got[0]
    assert (flag, first, end) == (2, 19.0, 22.0)
    expected = {}
    for ident, new in (("ann", 0), ("bob", 1), ("cat", 2)):
        a, b = got[19 + new][1]
        assert b - a == 6  # 3 samples x 2 variants, one record per variant row
        for key in range(int(a), int(b)):
            flag, labels, image = got[key]
            assert (flag, labels) == (0, (float(new),))
            expected[image] = ident
    # identical image bytes: every exported row's stored image, once
    assert sorted(expected) == sorted(
        f"{i}/{i}_{k:04d}.jpg|{v}".encode() * 3 for i in ("ann", "bob", "cat") for k in range(3)
        for v, _ in VARIANTS
    )
    assert all(img.decode().startswith(ident) for img, ident in expected.items())
    assert (dst / "property").read_text().strip() == "3,112,112"
    assert (dst / "labels.csv").read_text().splitlines() == [
        "label,identity,run_label", "0,ann,1", "1,bob,4", "2,cat,6"
    ]
    # the export is a RecordIO source again, labels preserved
    from maskforge.io.sources import list_samples

    listing = list_samples(dst)
    assert listing.labels == {"00000000": 0, "00000001": 1, "00000002": 2}
    assert len(listing.samples) == 18
    with pytest.raises(OutputError, match="already exist"):
        export_insightface(out, dst, row_filter=flt)


def test_bin_roundtrip_has_arcface_torch_types(tmp_path: Path) -> None:
    bins, issame = [b"a" * 5, b"b", b"c", b"d"], [True, False]
    write_bin(tmp_path / "x.bin", bins, issame)
    with open(tmp_path / "x.bin", "rb") as fh:
        got_bins, got_same = pickle.load(fh, encoding="bytes")  # what arcface_torch does
    assert type(got_bins) is list and all(type(b) is bytes for b in got_bins)
    assert type(got_same) is list and all(type(s) is bool for s in got_same)
    assert (got_bins, got_same) == (bins, issame)
    assert read_bin(tmp_path / "x.bin") == (bins, issame)


def test_read_bin_refuses_code(tmp_path: Path) -> None:
    (tmp_path / "evil.bin").write_bytes(pickle.dumps((["x"], Path("/"))))
    with pytest.raises(SourceError, match="pathlib"):
        read_bin(tmp_path / "evil.bin")


def test_bin_pairs_are_consecutive_folds(tmp_path: Path) -> None:
    write_bin(tmp_path / "lfw.bin", [bytes([i]) for i in range(40)], [k % 2 == 0 for k in range(20)])
    pairs, images = bin_pairs(tmp_path / "lfw.bin")
    assert [p.fold for p in pairs] == [k // 2 for k in range(20)]
    assert (pairs[3].path_a, pairs[3].path_b, pairs[3].same) == ("lfw.bin#6", "lfw.bin#7", False)
    assert images["lfw.bin#7"] == bytes([7])


@pytest.mark.parametrize("mask", ["none", "one"])
def test_verification_bin_from_a_runs_val_split(tmp_path: Path, mask: str) -> None:
    ids = {f"p{i:02d}": i for i in range(24)}
    out = _run(tmp_path / "out", ids, per_identity=3, splits={k: "val" for k in ids})
    res = export_verification_bin(out, tmp_path / "val.bin", mask=mask, folds=4, per_fold=5, seed=1)
    assert res["pairs"] == 40 and res["per_fold"] == 5
    with open(tmp_path / "val.bin", "rb") as fh:
        bins, issame = pickle.load(fh, encoding="bytes")
    assert len(bins) == 80 and len(issame) == 40 and all(type(s) is bool for s in issame)
    assert issame[:5] == [True] * 5 and issame[5:10] == [False] * 5  # fold 0: matched, mismatched
    for k, same in enumerate(issame):
        a, b = bins[2 * k].decode().split("|"), bins[2 * k + 1].decode().split("|")
        assert a[1].startswith("original")
        assert b[1].startswith("mask+aug" if mask == "one" else "original")
        assert (a[0].split("/")[0] == b[0].split("/")[0]) == same
        assert a[0] != b[0]
    with pytest.raises(OutputError):
        export_verification_bin(out, tmp_path / "val.bin", mask=mask, folds=4, per_fold=5)


def test_verification_bin_from_a_pairs_file(tmp_path: Path) -> None:
    from maskforge.eval.pairs import Pair

    ids = {f"p{i:02d}": i for i in range(6)}
    out = _run(tmp_path / "out", ids, per_identity=2)
    pairs = [Pair("p00/p00_0000.jpg", "p00/p00_0001.jpg", True, 0),
             Pair("p01/p01_0000.jpg", "p02/p02_0001.jpg", False, 0),
             Pair("p03/p03_0000.jpg", "gone/gone_0001.jpg", False, 1),  # not in the run: left out
             Pair("p04/p04_0001.jpg", "p04/p04_0000.jpg", True, 1)]  # fmt: skip
    res = export_verification_bin(out, tmp_path / "x.bin", pairs=pairs, mask="one")
    assert (res["pairs"], res["missing"]) == (3, ["gone/gone_0001.jpg"])
    bins, issame = read_bin(tmp_path / "x.bin")
    assert issame == [True, False, True]
    assert bins[0].startswith(b"p00/p00_0000.jpg|original") and bins[1].startswith(b"p00/p00_0001.jpg|mask+aug")
    assert bins[4].startswith(b"p04/p04_0001.jpg|original") and bins[5].startswith(b"p04/p04_0000.jpg|mask+aug")


def test_cli_export_formats(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from maskforge.cli import main

    ids = {f"p{i:02d}": i for i in range(24)}
    out = _run(tmp_path / "out", ids, per_identity=3, splits={k: "val" for k in list(ids)[:20]})
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(out), str(tmp_path / "rec"), "--format", "insightface",
                               "--split", "train", "--variant", "original"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "wrote 12 records" in res.output
    got = ref.read_all(tmp_path / "rec" / "train.rec", tmp_path / "rec" / "train.idx")
    assert sorted(lab[0] for flag, lab, _ in got.values() if flag == 0) == [0.0] * 3 + [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    res = runner.invoke(main, ["export", str(out), str(tmp_path / "val.bin"), "--format", "verification-bin",
                               "--mask", "one", "--folds", "4", "--per-fold", "5"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "wrote 40 pairs" in res.output
    assert len(read_bin(tmp_path / "val.bin")[1]) == 40
    (tmp_path / "pairs.csv").write_text("path_a,path_b,same\np00/p00_0000.jpg,p00/p00_0001.jpg,1\n"
                                        "p00/p00_0000.jpg,zz/zz_0001.jpg,0\n")  # fmt: skip
    res = runner.invoke(main, ["export", str(out), str(tmp_path / "given.bin"), "--format", "verification-bin",
                               "--pairs", str(tmp_path / "pairs.csv")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "wrote 1 pairs" in res.output and "zz/zz_0001.jpg" in res.output
    res = runner.invoke(main, ["export", str(out), str(tmp_path / "x"), "--mask", "one"])
    assert res.exit_code == 2 and "verification-bin" in res.output
