"""`shelfsync webhooks subscribe`: have the platforms send their events to our receiver."""

from __future__ import annotations

from typing import Any

import click

from shelfsync.core.commands.output import EXIT_FAILED, emit, option, plugin_manager, safe
from shelfsync.core.db import session_scope
from shelfsync.core.services.connections import find_organization
from shelfsync.core.webhook_setup import subscribe_organization


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook subscriptions of the organization's store and shops."""


def _lines(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        head = (f"{row['kind']} {row['connection_id']} ({safe(row['platform'])}) -> "
                f"{safe(row['address'])}")
        if row["error"]:
            lines.append(f"{head}: FAILED: {safe(row['error'])}")
        else:
            lines.append(f"{head}: {safe(', '.join(row['topics']))}")
    return "\n".join(lines)


@webhooks_group.command("subscribe")
@option("--org", "org_ref", required=True, help="Organization id or name.")
@option("--public-url", required=True,
              help="Where the platforms reach `shelfsync run` (https://…); each connection "
                   "gets <URL>/webhooks/<platform>/<id>.")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def subscribe_command(org_ref: str, public_url: str, as_json: bool) -> None:
    """Subscribe the store and every shop to their events; safe to run again."""
    pm = plugin_manager()
    with session_scope() as session:
        organization = find_organization(session, org_ref)
        results = subscribe_organization(session, pm, organization, public_url)
    rows = [result.to_dict() for result in results]
    emit(rows, as_json, _lines)
    if any(row["error"] for row in rows):
        raise SystemExit(EXIT_FAILED)
