"""`shelfsync_subscribe_webhooks`: each shop's events pointed at its channel's address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import AuthError, BadRequest
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.tiktok import plugin
from shelfsync.plugins.tiktok.client import TikTokClient
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for
from shelfsync.plugins.tiktok.subscriptions import EVENT_TYPES, WEBHOOKS_PATH


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=3, variants=1, seed=4)) as running:
        yield running


def addresses(server: RunningServer, index: int) -> dict[str, str]:
    """What the fake's shop `index` has on record (read through the plugin's own client)."""
    with TikTokClient(connection_for(server, index)) as client:
        hooks = client.call("GET", WEBHOOKS_PATH).data["webhooks"]
    return {hook["event_type"]: hook["address"] for hook in hooks}


def subscribe(server: RunningServer, index: int, address: str, **credentials: str) -> Any:
    return plugin.shelfsync_subscribe_webhooks(
        connection=connection_for(server, index, credentials=credentials or None),
        address=address)


def test_each_shop_gets_its_own_address_and_a_rerun_writes_nothing(
        server: RunningServer) -> None:
    first = "https://shelfsync.example.com/webhooks/tiktok/1"
    second = "https://shelfsync.example.com/webhooks/tiktok/2"
    assert subscribe(server, 0, first) == list(EVENT_TYPES)
    assert subscribe(server, 1, second) == list(EVENT_TYPES)
    assert addresses(server, 0) == dict.fromkeys(EVENT_TYPES, first)
    assert addresses(server, 1) == dict.fromkeys(EVENT_TYPES, second)

    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    subscribe(server, 0, first)
    writes = httpx.get(server.base_url + "/_fake/requests").json()["by_path"]
    assert writes == {WEBHOOKS_PATH: 1}  # one GET; no PUT


def test_a_moved_address_is_replaced(server: RunningServer) -> None:
    subscribe(server, 0, "https://old.example.com/webhooks/tiktok/1")
    subscribe(server, 0, "https://new.example.com/webhooks/tiktok/1")
    assert set(addresses(server, 0).values()) == {"https://new.example.com/webhooks/tiktok/1"}


def test_an_address_tiktok_refuses_is_a_bad_request(server: RunningServer) -> None:
    with pytest.raises(BadRequest):
        subscribe(server, 0, "ftp://shelfsync.example.com/hooks")


def test_a_refused_token_is_an_auth_error(server: RunningServer) -> None:
    with pytest.raises(AuthError):
        subscribe(server, 0, "https://x.example.com/w", access_token="TTP_revoked")


def test_orders_are_delivered_to_the_shops_address(server: RunningServer) -> None:
    received: list[bytes] = []

    def inbox(environ: dict[str, Any], start_response: Any) -> Any:
        received.append(Request(environ).get_data())
        return Response("ok")(environ, start_response)

    with serving(inbox) as receiver:
        subscribe(server, 1, receiver.base_url + "/webhooks/tiktok/2")
        shop = server.app.shops[1]
        sku = next(iter(shop.products.values())).skus[0].seller_sku
        httpx.post(server.base_url + "/_fake/orders",
                   json={"shop": 1, "seller_skus": {sku: 1}}).raise_for_status()
        deadline = time.monotonic() + 10  # deliveries are asynchronous: wait, don't time
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert received and b'"type":1' in received[0] and shop.id.encode() in received[0]
