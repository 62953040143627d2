"""Issue 10, item 14: a TikTok event reaches only a channel of the app key that signed it, in
the organization it was addressed to; a shop is connected in one organization at most; and a
deauthorization is believed only when the shop's token is really refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import select

from shelfsync.core.config import connect_channel
from shelfsync.core.db import session_scope
from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import ChannelConnection, Organization, StoreConnection
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.plugins.tiktok.fake_webhooks import signed_push

from .conftest import Receiver, connection_status

DEAUTHORIZATION = 6


def add_channel(receiver: Receiver, credentials: dict[str, str], shop_id: str,
                organization_id: int | None = None) -> int:
    """A channel row (as a connect would leave it) in `organization_id`, or a new one."""
    with session_scope() as session:
        if organization_id is None:
            organization = Organization(name="Another merchant")
            session.add(organization)
            session.flush()
            organization_id = int(organization.id or 0)
        channel = ChannelConnection(organization_id=organization_id, platform="tiktok",
                                    base_url=receiver.fakes.channel_server.base_url,
                                    shop_id=shop_id)
        channel.set_credentials(credentials)
        session.add(channel)
        session.flush()
        return int(channel.id or 0)


def deauthorization(receiver: Receiver, app_key: str, shop_index: int
                    ) -> tuple[dict[str, str], bytes]:
    channel = receiver.fakes.channel
    return signed_push(app_key, channel.creds.app_secret, channel.shops[shop_index],
                       DEAUTHORIZATION, f"73000000000000{shop_index}{int(time.time())}",
                       int(time.time()), {"message": "the seller deauthorized the app"})


def real_credentials(receiver: Receiver, index: int = 0) -> dict[str, str]:
    credentials: dict[str, str] = receiver.fakes.channel.connections()[index]["credentials"]
    return dict(credentials)


def post(receiver: Receiver, channel_id: int, signed: tuple[dict[str, str], bytes]) -> Any:
    headers, body = signed
    return receiver.client.post(f"/webhooks/tiktok/{channel_id}", headers=headers, data=body)


def test_an_event_signed_with_another_app_key_reaches_no_channel(receiver: Receiver) -> None:
    """Same secret, another app key, same organization: the shop's channel gets nothing."""
    _, second = receiver.org.channel_ids
    secret = receiver.fakes.channel.creds.app_secret
    sibling = add_channel(receiver, {"app_key": "another_app", "app_secret": secret,
                                     "access_token": "ROW_x"}, "7000000000000000999",
                          receiver.org.organization_id)
    response = post(receiver, sibling, deauthorization(receiver, "another_app", 1))
    assert response.status_code == 200 and response.json["status"] == "ignored"
    assert connection_status(ChannelConnection, second) == "ok"
    assert receiver.receipts() == []


def test_another_organization_cannot_route_events_into_this_one(receiver: Receiver) -> None:
    """Even with the very same app key and secret, an event sent to another organization's
    channel and naming this organization's shop stays out of it."""
    _, second = receiver.org.channel_ids
    outsider = add_channel(receiver, real_credentials(receiver), "7000000000000000998")
    response = post(receiver, outsider, deauthorization(receiver,
                                                        receiver.fakes.channel.creds.app_key, 1))
    assert response.status_code == 200 and response.json["status"] == "ignored"
    assert connection_status(ChannelConnection, second) == "ok"
    assert receiver.receipts() == []


def test_a_deauthorization_is_ignored_while_the_shop_token_works(receiver: Receiver) -> None:
    """Whoever holds the app secret can sign it; only TikTok refusing the token confirms it."""
    first, second = receiver.org.channel_ids
    signed = deauthorization(receiver, receiver.fakes.channel.creds.app_key, 1)
    response = post(receiver, second, signed)
    assert response.status_code == 200 and response.json == {"status": "ignored"}
    assert connection_status(ChannelConnection, second) == "ok"
    assert post(receiver, first, signed).json == {"status": "duplicate"}
    assert connection_status(StoreConnection, receiver.org.store_id) == "ok"


def test_a_shop_is_connected_in_one_organization_at_most(receiver: Receiver) -> None:
    first, _ = receiver.org.channel_ids
    shop_id = receiver.fakes.channel.shops[0].id
    base_url = receiver.fakes.channel_server.base_url
    pm = get_plugin_manager()
    with session_scope() as session:
        other = Organization(name="Second merchant")
        session.add(other)
        session.flush()
        with pytest.raises(InvalidInput, match="another organization"):
            connect_channel(session, pm, other, "tiktok", real_credentials(receiver),
                            api_base_url=base_url, shop_id=shop_id,
                            settings={"auth_base_url": base_url})
    with session_scope() as session:  # the merchant disconnects it in the first one
        row = session.get(ChannelConnection, first)
        assert row is not None
        session.delete(row)
    with session_scope() as session:
        other = session.exec(select(Organization).where(
            Organization.name == "Second merchant")).one()
        channel = connect_channel(session, pm, other, "tiktok", real_credentials(receiver),
                                  api_base_url=base_url, shop_id=shop_id,
                                  settings={"auth_base_url": base_url})
        assert channel.shop_id == shop_id


def test_a_tiktok_event_older_than_the_replay_window_is_not_acted_on(
    receiver: Receiver,
) -> None:
    first, _ = receiver.org.channel_ids
    channel = receiver.fakes.channel
    old = int(time.time()) - 4 * 24 * 3600
    signed = signed_push(channel.creds.app_key, channel.creds.app_secret, channel.shops[0],
                         DEAUTHORIZATION, "7300000000000000077", old, {"message": "old"})
    with session_scope() as session:  # even with the token dead, an old event is not believed
        row = session.get(ChannelConnection, first)
        assert row is not None
        row.set_credentials({**row.credentials(), "access_token": "ROW_revoked"})
    assert post(receiver, first, signed).json == {"status": "stale"}
    assert connection_status(ChannelConnection, first) == "ok" and receiver.receipts() == []
