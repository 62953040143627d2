"""Subscribing an organization's connections to their platforms' webhooks.

Each connection gets its own receiver address, `<public URL>/webhooks/<platform>/<id>`, so
the receiver knows which credentials verify a delivery. The plugins' subscribe hooks are
idempotent, so this runs safely after every deploy or re-authorization. One connection the
platform refuses (revoked access, an address it will not call) is reported and the others
are still subscribed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from sqlmodel import Session, select

from shelfsync.core.errors import ConfigurationError, InvalidInput, PluginError
from shelfsync.core.http import is_public_address, private_urls_allowed
from shelfsync.core.models import ChannelConnection, Organization, StoreConnection
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.context import channel_connection, store_connection


@dataclass(frozen=True)
class Subscribed:
    """What subscribing one connection did."""

    kind: str
    connection_id: int
    platform: str
    address: str
    topics: list[str] = field(default_factory=list)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_receiver_url(url: str) -> str:
    """Our receiver's public base URL, normalised, without a trailing slash.

    Platforms only call public https addresses; plain http and a private or loopback address
    given as an IP are accepted only where private URLs are allowed (the demo, tests). A host
    name is not resolved here: it is ours, and the platform is the one to reach it.
    `InvalidInput` names `--public-url`.
    """
    try:
        parts = httpx.URL(url.strip())
        port = parts.port
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InvalidInput("public_url", f"not a URL: {url!r}") from None
    private_ok = private_urls_allowed()
    allowed = {"https", "http"} if private_ok else {"https"}
    if parts.scheme not in allowed or not parts.host:
        raise InvalidInput("public_url", f"must be an https:// URL, not {url!r}")
    if parts.userinfo or parts.query or parts.fragment:
        raise InvalidInput("public_url", "must carry no user name, password, query or "
                                           "fragment")
    if port is not None and not 0 < port < 65536:
        raise InvalidInput("public_url", f"port {port} is out of range")
    try:
        literal = ipaddress.ip_address(parts.host)
    except ValueError:
        literal = None
    if literal is not None and not private_ok and not is_public_address(literal):
        raise InvalidInput("public_url", f"{parts.host} is not a public address: the "
                                           "platforms could not reach it")
    if port == {"https": 443, "http": 80}[parts.scheme]:
        parts = parts.copy_with(port=None)
    return str(parts).rstrip("/")


def receiver_address(public_url: str, platform: str, connection_id: int) -> str:
    """Where a connection's webhooks must be sent (the route of `web/webhooks.py`)."""
    return f"{public_url}/webhooks/{platform}/{connection_id}"


def _subscribe_one(pm: ShelfsyncPluginManager, row: StoreConnection | ChannelConnection,
                   public_url: str) -> Subscribed:
    kind = "store" if isinstance(row, StoreConnection) else "channel"
    address = receiver_address(public_url, row.platform, int(row.id or 0))
    result = {"kind": kind, "connection_id": int(row.id or 0), "platform": row.platform,
              "address": address}
    try:
        # The engine's connections: the connection's own timeout, and for a channel a token
        # store, so a token refreshed during the calls is saved (the caller commits).
        connection = (store_connection(row) if isinstance(row, StoreConnection)
                      else channel_connection(row))
        topics = pm.call(connection, "shelfsync_subscribe_webhooks", address=address)
    except (PluginError, ConfigurationError) as exc:
        return Subscribed(**result, error=str(exc))
    if topics is None:
        return Subscribed(**result, error=f"the {row.platform} plugin cannot subscribe to "
                                          "webhooks; reconciliation still repairs drift")
    return Subscribed(**result, topics=list(topics))


def subscribe_organization(session: Session, pm: ShelfsyncPluginManager,
                           organization: Organization, public_url: str) -> list[Subscribed]:
    """Subscribe the organization's store and every channel to their receiver addresses."""
    public_url = check_receiver_url(public_url)
    rows: list[StoreConnection | ChannelConnection] = []
    rows.extend(session.exec(select(StoreConnection).where(
        StoreConnection.organization_id == organization.id)))
    rows.extend(session.exec(select(ChannelConnection).where(
        ChannelConnection.organization_id == organization.id).order_by(ChannelConnection.id)))
    if not rows:
        raise InvalidInput("organization",
                           f"organization {organization.name!r} has nothing connected")
    return [_subscribe_one(pm, row, public_url) for row in rows]
