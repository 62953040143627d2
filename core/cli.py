"""The `shelfsync` command.

Commands live in small modules under `shelfsync.core.commands`; plugins add their own (such as
`shelfsync fake <platform>`) through the `shelfsync_register_commands` hook when `main()` builds
the CLI, so importing this module loads nothing.
"""

from __future__ import annotations

import click

from shelfsync.core.commands.carriers import carriers_group
from shelfsync.core.commands.config import (
    channel_group,
    connect_group,
    org_group,
    reconnect_group,
)
from shelfsync.core.commands.connection import connection_group
from shelfsync.core.commands.db import db_group
from shelfsync.core.commands.orders import orders_group, sync_orders_command
from shelfsync.core.commands.output import ShelfsyncGroup
from shelfsync.core.commands.plugin_new import plugin_group
from shelfsync.core.commands.plugins import plugins_command
from shelfsync.core.commands.rules import rules_group
from shelfsync.core.commands.run import demo_command, run_command, worker_command
from shelfsync.core.commands.sync import status_command, sync_group
from shelfsync.core.commands.users import users_group
from shelfsync.core.commands.web import web_command
from shelfsync.core.commands.webhooks import webhooks_group
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager


@click.group(cls=ShelfsyncGroup)
@click.version_option(package_name="shelfsync")
def cli() -> None:
    """Shelfsync keeps inventory and orders in sync between one store and many TikTok shops."""


@cli.group()
def fake() -> None:
    """Run a faithful local fake of a platform's API (for tests, benchmarks and the demo)."""


cli.add_command(db_group)
cli.add_command(org_group)
cli.add_command(connect_group)
cli.add_command(reconnect_group)
cli.add_command(webhooks_group)
cli.add_command(channel_group)
cli.add_command(connection_group)
cli.add_command(plugins_command)
cli.add_command(plugin_group)
cli.add_command(rules_group)
cli.add_command(worker_command)
cli.add_command(run_command)
cli.add_command(demo_command)
sync_group.add_command(sync_orders_command)
cli.add_command(sync_group)
cli.add_command(carriers_group)
cli.add_command(orders_group)
cli.add_command(status_command)
cli.add_command(users_group)
cli.add_command(web_command)


def build_cli(pm: ShelfsyncPluginManager | None = None) -> click.Group:
    """The root group with every plugin's commands added."""
    pm = pm or get_plugin_manager()
    pm.hook.shelfsync_register_commands(cli=cli)
    return cli


def main() -> None:
    """Console-script entry point: one plugin manager for the whole invocation."""
    pm = get_plugin_manager()
    build_cli(pm)(prog_name="shelfsync", obj=pm)
