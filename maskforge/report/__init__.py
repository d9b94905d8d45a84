"""The HTML audit report of cleaning: a self-contained folder a person reviews before trusting
removals (summary, score histogram, sortable identity table, paginated flagged images beside each
identity's typical images, keep.csv lines to copy)."""

from .build import build_report, write_redirect
from .model import build_model

__all__ = ["build_model", "build_report", "write_redirect"]
