"""Configuration without the UI, for automation: organizations, connections, channel settings."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import click
from sqlmodel import Session

from shelfsync.core.commands.output import emit, fail, option, plugin_manager, safe
from shelfsync.core.db import session_scope
from shelfsync.core.errors import ShelfsyncError
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    Organization,
    StoreConnection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services import channel_settings as channel_rules
from shelfsync.core.services import connections
from shelfsync.core.services.fields import parse_int, parse_pairs, parse_switch
from shelfsync.core.services.sync_settings import parse_rate
from shelfsync.core.sync.inventory import recompute_channel

json_option = option("--json", "as_json", is_flag=True, help="Print JSON.")
credential_option = option(
    "--credential",
    "credentials",
    multiple=True,
    metavar="KEY=VALUE",
    help="A credential field the plugin declares (see `shelfsync plugins`); repeatable.",
)
setting_option = option(
    "--setting",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A plugin setting (e.g. api_version=2025-04, auth_base_url=URL); repeatable.",
)
base_url_option = option(
    "--api-base-url", help="API base URL (a fake or staging host; private only when allowed)."
)


@click.group("org")
def org_group() -> None:
    """Organizations."""


@org_group.command("create")
@click.argument("name")
@json_option
def org_create_command(name: str, as_json: bool) -> None:
    """Create an organization (its name must not be all digits: it would read as an id)."""
    with session_scope() as session:
        organization = connections.create_organization(session, name)
        data = {"id": organization.id, "name": organization.name}
    emit(data, as_json, lambda d: f"organization {d['id']}: {safe(d['name'])}")


@click.group("connect")
def connect_group() -> None:
    """Connect the organization's store or one of its sales-channel shops."""


T = TypeVar("T")
#: What `connect store` / `connect channel` run inside the transaction.
Connector = Callable[
    [Session, ShelfsyncPluginManager, Organization, dict[str, str], dict[str, str]], T
]


def _connect(
    org_ref: str, credentials: tuple[str, ...], settings: tuple[str, ...], connect: Connector[T]
) -> T:
    """Parse the KEY=VALUE pairs, find the organization and connect, in one transaction.

    The rows stay readable after the commit (`session_scope` does not expire them).
    """
    pm = plugin_manager()
    with session_scope() as session:
        organization = connections.find_organization(session, org_ref)
        return connect(
            session,
            pm,
            organization,
            parse_pairs("credentials", credentials, secret=True),
            parse_pairs("settings", settings),
        )


@connect_group.command("store")
@click.argument("platform")
@option("--org", "org_ref", required=True, help="Organization id or name.")
@credential_option
@base_url_option
@setting_option
@json_option
def connect_store_command(
    platform: str,
    org_ref: str,
    credentials: tuple[str, ...],
    api_base_url: str | None,
    settings: tuple[str, ...],
    as_json: bool,
) -> None:
    """Connect the store; its credentials are checked with a live call before they are saved."""
    store = _connect(
        org_ref,
        credentials,
        settings,
        lambda session, pm, organization, creds, options: connections.connect_store(
            session, pm, organization, platform, creds, api_base_url, options
        ),
    )
    data = {"id": store.id, "platform": store.platform, "base_url": store.base_url}
    emit(data, as_json,
         lambda d: f"store {d['id']}: {safe(d['platform'])} at {safe(d['base_url'])}")


@connect_group.command("channel")
@click.argument("platform")
@option("--org", "org_ref", required=True, help="Organization id or name.")
@credential_option
@base_url_option
@option("--shop-id", help="Which authorized shop (default: the one of the shop_cipher).")
@option("--currency-rate", help="Shop price = store price × R: how many of the shop's currency "
                                "one of the store's buys. Required when they differ.")
@setting_option
@json_option
def connect_channel_command(
    platform: str,
    org_ref: str,
    credentials: tuple[str, ...],
    api_base_url: str | None,
    shop_id: str | None,
    currency_rate: str | None,
    settings: tuple[str, ...],
    as_json: bool,
) -> None:
    """Connect a sales-channel shop; credentials are checked live before they are saved.

    A shop selling in another currency than the store prices in needs --currency-rate.
    """
    def connect(session: Session, pm: ShelfsyncPluginManager, organization: Organization,
                creds: dict[str, str], options: dict[str, str]
                ) -> tuple[ChannelConnection, Decimal]:
        channel = connections.connect_channel(session, pm, organization, platform, creds,
                                              api_base_url, shop_id, options,
                                              currency_rate=currency_rate)
        stored = channel_rules.channel_settings(session, int(channel.id or 0))
        return channel, Decimal(str(stored.currency_rate))

    channel, rate = _connect(org_ref, credentials, settings, connect)
    data = {
        "id": channel.id,
        "platform": channel.platform,
        "base_url": channel.base_url,
        "shop_id": channel.shop_id,
        "shop_name": channel.shop_name,
        "currency_rate": f"{rate.normalize():f}",
    }
    emit(data, as_json,
         lambda d: f"channel {d['id']}: {safe(d['platform'])} shop {safe(d['shop_name'])}"
         + (f", currency rate {d['currency_rate']}" if d["currency_rate"] != "1" else ""))


@click.group("reconnect")
def reconnect_group() -> None:
    """Re-authorize a store or shop marked "needs re-auth", keeping its links and history."""


def _reconnected(row: StoreConnection | ChannelConnection, as_json: bool,
                 recomputed: dict[str, Any] | None = None) -> None:
    kind = str(connections.role_of(row))
    data: dict[str, Any] = {"id": row.id, "kind": kind, "platform": row.platform,
                            "status": row.status}
    if recomputed is not None:
        data["recompute"] = recomputed
    # Uninstalling an app (or deauthorizing it) removes its webhook subscriptions.
    data["next"] = ("if the app was reinstalled or re-authorized, run `shelfsync webhooks "
                    "subscribe --org ORG --public-url URL` again")
    emit(data, as_json,
         lambda d: f"{d['kind']} {d['id']}: {safe(d['platform'])}, {d['status']}\n{d['next']}")


@reconnect_group.command("store")
@option("--org", "org_ref", required=True, help="Organization id or name.")
@credential_option
@json_option
def reconnect_store_command(org_ref: str, credentials: tuple[str, ...], as_json: bool) -> None:
    """Give the store new credentials (only the changed fields are needed), checked live."""
    pm = plugin_manager()
    with session_scope() as session:
        store = connections.store_of(session, connections.find_organization(session, org_ref))
        row = connections.reconnect(session, pm, store,
                                    parse_pairs("credentials", credentials, secret=True))
    _reconnected(row, as_json)


@reconnect_group.command("channel")
@click.argument("channel_ref", metavar="CHANNEL")
@credential_option
@json_option
def reconnect_channel_command(channel_ref: str, credentials: tuple[str, ...],
                              as_json: bool) -> None:
    """Give a shop new credentials (e.g. new tokens), checked live, then recompute it."""
    pm = plugin_manager()
    with session_scope() as session:
        channel = connections.find_channel(session, channel_ref)
        row = connections.reconnect(session, pm, channel,
                                    parse_pairs("credentials", credentials, secret=True))
    # What the shop shows may have drifted while we could not push: put it right now.
    recomputed = _recompute(int(row.id or 0), saved="credentials saved")
    _reconnected(row, as_json, recomputed)


def _settings_dict(settings: ChannelSettings) -> dict[str, Any]:
    return {
        "channel_id": settings.channel_id,
        "inventory_sync": settings.inventory_sync,
        "percent": settings.percent,
        "threshold": settings.threshold,
        "honor_continue_selling": settings.honor_continue_selling,
        "locations": "all" if settings.location_mode == "all" else list(settings.location_ids),
        "auto_link": settings.auto_link,
        "order_sync": settings.order_sync,
        "on_hold": settings.on_hold,
        "order_poll_minutes": settings.order_poll_minutes,
        "reconcile_interval_minutes": settings.reconcile_interval_minutes,
        "fulfillment_sync": settings.fulfillment_sync,
        "cancellation_sync": settings.cancellation_sync,
        "refund_sync": settings.refund_sync,
        "restock": settings.restock,
        "carriers": dict(settings.carrier_mapping or {}),
        "currency_rate": f"{Decimal(str(settings.currency_rate)).normalize():f}",
    }


@click.group("channel")
def channel_group() -> None:
    """Sales channels."""


@channel_group.command("settings")
@click.argument("channel")
@option("--inventory-sync", help="on or off.")
@option("--percent", help="Share of available stock shown, 0–100.")
@option("--threshold", help="At or below this stock the channel shows 0.")
@option(
    "--honor-continue-selling/--no-honor-continue-selling",
    default=None,
    help="Show 99,999 for products that continue selling when out of stock.",
)
@option("--locations", help="all, or store location ids separated by commas.")
@option("--auto-link", help="on or off: link SKUs to seller SKUs automatically.")
@option("--order-sync", help="on or off: create the shop's orders in the store.")
@option("--on-hold", help="wait (default) or create: what to do with TikTok's ON_HOLD orders.")
@option("--order-poll-minutes", help="How often the shop's orders are polled (default 5).")
@option("--fulfillment-sync", help="on or off: send the store's shipments' tracking to the shop.")
@option("--cancellation-sync", help="on or off: carry cancellations between store and shop.")
@option("--refund-sync", help="on or off: refund the store order when the shop refunds.")
@option("--restock", help="on or off: units a cancellation or refund gives back go to stock.")
@option("--carrier", "carriers", multiple=True,
        help="STORE_CARRIER=PROVIDER_ID (repeatable; an empty id removes the mapping).")
@option("--currency-rate", help="Shop price = store price × R, for a shop selling in another "
                                "currency than the store (1: the same currency).")
@option(
    "--recompute/--no-recompute",
    default=True,
    show_default=True,
    help="After a change, recompute the channel's quantities at once and push what changed.",
)
@json_option
def channel_settings_command(
    channel: str,
    inventory_sync: str | None,
    percent: str | None,
    threshold: str | None,
    honor_continue_selling: bool | None,
    locations: str | None,
    auto_link: str | None,
    order_sync: str | None,
    on_hold: str | None,
    order_poll_minutes: str | None,
    fulfillment_sync: str | None,
    cancellation_sync: str | None,
    refund_sync: str | None,
    restock: str | None,
    carriers: tuple[str, ...],
    currency_rate: str | None,
    recompute: bool,
    as_json: bool,
) -> None:
    """Show a channel's settings, or change them (any option given).

    A change is saved first; then, unless --no-recompute, the channel is recomputed at once
    from fresh store stock and what changed is pushed (in this process, whatever the broker).
    """
    changes: dict[str, Any] = {}
    if inventory_sync is not None:
        changes["inventory_sync"] = parse_switch("inventory_sync", inventory_sync)
    if percent is not None:
        changes["percent"] = parse_int("percent", percent, *channel_rules.RANGES["percent"])
    if threshold is not None:
        changes["threshold"] = parse_int("threshold", threshold, *channel_rules.RANGES["threshold"])
    if honor_continue_selling is not None:
        changes["honor_continue_selling"] = honor_continue_selling
    if locations is not None:
        changes["locations"] = locations.strip()
    if auto_link is not None:
        changes["auto_link"] = parse_switch("auto_link", auto_link)
    if order_sync is not None:
        changes["order_sync"] = parse_switch("order_sync", order_sync)
    if on_hold is not None:
        changes["on_hold"] = on_hold.strip().lower()
    if order_poll_minutes is not None:
        changes["order_poll_minutes"] = parse_int(
            "order_poll_minutes", order_poll_minutes, *channel_rules.RANGES["order_poll_minutes"])
    for name, raw in (("fulfillment_sync", fulfillment_sync),
                      ("cancellation_sync", cancellation_sync), ("refund_sync", refund_sync),
                      ("restock", restock)):
        if raw is not None:
            changes[name] = parse_switch(name, raw)
    if carriers:
        changes["carriers"] = parse_pairs("carriers", carriers)
    if currency_rate is not None:
        changes["currency_rate"] = parse_rate("currency_rate", currency_rate)
    with session_scope() as session:
        found = connections.find_channel(session, channel)
        if changes:
            settings = channel_rules.update_channel_settings(session, found, changes)
        else:
            settings = channel_rules.channel_settings(session, found.id or 0)
        data = _settings_dict(settings)
    quantities_changed = set(changes) - channel_rules.ORDER_SETTINGS
    if quantities_changed and recompute and data["inventory_sync"]:
        data["recompute"] = _recompute(int(data["channel_id"]))
    emit(data, as_json, lambda d: "\n".join(f"{k}: {safe(v)}" for k, v in d.items()))


def _recompute(channel_id: int, saved: str = "settings saved") -> dict[str, Any]:
    """Recompute the channel now; what was `saved` stays saved whatever happens here."""
    try:
        with session_scope() as session:
            report = recompute_channel(session, plugin_manager(), channel_id)
            return {"ok": True, **report.counts()}
    except ShelfsyncError as exc:
        fail(f"{saved}, but the recompute failed: {exc}")
