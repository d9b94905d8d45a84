"""insightface RecordIO datasets as a source (MS1M-RetinaFace, Glint360K, CASIA/VGG2 packs).

``--input DIR/train.rec``, or a folder holding ``train.rec`` (with ``train.idx`` and
``property``), is listed like a folder of identity folders:

- each image record becomes a :class:`~maskforge.io.samples.SourceSample` whose ``path`` is the
  ``.rec``, ``offset`` the record's byte offset and ``source_path`` ``<rec name>#<index>`` (the
  record's key in ``.idx``): the provenance of every output row;
- the identity is the record's label (its first label when the header carries several), written
  with 8 digits (``00000042``) so that sorted names are sorted labels: the listing's labels are
  the record labels when those run 0..N-1, as insightface writes them;
- insightface's header records are not images: record 0 with ``flag > 0`` gives in its labels the
  range ``[a, b)`` of the identity header records (each the range of its identity's image
  records); record 0 and the records of ``[a, b)`` are skipped unread. Any other record without
  image bytes is skipped too;
- records are reached through ``.idx`` offsets, reading only each record's head (28 bytes and
  its labels); without ``.idx`` the ``.rec`` is streamed once from its start. Nothing loads the
  whole file;
- a malformed record (bad magic, truncated, bad header, a label that is not a whole number >= 0)
  is a skipped entry with its reason, which the run records as a reject of stage ``list``. The
  image bytes are read later, by the decode stage (:func:`maskforge.io.sources.read_sample_bytes`).

Shards (``maskforge.io.sharding``) pack whole identities in sorted order, so each shard is a range
of identities.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import DecodeError, SourceError
from .recordio import ImageRecord, read_index, read_record_head, scan_records, unpack_image_record
from .samples import Listing, SkippedFile, SourceSample, sample_id_for

#: File names of an insightface dataset folder.
REC_NAME, IDX_NAME, PROPERTY_NAME = "train.rec", "train.idx", "property"
#: Digits of an identity name (``00000042``).
IDENTITY_DIGITS = 8


def recordio_input(path: Path) -> Path | None:
    """The ``.rec`` file that ``path`` names (the file itself, or ``train.rec`` in a folder),
    else None."""
    if path.is_file() and path.suffix.lower() == ".rec":
        return path
    if path.is_dir() and (path / REC_NAME).is_file():
        return path / REC_NAME
    return None


def identity_name(label: int) -> str:
    """The identity name of a record label (8 digits)."""
    return f"{int(label):0{IDENTITY_DIGITS}d}"


def list_recordio(rec: str | os.PathLike[str]) -> Listing:
    """List the image records of ``rec`` (see the module doc). Raises :class:`SourceError` when
    the file cannot be read or holds no image record."""
    rec = Path(rec).resolve()
    idx = rec.with_suffix(".idx")
    found: list[tuple[int, int, int]] = []  # (key, offset, label)
    skipped: list[SkippedFile] = []
    rec_name = rec.name
    for key, offset, result in _heads(rec, idx if idx.is_file() else None):
        where = f"{rec_name}#{key}"
        if isinstance(result, DecodeError):
            detail = result.detail if f"byte {offset}" in result.detail else f"at byte {offset}: {result.detail}"
            skipped.append(SkippedFile(where, result.reason, detail))
            continue
        head, image_size = result
        if image_size == 0:
            continue  # a header record
        label = head.label
        if not (label >= 0 and float(label).is_integer()):
            skipped.append(SkippedFile(where, "bad_label", f"label {label!r} is not a whole number >= 0"))
            continue
        found.append((key, offset, int(label)))
    if not found:
        counts = dict(Counter(s.reason for s in skipped))
        raise SourceError(
            f"no image records in {str(rec)!r} (rejected: {counts or 'none'}); is it an image "
            "RecordIO file (insightface's train.rec)?"
        )
    return _build(rec, found, skipped)


def _build(rec: Path, found: list[tuple[int, int, int]], skipped: list[SkippedFile]) -> Listing:
    found.sort(key=lambda f: (f[2], f[0]))
    names = {label: identity_name(label) for label in sorted({f[2] for f in found})}
    labels = {name: i for i, name in enumerate(sorted(names.values()))}
    samples, rec_name = [], rec.name
    for key, offset, label in found:
        name, rel = names[label], f"{rec_name}#{key}"
        samples.append(SourceSample(sample_id_for(rel), name, labels[name], rel, rec, None, offset))
    skipped.sort(key=lambda s: (s.path, s.reason))
    counts = dict(sorted(Counter(s.reason for s in skipped).items()))
    return Listing(root=rec.parent, samples=samples, labels=labels, skipped=counts,
                   skipped_files=skipped)  # fmt: skip


Head = tuple[ImageRecord, int] | DecodeError


def _heads(rec: Path, idx: Path | None) -> Iterator[tuple[int, int, Head]]:
    """``(key, offset, (head, image size) or DecodeError)`` per record that may be an image."""
    try:
        with open(rec, "rb", buffering=0) as fh:  # small reads at offsets: no read-ahead buffer
            size = os.fstat(fh.fileno()).st_size
            if idx is None:
                yield from _scanned(fh)
                return
            skip = range(0)
            for key, offset in read_index(idx):
                if key in skip:
                    continue
                try:
                    head = read_record_head(fh, offset, size)
                except DecodeError as exc:
                    yield key, offset, exc
                    continue
                if key == 0:
                    skip = _identity_headers(*head)
                yield key, offset, head
    except OSError as exc:
        raise SourceError(f"cannot read {str(rec)!r}: {exc.strerror or exc}") from exc


def _identity_headers(head: ImageRecord, image_size: int) -> range:
    """Keys of the identity header records that record 0's ``head`` names (insightface's layout:
    a header without image whose labels are the range ``[a, b)``), else none. Header records
    are skipped unread; any record without image bytes is skipped anyway. A ``range``, never a
    set: a damaged header may name billions of keys."""
    if head.flag < 2 or image_size != 0:
        return range(0)
    first, end = head.labels[0], head.labels[1]
    if not (0 < first <= end and first.is_integer() and end.is_integer()):
        return range(0)
    return range(int(first), int(end))


def _scanned(fh: BinaryIO) -> Iterator[tuple[int, int, Head]]:
    """Records of a ``.rec`` without ``.idx``, streamed; keys are record numbers from 0."""
    skip = range(0)
    for key, (offset, payload) in enumerate(scan_records(fh)):
        if key in skip:
            continue
        if isinstance(payload, DecodeError):
            yield key, offset, payload
            continue
        try:
            rec = unpack_image_record(payload)
        except DecodeError as exc:
            yield key, offset, exc
            continue
        head = ImageRecord(rec.flag, rec.labels, rec.id, rec.id2, b"")
        if key == 0:
            skip = _identity_headers(head, len(rec.image))
        yield key, offset, (head, len(rec.image))
