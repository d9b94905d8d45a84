"""Exporting a run's samples as image files, for tools that expect folders of images."""

from .folders import export_folders

__all__ = ["export_folders"]
