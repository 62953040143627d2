"""`shelfsync webhooks subscribe`: have the platforms send their events to our receiver."""

from __future__ import annotations

from typing import Any

import click

from shelfsync.core import config
from shelfsync.core.commands.output import EXIT_FAILED, emit, plugin_manager
from shelfsync.core.db import session_scope
from shelfsync.core.webhook_setup import subscribe_organization


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook subscriptions of the organization's store and shops."""


def _lines(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        head = f"{row['kind']} {row['connection_id']} ({row['platform']}) -> {row['address']}"
        if row["error"]:
            lines.append(f"{head}: FAILED: {row['error']}")
        else:
            lines.append(f"{head}: {', '.join(row['topics'])}")
    return "\n".join(lines)


@webhooks_group.command("subscribe")
@click.option("--org", "org_ref", required=True, help="Organization id or name.")
@click.option("--public-url", required=True,
              help="Where the platforms reach `shelfsync run` (https://…); each connection "
                   "gets <URL>/webhooks/<platform>/<id>.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def subscribe_command(org_ref: str, public_url: str, as_json: bool) -> None:
    """Subscribe the store and every shop to their events; safe to run again."""
    pm = plugin_manager()
    with session_scope() as session:
        organization = config.find_organization(session, org_ref)
        results = subscribe_organization(session, pm, organization, public_url)
    rows = [result.to_dict() for result in results]
    emit(rows, as_json, _lines)
    if any(row["error"] for row in rows):
        raise SystemExit(EXIT_FAILED)
