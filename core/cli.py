"""The `shelfsync` command.

Commands live in small modules under `shelfsync.core.commands`; plugins add their own (such as
`shelfsync fake <platform>`) through the `shelfsync_register_commands` hook when `main()` builds
the CLI, so importing this module loads nothing.
"""

from __future__ import annotations

import click

from shelfsync.core.plugins import get_plugin_manager


@click.group()
@click.version_option(package_name="shelfsync")
def cli() -> None:
    """Shelfsync keeps inventory and orders in sync between one store and many TikTok shops."""


@cli.group()
def fake() -> None:
    """Run a faithful local fake of a platform's API (for tests, benchmarks and the demo)."""


def build_cli() -> click.Group:
    """The root group with every plugin's commands added."""
    pm = get_plugin_manager()
    pm.hook.shelfsync_register_commands(cli=cli)
    return cli


def main() -> None:
    """Console-script entry point."""
    build_cli()(prog_name="shelfsync")
