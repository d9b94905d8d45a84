"""What hygiene finds, before any decision: duplicate sets, same-person identity pairs and
overlaps with evaluation sets (plain data; :mod:`.decide` turns them into records)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .overlap import OverlapMatch


@dataclass(frozen=True)
class DuplicateSet:
    """Samples (rows) showing one image: ``keeper`` stays; ``members`` (keeper first) with, per
    member, ``how`` it matches the keeper (``same_file``, ``same_pixels`` or ``near_duplicate``),
    its embedding ``cosine`` to the keeper and pHash ``bits`` distance (-1: not computed)."""

    keeper: int
    members: tuple[int, ...]
    how: tuple[str, ...]
    cosine: tuple[float, ...]
    bits: tuple[int, ...]
    across: bool  # members in more than one identity


@dataclass(frozen=True)
class IdentityPair:
    """Two identities whose centres have cosine >= the same-person threshold, with their closest
    image pairs ``(row a, row b, cosine)``."""

    a: str
    b: str
    cosine: float
    evidence: tuple[tuple[int, int, float], ...]


@dataclass
class Findings:
    duplicate_sets: list[DuplicateSet] = field(default_factory=list)
    identity_pairs: list[IdentityPair] = field(default_factory=list)
    overlaps: list[OverlapMatch] = field(default_factory=list)
    #: per sample: cosine to its identity's centre, nearest other identity and cosine to it
    own_cosine: np.ndarray | None = None
    other_identity: np.ndarray | None = None
    other_cosine: np.ndarray | None = None
    stats: dict[str, float] = field(default_factory=dict)
