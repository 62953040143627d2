"""`shelfsync carriers list`: a shop's shipping providers and how store carriers map to them."""

from __future__ import annotations

from typing import Any

import click

from shelfsync.core.commands.output import emit, fail, option, plugin_manager, safe
from shelfsync.core.errors import HookNotImplemented, ShelfsyncError
from shelfsync.core.services import aftersale


@click.group("carriers")
def carriers_group() -> None:
    """Carrier mapping: store carrier names → the shop's shipping providers."""


def _text(data: dict[str, Any]) -> str:
    lines = [f"{safe(p['id'])}  {safe(p['name'])}  ({safe(p['delivery_option_name'])})"
             for p in data["providers"]]
    lines.append("mapping:" if data["mapping"] else "mapping: none (providers are matched by "
                                                     "name)")
    for name, provider in sorted(data["mapping"].items()):
        known = "" if provider in {p["id"] for p in data["providers"]} else "  (unknown id!)"
        lines.append(f"  {safe(name)} = {safe(provider)}{known}")
    return "\n".join(lines)


@carriers_group.command("list")
@option("--channel", "channel_ref", required=True, help="The channel (its id).")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def carriers_list_command(channel_ref: str, as_json: bool) -> None:
    """The shop's shipping providers (per delivery option) and the current mapping."""
    try:
        providers, mapping = aftersale.carriers(plugin_manager(), channel_ref)
    except HookNotImplemented:
        fail("this channel's platform lists no shipping providers")
    except ShelfsyncError as exc:
        fail(f"could not read the shop's shipping providers: {exc}")
    data = {"providers": [{"id": p.id, "name": p.name,
                           "delivery_option_id": p.delivery_option_id,
                           "delivery_option_name": p.delivery_option_name} for p in providers],
            "mapping": mapping}
    emit(data, as_json, _text)
