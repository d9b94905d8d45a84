"""Exporting a run's samples for tools that expect folders of images or WebDataset shards."""

from .folders import export_folders
from .webdataset import export_webdataset

__all__ = ["export_folders", "export_webdataset"]
