"""Bounds on what a plan may write, stated against its input, and checked before any work.

A recipe typo (``count = 1000000000``) must not fill a disk or hang a planner. The bounds:

- **rows**: at most :data:`MAX_VARIANTS_PER_IMAGE` output rows per input image;
- **bytes**: at most :data:`MAX_BYTES_FACTOR` times the input's bytes, plus
  :data:`BYTES_ALLOWANCE` (small inputs may grow more: aligned crops, several variants).

:func:`estimate` computes the estimate from counts alone (no image is read), so ``--dry-run``
prints it at once; :func:`check_bounds` raises :class:`~maskforge.errors.BoundError` with the
estimate and the bound it exceeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BoundError

#: Output rows per input image, at most (the sum of a variant plan's ``count``).
MAX_VARIANTS_PER_IMAGE = 1000
#: Output bytes, at most this many times the input's bytes ...
MAX_BYTES_FACTOR = 200
#: ... plus this allowance (bytes).
BYTES_ALLOWANCE = 1 << 30


@dataclass(frozen=True)
class Estimate:
    """What a plan would write: ``rows`` and ``bytes`` (upper estimates), from ``images``
    inputs of ``input_bytes`` in all, ``variants`` rows per image of ``row_bytes`` each."""

    images: int
    input_bytes: int
    variants: int
    row_bytes: int

    @property
    def rows(self) -> int:
        return self.images * self.variants

    @property
    def bytes(self) -> int:
        return self.rows * self.row_bytes

    @property
    def max_bytes(self) -> int:
        return MAX_BYTES_FACTOR * self.input_bytes + BYTES_ALLOWANCE

    def describe(self) -> str:
        return (
            f"{self.rows:,} rows ({self.images:,} images x {self.variants:,} variants), about "
            f"{_size(self.bytes)} from {_size(self.input_bytes)} of input"
        )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def estimate(images: int, input_bytes: int, variants: int, row_bytes: int) -> Estimate:
    """The :class:`Estimate` of a plan (``row_bytes``: bytes of one output row, e.g. the mean
    input file for stored originals, or an encoded aligned crop)."""
    return Estimate(images, max(input_bytes, 0), max(variants, 1), max(row_bytes, 1))


def check_variants(count: int) -> None:
    """Refuse a variant plan of more than :data:`MAX_VARIANTS_PER_IMAGE` rows per image."""
    if count > MAX_VARIANTS_PER_IMAGE:
        raise BoundError(
            f"the variant plan makes {count:,} rows per input image, over the bound of "
            f"{MAX_VARIANTS_PER_IMAGE:,}; lower the `count` of [[variants]]"
        )


def check_bounds(est: Estimate) -> None:
    """Raise :class:`BoundError` when ``est`` exceeds a bound (see the module doc)."""
    check_variants(est.variants)
    if est.bytes > est.max_bytes:
        raise BoundError(
            f"this plan would write {est.describe()}, over the bound of {_size(est.max_bytes)} "
            f"({MAX_BYTES_FACTOR}x the input plus {_size(BYTES_ALLOWANCE)}); lower the variant "
            "counts or the image size"
        )
