"""Subscribing an organization's connections to their platforms' webhooks.

Each connection gets its own receiver address, `<public URL>/webhooks/<platform>/<id>`, so
the receiver knows which credentials verify a delivery. The plugins' subscribe hooks are
idempotent, so this runs safely after every deploy or re-authorization. One connection the
platform refuses (revoked access, an address it will not call) is reported and the others
are still subscribed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput, PluginError
from shelfsync.core.http import private_urls_allowed
from shelfsync.core.models import ChannelConnection, Organization, StoreConnection
from shelfsync.core.plugins import ShelfsyncPluginManager


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
    """Our receiver's public base URL, without a trailing slash.

    Platforms only call https addresses; plain http (and a loopback host) is accepted only
    where private URLs are allowed (the demo, tests). `InvalidInput` names `--public-url`.
    """
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InvalidInput("--public-url", f"not a URL: {url!r}") from None
    allowed = {"https", "http"} if private_urls_allowed() else {"https"}
    if parts.scheme not in allowed or not parts.host:
        raise InvalidInput("--public-url", f"must be an https:// URL, not {url!r}")
    if parts.userinfo or parts.query or parts.fragment:
        raise InvalidInput("--public-url", "must carry no user name, password, query or "
                                           "fragment")
    return url.rstrip("/")


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
        topics = pm.hook.shelfsync_subscribe_webhooks(connection=row.as_connection(),
                                                      address=address)
    except PluginError as exc:
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
        raise InvalidInput("--org", f"organization {organization.name!r} has nothing connected")
    return [_subscribe_one(pm, row, public_url) for row in rows]
