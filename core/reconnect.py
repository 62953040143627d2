"""Re-authorizing a connection the platform stopped accepting.

A store or shop is marked `needs_reauth` when the platform refuses our credentials (a revoked
app, an expired refresh token) or tells us access was withdrawn (Shopify's `app/uninstalled`,
TikTok's SELLER_DEAUTHORIZATION). The merchant then authorizes the app again and hands us the
new credentials. Reconnecting keeps the connection's id, so its links, last pushed quantities,
settings, audit and webhook address all carry on; creating a new connection would lose them.

The same rules as connecting apply: declared credential fields only, a live call before
anything is saved, and for a multi-shop app the new credentials must still reach the same shop
(the one whose webhooks are routed to this channel).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session

from shelfsync.core.config import check_live, pick_authorized_shop
from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.models import (
    ChannelConnection,
    ConnectionStatus,
    Organization,
    StoreConnection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync import context
from shelfsync.core.types import Role


def merged_credentials(stored: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """The stored credentials with the given ones over them: a merchant re-authorizing a
    TikTok shop passes the new tokens, not the app key and secret again. An empty value is
    refused rather than erasing a field."""
    empty = sorted(key for key, value in given.items() if not value)
    if empty:
        raise InvalidInput("--credential", f"empty value for {', '.join(empty)}")
    return {**stored, **given}


def reconnect(
    session: Session,
    pm: ShelfsyncPluginManager,
    row: StoreConnection | ChannelConnection,
    credentials: Mapping[str, str],
) -> StoreConnection | ChannelConnection:
    """Check the new credentials live, save them encrypted and mark the connection ok.

    Raises `InvalidInput` for what the merchant must correct (an undeclared field, a shop the
    credentials do not reach) and the plugin's `AuthError` when the platform still refuses;
    nothing is saved then, and the connection keeps its `needs_reauth` flag.
    """
    role = Role.STORE if isinstance(row, StoreConnection) else Role.CHANNEL
    declared = set(pm.platform(row.platform).credential_fields)
    unknown = sorted(set(credentials) - declared)
    if unknown:
        # Checked before merging, so the message names what was typed, not what was stored.
        raise InvalidInput("--credential", f"unknown for {row.platform}: {', '.join(unknown)}")
    merged = merged_credentials(row.credentials(), credentials)
    if "access_token" in credentials:
        # What a plugin stored beside the old token (its expiry) does not describe the new one.
        merged.pop("access_token_expire_in", None)
    # The live check sees the declared fields; what the plugin keeps beside them is saved.
    fields = {key: value for key, value in merged.items() if key in declared}
    checked = check_live(pm, row.platform, role, fields, row.base_url, row.settings)
    if isinstance(row, ChannelConnection) and checked.info.capabilities.multi_shop:
        shop = pick_authorized_shop(pm, checked.connection, row.shop_id or None,
                                    field="--credential")
        row.shop_name = shop.name or row.shop_name
    if isinstance(row, StoreConnection) and not row.store_id and checked.account:
        row.store_id = checked.account.platform_id or None  # connected before it was recorded
    row.set_credentials(merged)
    row.status = ConnectionStatus.OK.value
    row.status_message = ""
    session.add(row)
    session.flush()
    return row


def store_of(session: Session, organization: Organization) -> StoreConnection:
    """The organization's one store connection; `InvalidInput` naming `--org` when none."""
    assert organization.id is not None
    try:
        return context.store_of(session, organization.id)
    except ConfigurationError:
        raise InvalidInput("--org", f"organization {organization.name!r} has no store "
                                    "connected") from None
