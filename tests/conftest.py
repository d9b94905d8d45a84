"""Shared fixtures.

Real faces come from one place: ``../shared/faces/lfw-dev`` next to the project, or the folder named
by ``MASKFORGE_LFW_DIR``. Tests that need them skip with a clear reason when neither exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs property tests with a fixed sequence of examples (reproducible, no flaky deadlines);
# locally, hypothesis explores new examples on every run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
LFW_ENV = "MASKFORGE_LFW_DIR"


def lfw_path() -> Path | None:
    env = os.environ.get(LFW_ENV)
    path = Path(env) if env else ROOT.parent / "shared" / "faces" / "lfw-dev"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    """Folder of LFW identity folders (160 identities, 737 images of 250x250)."""
    path = lfw_path()
    if path is None:
        pytest.skip(
            f"real faces not found: put LFW identity folders at {ROOT.parent / 'shared/faces/lfw-dev'} "
            f"or set {LFW_ENV}=/path/to/lfw-dev"
        )
    return path


RWMFD_ENV = "MASKFORGE_RWMFD_DIR"


@pytest.fixture(scope="session")
def rwmfd_dir() -> Path:
    """Folder of real masked-face web photos (rwmfd-dev: ``batchNNNN/NNNN.jpg``, no identities)."""
    env = os.environ.get(RWMFD_ENV)
    path = Path(env) if env else ROOT.parent / "shared" / "faces" / "rwmfd-dev"
    if not path.is_dir():
        pytest.skip(
            f"real masked photos not found: put rwmfd-dev at {ROOT.parent / 'shared/faces/rwmfd-dev'} "
            f"or set {RWMFD_ENV}=/path/to/rwmfd-dev"
        )
    return path


@pytest.fixture(scope="session")
def lfw_images(lfw_dir: Path) -> list[Path]:
    """All LFW image paths, sorted."""
    return sorted(lfw_dir.glob("*/*.jpg"))


@pytest.fixture(scope="session")
def rwmfd_images(rwmfd_dir: Path) -> list[Path]:
    """Real masked web photos (rwmfd-dev: 589 images in batch folders, no identities), sorted."""
    return sorted(rwmfd_dir.glob("*/*.jpg"))
