"""The ``maskforge`` command line.

Each command lives in its own module of this package and exposes a click command named
``command``; modules are listed in :data:`COMMAND_MODULES`. Every command runs inside
:class:`MaskforgeGroup`, the one place where errors become messages (see
:func:`maskforge.cli._common.user_message`): exit code 2, one message, no traceback.
"""

from __future__ import annotations

import importlib

import click

from .. import __version__
from ._common import user_error_messages

#: Modules of ``maskforge.cli`` that define a ``command``, in ``--help`` order.
COMMAND_MODULES = (
    "run",
    "inspect",
    "detect",
    "clean",
    "hygiene",
    "audit",
    "overlay",
    "assets",
    "export",
    "eval",
)


class MaskforgeGroup(click.Group):
    """The ``maskforge`` group: runs each command inside :func:`user_error_messages`.

    Commands are imported when they are looked up, not at start-up: ``maskforge overlay`` does not
    pay for what ``run`` or ``inspect`` import (pyarrow, pandas)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMAND_MODULES:
            return None
        command: click.Command = importlib.import_module(f"{__name__}.{cmd_name}").command
        return command

    def invoke(self, ctx: click.Context) -> object:
        with user_error_messages():
            return super().invoke(ctx)


@click.group(cls=MaskforgeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="maskforge")
def main() -> None:
    """maskforge: build clean, masked, augmented face-recognition training sets."""

