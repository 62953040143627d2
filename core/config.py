"""Configuring an organization without the UI: organizations, connections, channel settings.

The CLI and the settings UI both call these functions, so a store or a shop is validated the
same way whichever door it comes through: declared credential fields only, a public base URL
(unless private URLs are allowed), and a live call that proves the credentials before anything
is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.http import check_public_url
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    Location,
    LocationMode,
    Organization,
    StoreConnection,
    add_store_connection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import AuthorizedShop, Connection, PlatformInfo, Role

MAX_NAME_LENGTH = 200


def create_organization(session: Session, name: str) -> Organization:
    """A new organization; `InvalidInput` when the name is empty, too long or taken."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"must be 1 to {MAX_NAME_LENGTH} characters")
    if session.exec(select(Organization).where(Organization.name == name)).first():
        raise InvalidInput("name", f"an organization called {name!r} already exists")
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    return organization


def find_organization(session: Session, ref: str) -> Organization:
    """An organization by id or by name; `InvalidInput` naming `--org` otherwise."""
    found = None
    if ref.isdigit():
        found = session.get(Organization, int(ref))
    if found is None:
        found = session.exec(select(Organization).where(Organization.name == ref)).first()
    if found is None:
        raise InvalidInput("--org", f"no organization {ref!r}")
    return found


def find_channel(session: Session, ref: str) -> ChannelConnection:
    """A channel connection by id; `InvalidInput` naming `CHANNEL` otherwise."""
    channel = session.get(ChannelConnection, int(ref)) if ref.isdigit() else None
    if channel is None:
        raise InvalidInput("CHANNEL", f"no channel with id {ref!r}")
    return channel


def parse_credentials(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs → dict; a malformed or repeated pair is refused by name."""
    credentials: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput("--credential", "expected KEY=VALUE (the value is not shown)")
        if key in credentials:
            raise InvalidInput("--credential", f"{key} given twice")
        credentials[key] = value
    return credentials


def parse_settings(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`KEY=VALUE` plugin settings (API version, auth host …) → dict."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("--setting", f"expected KEY=VALUE, got {pair!r}")
        settings[key.strip()] = value.strip()
    return settings


def check_credential_fields(info: PlatformInfo, credentials: Mapping[str, str]) -> None:
    """Refuse unknown and missing credential keys, naming them and the expected ones."""
    expected = set(info.credential_fields)
    unknown = sorted(set(credentials) - expected)
    missing = sorted(expected - {k for k, v in credentials.items() if v})
    wanted = ", ".join(info.credential_fields)
    if unknown:
        raise InvalidInput(
            "--credential", f"unknown for {info.name}: {', '.join(unknown)} (expected: {wanted})"
        )
    if missing:
        raise InvalidInput(
            "--credential", f"missing for {info.name}: {', '.join(missing)} (expected: {wanted})"
        )


def _platform(pm: ShelfsyncPluginManager, name: str, role: Role) -> PlatformInfo:
    try:
        info = pm.platform(name)
    except KeyError as exc:
        raise InvalidInput("PLATFORM", str(exc.args[0])) from None
    if info.role is not role:
        raise InvalidInput("PLATFORM", f"{name} is a {info.role} platform, not a {role}")
    return info


def _base_url(info: PlatformInfo, api_base_url: str | None) -> str:
    url = api_base_url or info.default_base_url
    if not url:
        raise InvalidInput("--api-base-url", f"{info.name} needs the store's URL")
    try:
        return check_public_url(url)
    except ConfigurationError as exc:
        raise InvalidInput("--api-base-url", str(exc)) from None


@dataclass(frozen=True)
class CheckedConnection:
    """A connection whose credentials a live call accepted."""

    info: PlatformInfo
    connection: Connection


def check_live(
    pm: ShelfsyncPluginManager,
    platform: str,
    role: Role,
    credentials: Mapping[str, str],
    api_base_url: str | None,
    settings: Mapping[str, Any] | None = None,
) -> CheckedConnection:
    """Validate the fields and URL, then prove the credentials with one live call.

    Raises `InvalidInput` for what the user must correct and the plugin's `AuthError` (or
    another `PluginError`) when the platform refuses.
    """
    info = _platform(pm, platform, role)
    check_credential_fields(info, credentials)
    connection = Connection(
        platform=platform,
        base_url=_base_url(info, api_base_url),
        credentials=dict(credentials),
        settings=dict(settings or {}),
    )
    answered = pm.hook.shelfsync_check_connection(connection=connection)
    if answered is None:
        raise InvalidInput("PLATFORM", f"the {platform} plugin cannot check a connection")
    return CheckedConnection(info, connection)


def pick_authorized_shop(
    pm: ShelfsyncPluginManager, connection: Connection, shop_id: str | None,
    *, field: str = "--shop-id",
) -> AuthorizedShop:
    """The shop of a multi-shop app these credentials may act for: the one with `shop_id`
    and the credentials' `shop_cipher` (either may be left out, not both).

    Both must name the same shop: the id routes its webhooks here, the cipher sends this
    channel's calls; a mismatch would push one shop's stock to another.
    """
    shops = pm.hook.shelfsync_fetch_authorized_shops(connection=connection) or []
    cipher = connection.credentials.get("shop_cipher", "")
    matches = [
        shop
        for shop in shops
        if (not shop_id or shop.id == shop_id) and (not cipher or shop.cipher == cipher)
    ]
    if not matches or (not shop_id and not cipher):
        known = ", ".join(f"{s.id} ({s.name})" for s in shops) or "none"
        raise InvalidInput(
            field,
            "no authorized shop has this id and the credentials' shop_cipher; "
            f"authorized: {known}",
        )
    shop: AuthorizedShop = matches[0]
    return shop


def connect_store(
    session: Session,
    pm: ShelfsyncPluginManager,
    organization: Organization,
    platform: str,
    credentials: Mapping[str, str],
    api_base_url: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> StoreConnection:
    """Connect the organization's one store after a live check of its credentials."""
    checked = check_live(pm, platform, Role.STORE, credentials, api_base_url, settings)
    assert organization.id is not None
    return add_store_connection(
        session,
        organization_id=organization.id,
        platform=platform,
        base_url=checked.connection.base_url,
        credentials=credentials,
        settings=settings,
    )


def refuse_shop_of_another_organization(
    session: Session, organization_id: int, platform: str, shop_id: str
) -> None:
    """`InvalidInput` when another organization holds this shop: its events (signed with an
    app secret two organizations may share) must route to one organization only. The merchant
    disconnects it there first. The message does not say which organization holds it."""
    other = session.exec(
        select(ChannelConnection.id).where(
            ChannelConnection.platform == platform,
            ChannelConnection.shop_id == shop_id,
            ChannelConnection.organization_id != organization_id,
        )
    ).first()
    if other is not None:
        raise InvalidInput(
            "--shop-id",
            f"shop {shop_id} is connected in another organization; disconnect it there first",
        )


def connect_channel(
    session: Session,
    pm: ShelfsyncPluginManager,
    organization: Organization,
    platform: str,
    credentials: Mapping[str, str],
    api_base_url: str | None = None,
    shop_id: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ChannelConnection:
    """Connect one sales-channel shop after a live check of its credentials.

    For a platform with several shops under one app, the shop is picked from the authorized
    shops (by `shop_id`, or by the credentials' `shop_cipher`), and its id is recorded so
    webhooks sent to the app's one address can be routed to it.
    """
    checked = check_live(pm, platform, Role.CHANNEL, credentials, api_base_url, settings)
    shop_name = ""
    if checked.info.capabilities.multi_shop:
        shop = pick_authorized_shop(pm, checked.connection, shop_id)
        shop_id, shop_name = shop.id, shop.name
    assert organization.id is not None
    if shop_id:
        refuse_shop_of_another_organization(session, organization.id, platform, shop_id)
    if (
        shop_id
        and session.exec(
            select(ChannelConnection).where(
                ChannelConnection.organization_id == organization.id,
                ChannelConnection.platform == platform,
                ChannelConnection.shop_id == shop_id,
            )
        ).first()
    ):
        raise InvalidInput("--shop-id", f"shop {shop_id} is already connected")
    channel = ChannelConnection(
        organization_id=organization.id,
        platform=platform,
        base_url=checked.connection.base_url,
        shop_id=shop_id,
        shop_name=shop_name,
        settings=dict(settings or {}),
    )
    channel.set_credentials(credentials)
    session.add(channel)
    session.flush()
    assert channel.id is not None
    session.add(ChannelSettings(channel_id=channel.id))
    session.flush()
    return channel


def channel_settings(session: Session, channel_id: int) -> ChannelSettings:
    """The channel's settings row, created with the defaults when missing."""
    settings = session.get(ChannelSettings, channel_id)
    if settings is None:
        settings = ChannelSettings(channel_id=channel_id)
        session.add(settings)
        session.flush()
    return settings


def known_location_ids(session: Session, organization_id: int) -> set[str] | None:
    """The organization's store locations as last fetched, or None before any fetch."""
    store = session.exec(
        select(StoreConnection).where(StoreConnection.organization_id == organization_id)
    ).first()
    if store is None:
        return None
    rows = session.exec(select(Location).where(Location.store_connection_id == store.id)).all()
    return {row.location_id for row in rows} if rows else None


#: Channel settings that are on/off switches.
SWITCHES = frozenset({
    "inventory_sync", "honor_continue_selling", "auto_link", "product_sync", "order_sync",
    "fulfillment_sync", "cancellation_sync", "refund_sync",
})
#: Whole-number settings and their ranges.
RANGES = {
    "percent": (0, 100),
    "threshold": (0, 1_000_000),
    "reconcile_interval_minutes": (1, 7 * 24 * 60),
}


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def _checked_change(
    session: Session, channel: ChannelConnection, field: str, value: Any
) -> dict[str, Any]:
    """The column values one requested change sets; `InvalidInput` naming a bad one."""
    if field in SWITCHES:
        if not isinstance(value, bool):
            raise InvalidInput(_option(field), f"must be on or off, got {value!r}")
        return {field: value}
    if field in RANGES:
        low, high = RANGES[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(_option(field), f"must be {low} to {high}, got {value!r}")
        return {field: value}
    if field == "locations":
        if not isinstance(value, str):
            raise InvalidInput("--locations", "give all, or location ids separated by commas")
        if value == "all":
            return {"location_mode": LocationMode.ALL.value, "location_ids": []}
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids:
            raise InvalidInput("--locations", "give all, or location ids separated by commas")
        known = known_location_ids(session, channel.organization_id)
        unknown = sorted(set(ids) - known) if known is not None else []
        if unknown:
            raise InvalidInput("--locations", f"unknown location ids: {', '.join(unknown)}")
        return {"location_mode": LocationMode.SPECIFIC.value, "location_ids": ids}
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
