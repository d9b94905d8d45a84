"""MXNet RecordIO, the container of insightface's datasets (``train.rec``, ``train.idx``,
``property``): reading and writing, without MXNet.

**Records.** A ``.rec`` file is a sequence of records, each 4-byte aligned from the start of the
file::

    uint32 magic (0xced7230a)   uint32 lrecord   data (length bytes)   zero padding to 4 bytes

All integers are little-endian. ``lrecord``'s upper 3 bits are a continuation flag ``cflag``, its
lower 29 bits the data length. A payload that holds the magic number at a 4-aligned position is
stored in parts split at each such occurrence, the magic itself left out: ``cflag`` 1 (first
part), 2 (middle), 3 (last); 0 is a whole record. Reading joins the parts with the magic between.

**Image records.** A payload starts with the 24-byte header ``IRHeader`` (``struct`` ``'<IfQQ'``:
``flag``, ``label``, ``id``, ``id2``). When ``flag > 0``, ``flag`` float32 labels follow (and the
header's own ``label`` is 0); the rest is the encoded image (JPEG or PNG bytes).

**Index.** ``train.idx`` is text, one line ``key<TAB>offset`` per record (byte offset of its
first part); insightface's keys are the record numbers 0, 1, 2 ... ``property`` is one text line
``num_classes,height,width``.

Every malformed record raises :class:`~maskforge.errors.DecodeError` with a reason code:
``bad_magic``, ``truncated_record``, ``bad_continuation`` or ``bad_record_header``.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from ..errors import DecodeError, SourceError
from .writer import atomic_path, write_text_atomic

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1
#: The largest data length one part can hold (29 bits).
MAX_PART = _LENGTH_MASK
_IR = struct.Struct("<IfQQ")
#: Bytes of the image-record header.
IR_SIZE = _IR.size
_SCAN_CHUNK = 1 << 16


@dataclass(frozen=True)
class ImageRecord:
    """One unpacked image record.

    Attributes:
        flag: the header's flag: 0 for a single label, else how many float32 labels follow.
        labels: the record's labels: ``(label,)`` when ``flag == 0``, else the ``flag`` values.
        id, id2: the header's two 64-bit ids (insightface: the record number, and 0).
        image: the bytes after the header and labels (an encoded image; empty for the header
            records of insightface's identity layout).
    """

    flag: int
    labels: tuple[float, ...]
    id: int
    id2: int
    image: bytes

    @property
    def label(self) -> float:
        """The first label (what insightface's readers use as the class)."""
        return self.labels[0]


def pack_image_record(
    label: float | Sequence[float], image: bytes, id: int = 0, id2: int = 0  # noqa: A002
) -> bytes:
    """The payload of an image record: header, labels, image bytes.

    A number ``label`` is stored in the header (``flag`` 0); a sequence is stored as ``flag =
    len(label)`` float32 values after the header (MXNet's ``recordio.pack`` convention)."""
    if isinstance(label, int | float):
        return _IR.pack(0, float(label), int(id), int(id2)) + bytes(image)
    values = [float(v) for v in label]
    labels = struct.pack(f"<{len(values)}f", *values)
    return _IR.pack(len(values), 0.0, int(id), int(id2)) + labels + bytes(image)


def unpack_image_record(payload: bytes) -> ImageRecord:
    """Split a payload into header, labels and image bytes (``DecodeError`` when too short)."""
    if len(payload) < IR_SIZE:
        raise DecodeError(
            "bad_record_header", f"{len(payload)} bytes, shorter than the {IR_SIZE}-byte header"
        )
    flag, label, rid, rid2 = _IR.unpack_from(payload, 0)
    end = IR_SIZE + 4 * flag
    if flag == 0:
        return ImageRecord(0, (float(label),), rid, rid2, bytes(payload[IR_SIZE:]))
    if len(payload) < end:
        raise DecodeError(
            "bad_record_header", f"flag {flag} announces {flag} labels; the record ends before them"
        )
    labels = struct.unpack_from(f"<{flag}f", payload, IR_SIZE)
    return ImageRecord(flag, tuple(float(v) for v in labels), rid, rid2, bytes(payload[end:]))


def frame_record(payload: bytes) -> bytes:
    """The bytes of one record as stored in a ``.rec`` file: parts split at 4-aligned magic
    numbers of the payload, each with magic and ``lrecord``, then zero padding to 4 bytes."""
    if len(payload) > MAX_PART:
        raise ValueError(f"a record holds at most {MAX_PART} bytes, got {len(payload)}")
    cuts, pos = [], payload.find(_MAGIC_BYTES)
    while pos != -1:  # every 4-aligned occurrence (aligned ones cannot overlap)
        if pos % 4 == 0:
            cuts.append(pos)
        pos = payload.find(_MAGIC_BYTES, pos + (4 if pos % 4 == 0 else 1))
    out, start = [], 0
    for k, cut in enumerate(cuts):
        out.append(_part(1 if k == 0 else 2, payload[start:cut]))
        start = cut + 4
    out.append(_part(3 if cuts else 0, payload[start:]))
    return b"".join(out) + b"\0" * (-len(payload) % 4)


def _part(cflag: int, data: bytes) -> bytes:
    return _MAGIC_BYTES + struct.pack("<I", (cflag << 29) | len(data)) + data


def _read_exact(fh: BinaryIO, n: int, offset: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise DecodeError(
            "truncated_record", f"{what} at byte {offset}: {len(data)} of {n} bytes before the end"
        )
    return data


def _read_part(fh: BinaryIO, offset: int) -> tuple[int, bytes]:
    """``(cflag, data)`` of the part at the file's current position ``offset``."""
    head = _read_exact(fh, 8, offset, "record head")
    magic, lrec = struct.unpack("<II", head)
    if magic != MAGIC:
        raise DecodeError("bad_magic", f"at byte {offset}: {magic:#010x}, not {MAGIC:#010x}")
    length = lrec & _LENGTH_MASK
    data = _read_exact(fh, length + (-length % 4), offset, "record data")
    return lrec >> 29, data[:length]


def read_payload(fh: BinaryIO, offset: int) -> bytes:
    """The payload of the record starting at byte ``offset`` (its parts joined)."""
    fh.seek(offset)
    cflag, data = _read_part(fh, offset)
    if cflag == 0:
        return data
    if cflag != 1:
        raise DecodeError("bad_continuation", f"at byte {offset}: a record starts with cflag {cflag}")
    parts = [data]
    while cflag != 3:
        pos = fh.tell()
        cflag, data = _read_part(fh, pos)
        if cflag not in (2, 3):
            raise DecodeError("bad_continuation", f"at byte {pos}: cflag {cflag} inside a record")
        parts.append(data)
    return _MAGIC_BYTES.join(parts)


def read_record_head(fh: BinaryIO, offset: int, size: int) -> tuple[ImageRecord, int]:
    """The header and labels of the record at ``offset`` (its ``image`` left empty) and the size
    of its image in bytes, reading only the start of the record (all of a record stored in
    parts). ``size`` is the file's size: a record that runs past it is ``truncated_record``."""
    fh.seek(offset)
    head = fh.read(8 + IR_SIZE + 4 * 8)
    if len(head) < 8:
        raise DecodeError("truncated_record", f"record head at byte {offset}: the file ends")
    magic, lrec = struct.unpack_from("<II", head)
    if magic != MAGIC:
        raise DecodeError("bad_magic", f"at byte {offset}: {magic:#010x}, not {MAGIC:#010x}")
    length = lrec & _LENGTH_MASK
    if lrec >> 29 != 0:
        rec = unpack_image_record(read_payload(fh, offset))
        return ImageRecord(rec.flag, rec.labels, rec.id, rec.id2, b""), len(rec.image)
    if offset + 8 + length > size:
        raise DecodeError(
            "truncated_record", f"record at byte {offset} holds {length} bytes; the file ends first"
        )
    flag = struct.unpack_from("<I", head, 8)[0] if length >= 4 and len(head) >= 12 else 0
    need = min(length, IR_SIZE + 4 * flag)
    body = head[8 : 8 + need]
    if len(body) < need:
        body += fh.read(need - len(body))
    rec = unpack_image_record(body)  # bad_record_header when the record is shorter than its head
    return rec, length - need


def read_record(path: str | os.PathLike[str], offset: int) -> ImageRecord:
    """The image record at byte ``offset`` of ``path`` (``DecodeError`` when unreadable)."""
    try:
        with open(path, "rb") as fh:
            return unpack_image_record(read_payload(fh, offset))
    except OSError as exc:
        raise DecodeError("unreadable", f"{exc.strerror or exc}") from exc


def scan_records(fh: BinaryIO) -> Iterator[tuple[int, bytes | DecodeError]]:
    """Stream every record of an open ``.rec`` from its start: ``(offset, payload)``, or
    ``(offset, DecodeError)`` for a malformed record, after which reading resumes at the next
    4-aligned magic number that starts a record. Reads ahead only one record at a time."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    offset = 0
    while offset < size:
        try:
            payload = read_payload(fh, offset)
        except DecodeError as exc:
            yield offset, exc
            offset = _next_start(fh, offset + 4, size)
            continue
        yield offset, payload
        offset = fh.tell()


def _next_start(fh: BinaryIO, pos: int, size: int) -> int:
    """The first 4-aligned offset >= ``pos`` holding a magic number of a record start
    (``cflag`` 0 or 1), or ``size``."""
    pos += -pos % 4
    while pos < size:
        fh.seek(pos)
        chunk = fh.read(_SCAN_CHUNK + 8)
        hit = chunk.find(_MAGIC_BYTES)
        while hit != -1 and hit < _SCAN_CHUNK:
            if hit % 4 == 0 and hit + 8 <= len(chunk):
                cflag = struct.unpack_from("<I", chunk, hit + 4)[0] >> 29
                if cflag in (0, 1):
                    return pos + hit
            hit = chunk.find(_MAGIC_BYTES, hit + 1)
        if len(chunk) <= _SCAN_CHUNK:
            break
        pos += _SCAN_CHUNK
    return size


def read_index(path: str | os.PathLike[str]) -> Iterator[tuple[int, int]]:
    """Stream ``(key, offset)`` from a ``.idx`` file (``SourceError`` on a malformed line)."""
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                fields = line.split()
                try:
                    key, offset = int(fields[0]), int(fields[1])
                except (ValueError, IndexError):
                    raise SourceError(
                        f"{path}:{lineno}: expected 'index<TAB>offset', got {line.strip()!r}; "
                        "remove the .idx to have the .rec scanned instead"
                    ) from None
                yield key, offset
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the index {str(path)!r}: {exc}") from exc


def read_property(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """``(num_classes, height, width)`` from an insightface ``property`` file."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        n, h, w = (int(v) for v in text.split(","))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(
            f"{str(path)!r} is not an insightface property file ('num_classes,height,width'): {exc}"
        ) from exc
    return n, h, w


def write_property(path: str | os.PathLike[str], num_classes: int, height: int, width: int) -> None:
    """Write ``property`` (``num_classes,height,width``) atomically."""
    write_text_atomic(f"{int(num_classes)},{int(height)},{int(width)}\n", Path(path))


class RecordWriter:
    """Write a ``.rec`` and its ``.idx`` under temporary names, renamed into place when the
    ``with`` block ends without error (removed otherwise).

    ``writer.write(payload)`` appends one record and returns its key: the one given, else the
    number of records written before it (0, 1, 2 ...)."""

    def __init__(self, rec: str | os.PathLike[str], idx: str | os.PathLike[str]) -> None:
        self.rec, self.idx = Path(rec), Path(idx)
        self._stack = contextlib.ExitStack()
        self._rec_fh: BinaryIO | None = None
        self._idx_fh: TextIO | None = None
        self.count = 0
        self._offset = 0

    def __enter__(self) -> RecordWriter:
        with self._stack as stack:
            rec_tmp = stack.enter_context(atomic_path(self.rec))
            idx_tmp = stack.enter_context(atomic_path(self.idx))
            self._rec_fh = stack.enter_context(open(rec_tmp, "wb"))  # noqa: SIM115
            self._idx_fh = stack.enter_context(open(idx_tmp, "w", encoding="utf-8"))  # noqa: SIM115
            self._stack = stack.pop_all()
        return self

    def write(self, payload: bytes, key: int | None = None) -> int:
        """Append a record holding ``payload`` under ``key`` (default: the records so far);
        returns its key."""
        if self._rec_fh is None or self._idx_fh is None:
            raise RuntimeError("use RecordWriter in a with block")
        key = self.count if key is None else int(key)
        framed = frame_record(payload)
        self._rec_fh.write(framed)
        self._idx_fh.write(f"{key}\t{self._offset}\n")
        self._offset += len(framed)
        self.count += 1
        return key

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)  # type: ignore[arg-type]
