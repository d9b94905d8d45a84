from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from maskforge.io.reader import read_shards, shard_files
from maskforge.io.schema import SAMPLE_SCHEMA, SCHEMA_VERSION, to_table
from maskforge.io.writer import is_done, read_stats, stats_path, write_shard


def rows(n: int) -> list[dict]:
    return [
        {
            "sample_id": f"{i:016x}", "identity": f"id{i % 3}", "label": i % 3, "source_path": f"id{i % 3}/{i}.jpg",
            "variant": "original", "image": bytes([i % 256]) * 10, "image_format": "jpeg", "width": 112, "height": 112,
            "landmarks5": np.arange(10, dtype=np.float32).reshape(5, 2) + i, "pose": [1.0, 2.0, 3.0],
            "occluders": [{"kind": "mask", "name": "surgical", "color": "#1ca0f4", "texture": None, "wear": "correct"}],
        }
        for i in range(n)
    ]


def test_roundtrip_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "dataset" / "shard-00000.parquet"
    write_shard(to_table(rows(300), SAMPLE_SCHEMA), path, {"samples": 300})
    stats = read_stats(path)
    assert is_done(path) and stats is not None and stats["samples"] == 300
    assert stats["integrity"]["shard-00000.parquet"]["size"] == path.stat().st_size
    meta = pq.read_metadata(path)
    assert meta.num_rows == 300
    assert 1 < meta.num_row_groups <= 3  # row groups of ~128 rows
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(path).metadata[b"maskforge.schema_version"] == SCHEMA_VERSION.encode()
    t = read_shards(tmp_path).to_table()
    assert t.num_rows == 300
    back = t.to_pylist()[7]
    assert back["image"] == bytes([7]) * 10
    assert np.allclose(np.asarray(back["landmarks5"]), np.arange(10).reshape(5, 2) + 7)
    assert back["occluders"][0]["color"] == "#1ca0f4"
    assert back["embedding"] is None and back["split"] is None  # nulls until a stage fills them


def test_failed_write_leaves_nothing_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shard-00000.parquet"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(RuntimeError):
        write_shard(to_table(rows(5), SAMPLE_SCHEMA), path, {"samples": 5})
    assert list(tmp_path.iterdir()) == []


def test_killed_writer_leaves_no_done_shard(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of writing: no file counts as a done shard."""
    script = textwrap.dedent(f"""
        import time, pyarrow.parquet as pq
        from maskforge.io import writer
        from maskforge.io.schema import SAMPLE_SCHEMA, to_table
        real = pq.write_table
        def slow(table, where, **kw):
            real(table.slice(0, 10), where, **kw)   # half a file on disk
            print("writing", flush=True)
            time.sleep(60)
        pq.write_table = slow
        rows = [dict(sample_id=str(i), identity="a", label=0, source_path=str(i), variant="original") for i in range(100)]
        writer.write_shard(to_table(rows, SAMPLE_SCHEMA), {str(tmp_path / 'shard-00000.parquet')!r}, {{"samples": 100}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    assert not (tmp_path / "shard-00000.parquet").exists()
    assert not stats_path(tmp_path / "shard-00000.parquet").exists()
    assert shard_files(tmp_path, done_only=False) == []
    # the leftover is a hidden temporary file, replaced by the next successful write
    write_shard(to_table(rows(3), SAMPLE_SCHEMA), tmp_path / "shard-00000.parquet", {"samples": 3})
    assert read_shards(tmp_path).count_rows() == 3


def test_killed_writer_temporary_is_removed_by_the_next_write(tmp_path) -> None:
    # today's main: a temporary file of a writer killed mid-write stays forever (mkstemp names)
    import subprocess
    import sys

    import pyarrow as pa

    from maskforge.io.writer import write_table_atomic

    target = tmp_path / "rejects.parquet"
    code = (
        "import os, sys; from pathlib import Path; from maskforge.io.writer import _atomic_target\n"
        "fd, tmp = _atomic_target(Path(sys.argv[1])); os.write(fd, b'x' * 100000); os._exit(9)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(target)], timeout=120)
    assert done.returncode == 9
    assert len(list(tmp_path.glob(".rejects.parquet.*.tmp"))) == 1  # what a SIGKILL leaves
    write_table_atomic(pa.table({"x": [1, 2]}), target)
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.parquet"]


def test_live_writer_temporary_is_left_alone(tmp_path) -> None:
    import os

    import pyarrow as pa

    from maskforge.io.writer import _HOST, write_table_atomic

    target = tmp_path / "a.parquet"
    live = tmp_path / f".a.parquet.{_HOST}-{os.getppid()}.abc123.tmp"  # our parent is alive
    live.write_bytes(b"in progress")
    write_table_atomic(pa.table({"x": [1]}), target)
    assert live.read_bytes() == b"in progress"
