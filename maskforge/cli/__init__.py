"""The ``maskforge`` command line.

Each command lives in its own module of this package and exposes a click command named
``command``. Modules are listed in :data:`COMMAND_MODULES`; a listed module that is not part of
this installation is skipped, so ``maskforge --help`` only ever shows commands that exist.
"""

from __future__ import annotations

import importlib

import click

from .. import __version__

#: Modules of ``maskforge.cli`` that define a ``command``, in ``--help`` order.
COMMAND_MODULES = (
    "run",
    "inspect",
    "detect",
    "clean",
    "audit",
    "overlay",
    "assets",
    "export",
    "eval",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="maskforge")
def main() -> None:
    """maskforge: build clean, masked, augmented face-recognition training sets."""


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        main.add_command(module.command)


_register()
