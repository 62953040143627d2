"""Organizations and their connections: look-ups, connecting, re-authorizing, settings.

The CLI and the settings UI both call these, so a store or a shop is validated the same way
whichever door it comes through: declared credential fields only, each typed and checked
(`services.fields`), a public base URL (unless private URLs are allowed), and a live call that
proves the credentials before anything is saved; a shop selling in another currency than the
store needs an exchange rate first (`services.currencies`). Errors name fields
(`organization`, `channel`, `credentials.app_key`, `settings.timeout`, `currency_rate`),
never a CLI flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.http import check_public_url
from shelfsync.core.models import (
    ChannelConnection,
    ConnectionStatus,
    Organization,
    StoreConnection,
    add_store_connection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services.channel_settings import channel_settings
from shelfsync.core.services.currencies import check_currencies, live_store_currency
from shelfsync.core.services.fields import (
    check_credentials,
    check_name,
    check_setting,
    check_settings,
    parse_id,
    setting_problems,
)
from shelfsync.core.services.sync_settings import update_sync_settings
from shelfsync.core.sync import context
from shelfsync.core.types import AccountInfo, AuthorizedShop, Connection, PlatformInfo, Role

#: A store or a shop: the two kinds of connection an organization has.
AnyConnection = StoreConnection | ChannelConnection


def role_of(row: AnyConnection) -> Role:
    """Whether a connection row is the organization's store or one of its channels."""
    return Role.STORE if isinstance(row, StoreConnection) else Role.CHANNEL


# --- organizations and look-ups ---------------------------------------------------------------


def create_organization(session: Session, name: str) -> Organization:
    """A new organization; `InvalidInput("name", …)` when the name is unusable or taken.

    An all-digit name is refused: `--org 42` would find organization 42 instead.
    """
    name = check_name("name", name)
    if session.exec(select(Organization).where(Organization.name == name)).first():
        raise InvalidInput("name", f"an organization called {name!r} already exists")
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    return organization


def find_organization(session: Session, ref: str) -> Organization:
    """An organization by id (digits) or by name; `InvalidInput("organization", …)`."""
    ref = ref.strip()
    found = None
    if ref.isascii() and ref.isdigit():
        found = session.get(Organization, parse_id("organization", ref))
    if found is None:
        found = session.exec(select(Organization).where(Organization.name == ref)).first()
    if found is None:
        raise InvalidInput("organization", f"no organization {ref!r}")
    return found


def store_of(session: Session, organization: Organization) -> StoreConnection:
    """The organization's one store; `InvalidInput("organization", …)` when none."""
    assert organization.id is not None
    try:
        return context.store_of(session, organization.id)
    except ConfigurationError:
        raise InvalidInput("organization", f"organization {organization.name!r} has no store "
                                           "connected") from None


def channels_of(session: Session, organization: Organization) -> list[ChannelConnection]:
    """The organization's channels, by id."""
    return list(session.exec(
        select(ChannelConnection).where(ChannelConnection.organization_id == organization.id)
        .order_by(ChannelConnection.id)  # type: ignore[arg-type]
    ))


def find_channel(session: Session, ref: str | int) -> ChannelConnection:
    """A channel by id; `InvalidInput("channel", …)` for a malformed or unknown id."""
    channel_id = parse_id("channel", ref)
    channel = session.get(ChannelConnection, channel_id)
    if channel is None:
        raise InvalidInput("channel", f"no channel with id {str(channel_id)!r}")
    return channel


# --- connecting -------------------------------------------------------------------------------


def platform_info(pm: ShelfsyncPluginManager, name: str, role: Role | None = None) -> PlatformInfo:
    """The installed platform `name` (of `role`); `InvalidInput("platform", …)` otherwise."""
    try:
        info = pm.platform(name)
    except KeyError as exc:
        raise InvalidInput("platform", str(exc.args[0])) from None
    if role is not None and info.role is not role:
        raise InvalidInput("platform", f"{name} is a {info.role} platform, not a {role}")
    return info


def _base_url(info: PlatformInfo, api_base_url: str | None) -> str:
    url = api_base_url or info.default_base_url
    if not url:
        raise InvalidInput("api_base_url", f"{info.name} needs the store's URL")
    try:
        return check_public_url(url)
    except ConfigurationError as exc:
        raise InvalidInput("api_base_url", exc.message) from None


@dataclass(frozen=True)
class CheckedConnection:
    """A connection whose credentials a live call accepted."""

    info: PlatformInfo
    connection: Connection
    #: The platform's own id and name of the store or shop, as the check learnt them.
    account: AccountInfo | None = None


def check_live(
    pm: ShelfsyncPluginManager,
    platform: str,
    role: Role,
    credentials: Mapping[str, str],
    api_base_url: str | None,
    settings: Mapping[str, Any] | None = None,
) -> CheckedConnection:
    """Validate the fields, settings and URL, then prove the credentials with one live call.

    Raises `InvalidInput` for what the user must correct and the plugin's `AuthError` (or
    another `PluginError`) when the platform refuses. The connection carries the checked,
    typed settings.
    """
    info = platform_info(pm, platform, role)
    checked = check_credentials(info, credentials)
    connection = Connection(
        platform=platform,
        base_url=_base_url(info, api_base_url),
        credentials=checked,
        settings=check_settings(info, settings or {}),
    )
    answered = pm.call(connection, "shelfsync_check_connection")
    return CheckedConnection(info, connection, answered)


def pick_authorized_shop(
    pm: ShelfsyncPluginManager, connection: Connection, shop_id: str | None,
    *, field: str = "shop_id",
) -> AuthorizedShop:
    """The shop of a multi-shop app these credentials may act for: the one with `shop_id`
    and the credentials' `shop_cipher` (either may be left out, not both).

    Both must name the same shop: the id routes its webhooks here, the cipher sends this
    channel's calls; a mismatch would push one shop's stock to another.
    """
    shops = pm.call(connection, "shelfsync_fetch_authorized_shops")
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
        credentials=checked.connection.credentials,
        settings=checked.connection.settings,
        store_id=(checked.account.platform_id or None) if checked.account else None,
        store_name=checked.account.name if checked.account else "",
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
            "shop_id",
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
    currency_rate: str | Decimal | None = None,
) -> ChannelConnection:
    """Connect one sales-channel shop after a live check of its credentials.

    For a platform with several shops under one app, the shop is picked from the authorized
    shops (by `shop_id`, or by the credentials' `shop_cipher`), and its id is recorded so
    webhooks sent to the app's one address can be routed to it.

    When the shop sells in another currency than the store prices in, `currency_rate` (shop
    price = store price × rate) is required and saved in the channel's settings; see
    `services.currencies` for what is compared and why a rate is refused.
    """
    checked = check_live(pm, platform, Role.CHANNEL, credentials, api_base_url, settings)
    shop_name = checked.account.name if checked.account else ""
    shop_currency = checked.account.currency if checked.account else None
    if checked.info.capabilities.multi_shop:
        shop = pick_authorized_shop(pm, checked.connection, shop_id)
        shop_id, shop_name, shop_currency = shop.id, shop.name, shop.currency
    elif not shop_id and checked.account and checked.account.platform_id:
        shop_id = checked.account.platform_id
    assert organization.id is not None
    if shop_id:
        refuse_shop_of_another_organization(session, organization.id, platform, shop_id)
    if shop_id and session.exec(select(ChannelConnection).where(
        ChannelConnection.organization_id == organization.id,
        ChannelConnection.platform == platform,
        ChannelConnection.shop_id == shop_id,
    )).first():
        raise InvalidInput("shop_id", f"shop {shop_id} is already connected")
    # Compared only when the shop's currency is known: no store call for a plugin that
    # cannot say what its shop sells in (a given rate is then saved as given).
    currencies = check_currencies(
        shop_currency,
        live_store_currency(session, pm, organization) if shop_currency else None,
        currency_rate)
    channel = ChannelConnection(
        organization_id=organization.id,
        platform=platform,
        base_url=checked.connection.base_url,
        shop_id=shop_id,
        shop_name=shop_name,
        settings=dict(checked.connection.settings),
    )
    channel.set_credentials(checked.connection.credentials)
    session.add(channel)
    session.flush()
    assert channel.id is not None
    channel_settings(session, channel.id)
    if currencies.rate is not None:
        update_sync_settings(session, channel, {"currency_rate": currencies.rate})
    return channel


# --- re-authorizing ---------------------------------------------------------------------------


def reconnect(
    session: Session,
    pm: ShelfsyncPluginManager,
    row: AnyConnection,
    credentials: Mapping[str, str],
) -> AnyConnection:
    """Check the new credentials live, save them encrypted and mark the connection ok.

    Only the changed fields need be given (a merchant re-authorizing a TikTok shop passes
    the new tokens, not the app key and secret again). Raises `InvalidInput` for what the
    merchant must correct (an undeclared or empty field, a shop the credentials do not reach)
    and the plugin's `AuthError` when the platform still refuses; nothing is saved then, and
    the connection keeps its `needs_reauth` flag.
    """
    info = platform_info(pm, row.platform)
    # Checked before merging, so a message names what was typed, not what was stored.
    given = check_credentials(info, credentials, partial=True)
    merged = {**row.credentials(), **given}
    if "access_token" in given:
        # What a plugin stored beside the old token (its expiry) does not describe the new one.
        merged.pop("access_token_expire_in", None)
    # The live check sees the declared fields; what the plugin keeps beside them is saved.
    fields = {key: value for key, value in merged.items() if key in info.credential_names}
    checked = check_live(pm, row.platform, role_of(row), fields, row.base_url,
                         _usable(info, row.settings or {}))
    if isinstance(row, ChannelConnection) and checked.info.capabilities.multi_shop:
        shop = pick_authorized_shop(pm, checked.connection, row.shop_id or None,
                                    field="credentials")
        row.shop_name = shop.name or row.shop_name
    if isinstance(row, StoreConnection) and not row.store_id and checked.account:
        row.store_id = checked.account.platform_id or None  # connected before it was recorded
    row.set_credentials(merged)
    row.status = ConnectionStatus.OK.value
    row.status_message = ""
    session.add(row)
    session.flush()
    return row


# --- a connection's plugin settings -----------------------------------------------------------


def _usable(info: PlatformInfo, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored settings without the ones the declared fields refuse (their default
    applies), so an old bad value does not block a reconnect."""
    problems = setting_problems(info, stored)
    return {name: value for name, value in stored.items() if name not in problems}


def find_connection(session: Session, organization: str | None,
                    channel: str | None) -> AnyConnection:
    """The organization's store, or a channel: exactly one of the two must be given."""
    if (organization is None) == (channel is None):
        raise InvalidInput("connection", "give the store's organization or a channel, not both")
    if channel is not None:
        return find_channel(session, channel)
    assert organization is not None
    return store_of(session, find_organization(session, organization))


def update_connection_settings(
    session: Session,
    pm: ShelfsyncPluginManager,
    row: AnyConnection,
    changes: Mapping[str, str],
    reset: Iterable[str] = (),
) -> dict[str, Any]:
    """Set (typed, range-checked) and reset (back to the default) plugin settings, all or none.

    A name may be reset even when it is not declared any more, so any stored value can be
    removed with one command. Returns the connection's stored settings.
    """
    info = platform_info(pm, row.platform)
    reset = list(reset)
    both = sorted(set(reset) & set(changes))
    if both:
        raise InvalidInput(f"settings.{both[0]}", "both set and reset")
    stored = dict(row.settings or {})
    declared = info.setting_specs()
    unknown = sorted(name for name in reset if name not in stored and name not in declared)
    if unknown:
        raise InvalidInput(f"settings.{unknown[0]}", f"is not a setting of {info.name}")
    typed = {name: check_setting(info, name, raw) for name, raw in changes.items()}
    for name in reset:
        stored.pop(name, None)
    stored.update(typed)
    row.settings = stored
    session.add(row)
    session.flush()
    return stored


def connection_setting_problems(pm: ShelfsyncPluginManager, row: AnyConnection) -> dict[str, str]:
    """Stored settings of a connection its platform's declared fields refuse, by name (none
    when its plugin is not installed: nothing to check against)."""
    try:
        info = pm.platform(row.platform)
    except KeyError:
        return {}
    return setting_problems(info, row.settings or {})
