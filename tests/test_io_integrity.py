"""Trust nothing on disk (issue 21, item 2; rows 4, 5, 10, 19): recorded sizes and hashes, named
corrupt files, damaged manifests, snapshots, labels of partial reads, umask permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pytest

from maskforge.errors import CorruptFileError
from maskforge.io.integrity import check_file, file_record
from maskforge.io.manifest import (
    DamagedManifestError,
    build_manifest,
    load_manifest,
    mark_running,
    write_manifest,
)
from maskforge.io.reader import read_shards, run_files, snapshot
from maskforge.io.writer import (
    read_stats,
    shard_path,
    stats_path,
    write_bytes_atomic,
    write_shard,
    write_table_atomic,
)


def _rows(identity: str, label: int, n: int = 5) -> list[dict]:
    return [{"sample_id": f"{identity}{i}", "identity": identity, "label": label, "variant": "original",
             "image": bytes([i]) * 50} for i in range(n)]  # fmt: skip


def finished_run(out: Path, labels: dict[str, int]) -> list[Path]:
    """A complete run: one dataset shard (and a rejects side file) per identity."""
    files = []
    for i, (name, label) in enumerate(sorted(labels.items())):
        side = shard_path(out / "rejects", i)
        write_table_atomic(pa.table({"reason": ["x"]}), side)
        f = shard_path(out / "dataset", i)
        write_shard(pa.Table.from_pylist(_rows(name, label)), f, {"shard": i}, side=(side,))
        files.append(f)
    rels = [str(f.relative_to(out)) for f in files]
    records = {r: read_stats(f)["integrity"][f.name] for r, f in zip(rels, files, strict=True)}
    write_manifest(build_manifest(recipe={"seed": 0}, input_path="in", output_path=str(out), labels=labels,
                                  counts={}, timings={}, models={}, shards={}, dataset_files=rels,
                                  file_records=records, generation=1), out)  # fmt: skip
    (out / "labels.csv").write_text("identity,label\n" + "".join(f"{k},{v}\n" for k, v in labels.items()))
    return files


def test_records_catch_truncation_and_a_flipped_bit(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(bytes(range(256)) * 10)
    rec = file_record(f)
    assert rec["size"] == 2560 and check_file(f, rec) is None
    data = bytearray(f.read_bytes())
    data[1000] ^= 0x01
    f.write_bytes(bytes(data))
    assert check_file(f, rec) == "content changed (hash mismatch)"
    assert check_file(f, rec, full=False) is None  # size-only check: cheap, misses a flip
    os.truncate(f, 1000)
    assert check_file(f, rec, full=False).startswith("size 1000 bytes")
    assert check_file(tmp_path / "gone", rec) == "missing"


@pytest.mark.parametrize("table", ["dataset", "rejects"])
def test_truncated_shard_is_named_with_the_repair_command(tmp_path: Path, table: str) -> None:
    """Row 4: `truncate -s 1000` gave an ArrowInvalid traceback and no way forward."""
    files = finished_run(tmp_path, {"A": 0, "B": 1})
    victim = tmp_path / table / files[1].name
    os.truncate(victim, 100)
    with pytest.raises(CorruptFileError) as info:
        read_shards(tmp_path)
    msg = str(info.value)
    assert str(victim) in msg and "rerun the same `maskforge run`" in msg and info.value.paths == [victim]


def test_bit_flip_found_by_a_verifying_snapshot(tmp_path: Path) -> None:
    files = finished_run(tmp_path, {"A": 0})
    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0x10
    files[0].write_bytes(bytes(data))
    assert snapshot(tmp_path).files == files  # size matches: the cheap check passes
    with pytest.raises(CorruptFileError, match="hash mismatch"):
        snapshot(tmp_path, verify=True)


@pytest.mark.parametrize("content", [b'{"maskforge_manifest": 1, "sta', b"", b"[]", b'"x"', b"\xff\xfe"])
def test_damaged_manifest_says_how_to_rebuild(tmp_path: Path, content: bytes) -> None:
    """Row 5: a truncated, empty, `[]` or `"x"` manifest gave AttributeError or a dead end."""
    finished_run(tmp_path, {"A": 0})
    (tmp_path / "manifest.json").write_bytes(content)
    with pytest.raises(DamagedManifestError, match="rebuilds the manifest from the shards' stats"):
        load_manifest(tmp_path)
    with pytest.raises(DamagedManifestError):
        read_shards(tmp_path)
    assert mark_running(tmp_path, {"seed": 0}) == 1  # a rerun starts over it, generation 1


def test_generation_counts_runs(tmp_path: Path) -> None:
    assert load_manifest(tmp_path) is None
    assert mark_running(tmp_path, {}) == 1
    write_manifest({**load_manifest(tmp_path), "status": "complete"}, tmp_path)
    assert mark_running(tmp_path, {}) == 2


def test_partial_read_never_serves_rows_of_an_old_label_space(tmp_path: Path) -> None:
    """Row 10: an identity added mid-alphabet, the rerun killed: 240 of 240 rows had wrong labels."""
    finished_run(tmp_path, {"A": 0, "C": 1})
    mark_running(tmp_path, {"seed": 0})  # the rerun starts ...
    (tmp_path / "labels.csv").write_text("identity,label\nA,0\nB,1\nC,2\n")  # ... with B added, and is killed
    snap = snapshot(tmp_path, allow_partial=True)
    assert [f.name for f in snap.files] == ["shard-00000.parquet"]  # C's shard still says 1: not served
    assert list(snap.skipped.values()) == ["labels disagree with labels.csv"]
    rows = read_shards(tmp_path, allow_partial=True).to_table(columns=["identity", "label"]).to_pylist()
    assert {(r["identity"], r["label"]) for r in rows} == {("A", 0)}
    assert run_files(tmp_path, "rejects", allow_partial=True) == [tmp_path / "rejects" / "shard-00000.parquet"]


def test_a_reader_keeps_its_snapshot_while_a_run_rewrites(tmp_path: Path) -> None:
    files = finished_run(tmp_path, {"A": 0})
    dset = read_shards(tmp_path)
    write_shard(pa.Table.from_pylist(_rows("Z", 9, n=3)), files[0], {"shard": 0})  # replaced by a rename
    rows = dset.to_table(columns=["identity"]).column("identity").to_pylist()
    assert rows == ["A"] * 5  # the files as they were when opened, not a mix


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    """Row 19: every output file was 0600 under umask 022."""
    old = os.umask(0o022)
    try:
        write_bytes_atomic(b"x", tmp_path / "a.bin")
        write_shard(pa.table({"a": [1]}), tmp_path / "d" / "shard-00000.parquet", {})
        os.umask(0o027)
        write_bytes_atomic(b"x", tmp_path / "b.bin")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "a.bin") == 0o644 and mode(tmp_path / "d" / "shard-00000.parquet") == 0o644
    assert mode(stats_path(tmp_path / "d" / "shard-00000.parquet")) == 0o644
    assert mode(tmp_path / "b.bin") == 0o640


def test_no_replace_write_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("mine")
    with pytest.raises(FileExistsError):
        write_bytes_atomic(b"new", target, replace=False)
    assert target.read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]
    write_bytes_atomic(b"new", tmp_path / "u.txt", replace=False)
    assert (tmp_path / "u.txt").read_text() == "new"


@pytest.mark.parametrize("victim", ["rows", "rejects"])
def test_a_damaged_stage_cache_shard_is_rebuilt_with_a_warning(tmp_path: Path, victim: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    """Row 4 (cache/detect-*/): a truncated cached shard was reused and crashed the resume."""
    from maskforge.pipeline.cache import StageCache

    cache = StageCache(tmp_path / "cache" / "detect-abc")
    reject = {"source_path": "A/x.jpg", "reason": "no_face", "stage": "detect"}
    cache.write(0, pa.Table.from_pylist(_rows("A", 0)), [reject], {"key": "k"})
    assert cache.stats(0, "k") is not None
    path = cache.rows_path(0) if victim == "rows" else cache.rejects_path(0)
    os.truncate(path, path.stat().st_size // 2)
    with caplog.at_level("WARNING", logger="maskforge"):
        assert cache.stats(0, "k") is None  # not reused: the shard is computed again
    assert path.name in caplog.text and "rebuilding shard" in caplog.text
