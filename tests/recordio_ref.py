"""An independent RecordIO packer and reader for the tests (no maskforge import).

Written from the format's description (dmlc-core's recordio and MXNet's ``recordio.pack``), not
from maskforge's code, so that a test checks maskforge against it in both directions:

- a record: ``<I magic 0xced7230a``, ``<I lrecord`` (cflag in the top 3 bits, length in the low
  29), the data, zero padding to 4 bytes; a payload holding the magic at a 4-aligned position is
  split there into parts (cflag 1, 2 ..., 3), the magic itself dropped;
- a payload: ``IRHeader`` ``<IfQQ`` (flag, label, id, id2), then ``flag`` float32 labels when
  flag > 0, then the image bytes;
- ``train.idx``: ``key\\toffset`` lines; ``property``: ``num_classes,h,w``.
"""

from __future__ import annotations

import struct
from pathlib import Path

MAGIC = 0xCED7230A
MAGIC_LE = struct.pack("<I", MAGIC)


def payload(label, image: bytes, rid: int = 0) -> bytes:
    """Header + labels + image; a list label is stored after the header (flag = its length)."""
    if isinstance(label, (list, tuple)):
        head = struct.pack("<I", len(label)) + struct.pack("<f", 0.0) + struct.pack("<QQ", rid, 0)
        return head + b"".join(struct.pack("<f", float(v)) for v in label) + image
    return struct.pack("<I", 0) + struct.pack("<f", float(label)) + struct.pack("<QQ", rid, 0) + image


def frame(data: bytes) -> bytes:
    """One record's bytes in a .rec."""
    pieces = []
    pos = 0
    while True:
        hit = _aligned_magic(data, pos)
        if hit < 0:
            break
        pieces.append(data[pos:hit])
        pos = hit + 4
    pieces.append(data[pos:])
    out = bytearray()
    for k, piece in enumerate(pieces):
        if len(pieces) == 1:
            cflag = 0
        else:
            cflag = 1 if k == 0 else (3 if k == len(pieces) - 1 else 2)
        out += MAGIC_LE + struct.pack("<I", (cflag << 29) + len(piece)) + piece
    while len(out) % 4:
        out += b"\x00"
    return bytes(out)


def _aligned_magic(data: bytes, start: int) -> int:
    i = start
    while i + 4 <= len(data):
        if data[i : i + 4] == MAGIC_LE:
            return i
        i += 4
    return -1


def write(folder: Path, payloads: list[bytes], num_classes: int | None = None, size: int = 112) -> Path:
    """Write train.rec, train.idx (and property) in ``folder``; returns the .rec path."""
    folder.mkdir(parents=True, exist_ok=True)
    rec = bytearray()
    lines = []
    for key, p in enumerate(payloads):
        lines.append(f"{key}\t{len(rec)}\n")
        rec += frame(p)
    (folder / "train.rec").write_bytes(bytes(rec))
    (folder / "train.idx").write_text("".join(lines))
    if num_classes is not None:
        (folder / "property").write_text(f"{num_classes},{size},{size}")
    return folder / "train.rec"


def insightface_layout(identities: list[list[bytes]]) -> list[bytes]:
    """Payloads in insightface's layout: record 0 names the identity header range, then the
    images (label = identity number), then one header per identity naming its image range."""
    images, ranges = [], []
    key = 1
    for label, imgs in enumerate(identities):
        ranges.append((key, key + len(imgs)))
        for img in imgs:
            images.append(payload(label, img, rid=key))
            key += 1
    first_header = key
    headers = [payload([float(a), float(b)], b"", rid=first_header + i) for i, (a, b) in enumerate(ranges)]
    head0 = payload([float(first_header), float(first_header + len(identities))], b"")
    return [head0, *images, *headers]


def read_all(rec: Path, idx: Path) -> dict[int, tuple[int, tuple[float, ...], bytes]]:
    """key -> (flag, labels, image bytes) for every record listed in ``idx``."""
    data = rec.read_bytes()
    out = {}
    for line in idx.read_text().splitlines():
        key, offset = (int(v) for v in line.split("\t"))
        body = _record(data, offset)
        flag, label = struct.unpack("<If", body[:8])
        if flag:
            labels = struct.unpack(f"<{flag}f", body[24 : 24 + 4 * flag])
            out[key] = (flag, tuple(labels), body[24 + 4 * flag :])
        else:
            out[key] = (0, (label,), body[24:])
    return out


def _record(data: bytes, offset: int) -> bytes:
    parts = []
    while True:
        magic, lrec = struct.unpack("<II", data[offset : offset + 8])
        assert magic == MAGIC, f"bad magic at {offset}"
        cflag, length = lrec >> 29, lrec & ((1 << 29) - 1)
        parts.append(data[offset + 8 : offset + 8 + length])
        offset += 8 + length + (4 - length % 4) % 4
        if cflag in (0, 3):
            return MAGIC_LE.join(parts)
