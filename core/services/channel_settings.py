"""A channel's rules as the merchant sets them: sync switches, percent, threshold, locations.

Every change is checked before any is applied, so a refused request leaves the settings as
they were. Errors name the setting (`percent`, `locations`), never a CLI flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    Location,
    LocationMode,
    StoreConnection,
)
from shelfsync.core.services.fields import escape_controls

#: Channel settings that are on/off switches.
SWITCHES = frozenset({
    "inventory_sync", "honor_continue_selling", "auto_link", "product_sync", "order_sync",
    "fulfillment_sync", "cancellation_sync", "refund_sync", "restock",
})
#: Whole-number settings and their ranges.
RANGES = {
    "percent": (0, 100),
    "threshold": (0, 1_000_000),
    "reconcile_interval_minutes": (1, 7 * 24 * 60),
    "order_poll_minutes": (1, 24 * 60),
}
#: Settings that take one of a few words.
CHOICES = {
    #: TikTok's ON_HOLD (the buyer's cancellation window): wait for AWAITING_SHIPMENT, or
    #: create the store order at once.
    "on_hold": ("wait", "create"),
}
#: Settings that change only how orders are taken in (no quantity depends on them).
ORDER_SETTINGS = frozenset({"order_sync", "on_hold", "order_poll_minutes", "fulfillment_sync",
                            "cancellation_sync", "refund_sync", "restock", "carriers",
                            "currency_rate"})
#: The highest currency rate the Numeric(12, 6) column holds.
MAX_RATE = Decimal(1_000_000)
#: A channel shipping provider id as the channel spells it (digits for TikTok).
_PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_CARRIERS = 200


def channel_settings(session: Session, channel_id: int) -> ChannelSettings:
    """The channel's settings row, created with the defaults when missing."""
    settings = session.get(ChannelSettings, channel_id)
    if settings is None:
        settings = ChannelSettings(channel_id=channel_id)
        session.add(settings)
        session.flush()
    return settings


def store_locations(session: Session, organization_id: int) -> dict[str, bool] | None:
    """The organization's store locations as last fetched (id → active), or None before any
    fetch."""
    store = session.exec(
        select(StoreConnection).where(StoreConnection.organization_id == organization_id)
    ).first()
    if store is None:
        return None
    rows = session.exec(select(Location).where(Location.store_connection_id == store.id)).all()
    return {row.location_id: row.active for row in rows} if rows else None


def known_location_ids(session: Session, organization_id: int) -> set[str] | None:
    """The organization's store locations as last fetched, or None before any fetch."""
    known = store_locations(session, organization_id)
    return set(known) if known is not None else None


def _locations(session: Session, channel: ChannelConnection, value: Any) -> dict[str, Any]:
    """`all`, or ids of known, active store locations: an inactive location counts no stock,
    so choosing only such would push 0 everywhere."""
    if not isinstance(value, str):
        raise InvalidInput("locations", "give all, or location ids separated by commas")
    if value.strip() == "all":
        return {"location_mode": LocationMode.ALL.value, "location_ids": []}
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids:
        raise InvalidInput("locations", "give all, or location ids separated by commas")
    if len(set(ids)) != len(ids):
        raise InvalidInput("locations", "a location id is given twice")
    known = store_locations(session, channel.organization_id)
    if known is not None:
        unknown = sorted(set(ids) - set(known))
        if unknown:
            shown = ", ".join(escape_controls(i) for i in unknown)
            raise InvalidInput("locations", f"unknown location ids: {shown}")
        inactive = sorted(i for i in ids if not known[i])
        if inactive:
            shown = ", ".join(escape_controls(i) for i in inactive)
            raise InvalidInput("locations", f"inactive store locations cannot count: {shown}")
    return {"location_mode": LocationMode.SPECIFIC.value, "location_ids": ids}


def _carriers(session: Session, channel: ChannelConnection, value: Any) -> dict[str, str]:
    """The channel's carrier mapping with `value` (store carrier name → provider id; an empty
    id removes that name) applied."""
    if not isinstance(value, Mapping):
        raise InvalidInput("carriers", "give STORE_CARRIER=PROVIDER_ID pairs")
    assert channel.id is not None
    mapping = dict(channel_settings(session, channel.id).carrier_mapping or {})
    for name, provider in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInput("carriers", "a store carrier name must be 1 to 200 characters")
        if provider in ("", None):
            mapping.pop(name.strip(), None)
            continue
        if not isinstance(provider, str) or not _PROVIDER_ID.fullmatch(provider):
            raise InvalidInput(f"carriers.{escape_controls(name)[:60]}",
                               "a shipping provider id is letters, digits, - or _ "
                               "(`shelfsync carriers list` shows them)")
        mapping[name.strip()] = provider
    if len(mapping) > MAX_CARRIERS:
        raise InvalidInput("carriers", f"at most {MAX_CARRIERS} carriers can be mapped")
    return mapping


def _checked_change(
    session: Session, channel: ChannelConnection, field: str, value: Any
) -> dict[str, Any]:
    """The column values one requested change sets; `InvalidInput` naming a bad one."""
    if field in SWITCHES:
        if not isinstance(value, bool):
            raise InvalidInput(field, f"must be on or off, got {value!r}")
        return {field: value}
    if field in RANGES:
        low, high = RANGES[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(field, f"must be {low} to {high}, got {value!r}")
        return {field: value}
    if field in CHOICES:
        if value not in CHOICES[field]:
            raise InvalidInput(field, f"must be one of {', '.join(CHOICES[field])}, got "
                                      f"{escape_controls(str(value))[:40]!r}")
        return {field: value}
    if field == "locations":
        return _locations(session, channel, value)
    if field == "carriers":
        return {"carrier_mapping": _carriers(session, channel, value)}
    if field == "currency_rate":  # parsed from text by `sync_settings.parse_rate`
        if not isinstance(value, Decimal) or not value.is_finite() or not 0 < value < MAX_RATE:
            raise InvalidInput(field, f"must be a positive number below 1,000,000, got {value!r}")
        return {field: value}
    raise InvalidInput(field, "is not a channel setting that can be changed here")


def update_channel_settings(
    session: Session, channel: ChannelConnection, changes: Mapping[str, Any]
) -> ChannelSettings:
    """Apply validated changes, all or none; `InvalidInput` naming the first bad field.

    Every change is checked before any is applied, so a refused request leaves the settings
    as they were (a half-applied object in the session would be committed by the caller's
    next flush). Only the merchant's settings can be changed: never the row's keys.
    """
    assert channel.id is not None
    columns: dict[str, Any] = {}
    for field, value in changes.items():
        columns.update(_checked_change(session, channel, field, value))
    settings = channel_settings(session, channel.id)
    for column, value in columns.items():
        setattr(settings, column, value)
    session.add(settings)
    session.flush()
    return settings


def check_channel_changes(
    session: Session, channel: ChannelConnection, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The column values `changes` would set, every one checked, nothing applied: what the
    settings UI's live preview computes with before the merchant saves."""
    columns: dict[str, Any] = {}
    for field, value in changes.items():
        columns.update(_checked_change(session, channel, field, value))
    return columns
