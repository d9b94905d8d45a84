"""The rows of a listing: :class:`SourceSample` (one input image), :class:`SkippedFile`
(an input passed over, with why) and :class:`Listing` (what listing a source gives).

Every source (folders of identity folders, list files, RecordIO: see :mod:`maskforge.io.sources`
and :mod:`maskforge.io.recsource`) lists into these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SourceSample:
    """One input image.

    Attributes:
        sample_id: 16 hex characters derived from ``source_path`` (stable).
        identity: the identity's name (folder name or the list's ``identity`` value).
        label: integer label, the identity's index among the sorted identity names.
        source_path: dataset-relative path, POSIX separators (what outputs record).
        path: absolute path of the file on this machine (for a RecordIO source: the ``.rec``).
        hints: optional geometry from a list file (``bbox``, ``landmarks5``, ``landmarks68``).
        offset: RecordIO sources only: byte offset of the sample's record in ``path``
            (``source_path`` is then ``<rec path>#<record index>``); None for an image file.
    """

    sample_id: str
    identity: str
    label: int
    source_path: str
    path: Path
    hints: dict[str, Any] | None = None
    offset: int | None = None


@dataclass(frozen=True)
class SkippedFile:
    """A file or folder the listing passed over, with why.

    Attributes:
        path: dataset-relative POSIX path (as :attr:`SourceSample.source_path`).
        reason: ``hidden``, ``not_an_image_file``, ``not_in_identity_folder``, ``symlink_loop``
            (a folder link back to one of its own parents), ``duplicate_file`` (the same real
            file reached again, through a link or a second row of a list) or ``output_folder``
            (a folder that is an output: see :func:`list_samples`).
        detail: a human explanation (for ``duplicate_file``: the path that was kept).
    """

    path: str
    reason: str
    detail: str = ""


@dataclass
class Listing:
    """The result of :func:`list_samples`.

    ``skipped`` counts :attr:`skipped_files` by reason (what manifests record); ``skipped_files``
    names each of them.
    """

    root: Path
    samples: list[SourceSample]
    labels: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_files: list[SkippedFile] = field(default_factory=list)

    @property
    def identities(self) -> list[str]:
        return list(self.labels)

    def reject_rows(self) -> list[dict[str, Any]]:
        """The skipped files as rows of the rejects table (stage ``list``)."""
        return [
            {"sample_id": None, "source_path": s.path, "identity": None, "stage": "list",
             "reason": s.reason, "detail": s.detail}
            for s in self.skipped_files
        ]


def sample_id_for(source_path: str) -> str:
    """Stable id of a sample: 16 hex characters of a BLAKE2b hash of its relative path."""
    return hashlib.blake2b(source_path.encode("utf-8"), digest_size=8).hexdigest()


