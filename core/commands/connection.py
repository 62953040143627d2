"""`shelfsync connection settings`: a store's or a shop's plugin settings, checked and fixed.

Settings are typed and range-checked from the fields the plugin (and core) declare, so a
value that would break every sync is refused when it is typed; one saved before that check
is shown as refused here (and by `shelfsync status`) and is repaired or reset with one command.
"""

from __future__ import annotations

from typing import Any

import click

from shelfsync.core.commands.output import emit, option, plugin_manager, safe
from shelfsync.core.db import session_scope
from shelfsync.core.services import connections
from shelfsync.core.services.fields import parse_pairs


@click.group("connection")
def connection_group() -> None:
    """A connected store's or shop's plugin settings."""


def _lines(data: dict[str, Any]) -> str:
    head = f"{data['kind']} {data['id']} ({safe(data['platform'])})"
    lines = [head] + [f"  {safe(k)}: {safe(v)}" for k, v in sorted(data["settings"].items())]
    lines += [f"  BAD {safe(k)}: {safe(v)} (the default is used until it is fixed or reset)"
              for k, v in sorted(data["problems"].items())]
    if len(lines) == 1:
        lines.append("  no settings: every default applies")
    return "\n".join(lines)


@connection_group.command("settings")
@click.argument("kind", type=click.Choice(["store", "channel"]))
@click.argument("channel_ref", metavar="[CHANNEL]", required=False)
@option("--org", "org_ref", help="The organization whose store (id or name).")
@option("--setting", "settings", multiple=True, metavar="KEY=VALUE",
        help="Set a setting the plugin declares (see `shelfsync plugins`); repeatable.")
@option("--reset", "resets", multiple=True, metavar="KEY",
        help="Remove a stored setting, so its default applies; repeatable.")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def connection_settings_command(kind: str, channel_ref: str | None, org_ref: str | None,
                                settings: tuple[str, ...], resets: tuple[str, ...],
                                as_json: bool) -> None:
    """Show, set or reset the plugin settings of the store (`store --org ORG`) or of a
    channel (`channel CHANNEL`); all changes are checked before any is saved."""
    if kind == "store" and (org_ref is None or channel_ref is not None):
        raise click.UsageError("give `store --org ORG`")
    if kind == "channel" and (channel_ref is None or org_ref is not None):
        raise click.UsageError("give `channel CHANNEL`")
    if len(set(resets)) != len(resets):
        raise click.UsageError("--reset names a setting twice")
    pm = plugin_manager()
    with session_scope() as session:
        row = connections.find_connection(session, org_ref, channel_ref)
        if settings or resets:
            connections.update_connection_settings(
                session, pm, row, parse_pairs("settings", settings), resets)
        data = {
            "kind": str(connections.role_of(row)),
            "id": row.id,
            "platform": row.platform,
            "settings": dict(row.settings or {}),
            "problems": connections.connection_setting_problems(pm, row),
        }
    emit(data, as_json, _lines)
