"""Webhook verification: good, tampered, missing signatures; parsing; per-shop routing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import BadResponse, WebhookSignatureError
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import Connection
from shelfsync.plugins.tiktok import plugin
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.signing import sign_webhook

OFFICIAL_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)
OFFICIAL_SIGNATURE = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=6, variants=2, seed=0)) as running:
        yield running


def app_connection(server: RunningServer) -> Connection:
    """Webhooks arrive at the app's one address: only the app key and secret matter."""
    creds = server.app.connections()[0]["credentials"]
    return Connection("tiktok", server.base_url,
                      {"app_key": creds["app_key"], "app_secret": creds["app_secret"]})


def sample(server: RunningServer, **options: Any) -> tuple[dict[str, str], bytes]:
    answer = httpx.post(server.base_url + "/_fake/webhook-sample", json=options).json()
    return answer["headers"], answer["body"].encode("utf-8")


def verify(connection: Connection, headers: dict[str, str], body: bytes) -> Any:
    return plugin.shelfsync_verify_webhook(connection=connection, headers=headers, body=body)


def test_the_official_example_verifies() -> None:
    connection = Connection("tiktok", "", {"app_key": "abcdef", "app_secret": "123"})
    event = verify(connection, {"Authorization": OFFICIAL_SIGNATURE}, OFFICIAL_BODY)
    assert event.topic == "ORDER_STATUS_CHANGE"
    assert event.dedup_key == "7380066284010030890"
    assert event.shop_id == "7495540735365777507"
    assert event.order_id == "576653688135258178"
    assert event.occurred_at and event.occurred_at.timestamp() == 1718305585
    assert event.payload["data"]["order_status"] == "UNPAID"


def test_a_good_sample_for_each_shop(server: RunningServer) -> None:
    connection = app_connection(server)
    for index, entry in enumerate(server.app.connections()):
        headers, body = sample(server, shop=index)
        event = verify(connection, headers, body)
        assert event.shop_id == entry["id"]
        assert event.platform == "tiktok" and event.dedup_key


def test_header_names_are_case_insensitive(server: RunningServer) -> None:
    headers, body = sample(server)
    assert verify(app_connection(server), {"authorization": headers["Authorization"]}, body)


@pytest.mark.parametrize("mutation", ["body", "signature", "missing", "other_app"])
def test_a_bad_signature_is_refused(server: RunningServer, mutation: str) -> None:
    headers, body = sample(server)
    connection = app_connection(server)
    if mutation == "body":
        body = body.replace(b'"type":1', b'"type":2')
    elif mutation == "signature":
        headers["Authorization"] = headers["Authorization"][::-1]
    elif mutation == "missing":
        headers.pop("Authorization")
    else:
        connection = Connection("tiktok", "", {"app_key": "abcdef", "app_secret": "123"})
    with pytest.raises(WebhookSignatureError):
        verify(connection, headers, body)


def test_a_signed_body_that_is_not_json_is_bad_response(server: RunningServer) -> None:
    connection = app_connection(server)
    body = b"{not json"
    signature = sign_webhook(connection.credentials["app_key"],
                             connection.credentials["app_secret"], body)
    with pytest.raises(BadResponse):
        verify(connection, {"Authorization": signature}, body)


def test_a_signed_body_missing_its_notification_id_is_bad_response(
    server: RunningServer,
) -> None:
    connection = app_connection(server)
    body = json.dumps({"type": 1, "shop_id": "1", "data": {}}).encode()
    signature = sign_webhook(connection.credentials["app_key"],
                             connection.credentials["app_secret"], body)
    with pytest.raises(BadResponse, match="tts_notification_id"):
        verify(connection, {"Authorization": signature}, body)


def test_delivered_order_and_product_events(server: RunningServer) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", "")}
        received.append((headers, environ["wsgi.input"].read(length)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with serving(receiver) as hook:
        httpx.post(server.base_url + "/_fake/webhooks", json={"url": hook.base_url})
        order = httpx.post(server.base_url + "/_fake/orders", json={
            "shop_id": 1, "items": [{"seller_sku": "SKU-0-00001-01", "quantity": 1}]}).json()
        product_id = order["line_items"][0]["product_id"]
        httpx.post(f"{server.base_url}/_fake/products/{product_id}/status",
                   json={"status": "SELLER_DEACTIVATED"})
        server.app.webhooks.wait_idle()

    events = [verify(app_connection(server), headers, body) for headers, body in received]
    assert [e.topic for e in events] == ["ORDER_STATUS_CHANGE", "PRODUCT_STATUS_CHANGE"]
    shop_id = server.app.connections()[1]["id"]
    assert all(e.shop_id == shop_id for e in events)
    assert events[0].order_id == order["id"]
    assert events[1].payload["data"]["product_id"] == int(product_id)  # a number in this push
    assert len({e.dedup_key for e in events}) == 2


def test_seller_deauthorization_says_access_was_revoked(server: RunningServer) -> None:
    connection = app_connection(server)
    headers, body = sample(server, shop=0)
    assert verify(connection, headers, body).access_revoked is False
    shop_id = server.app.connections()[1]["id"]
    body = json.dumps({"type": 6, "tts_notification_id": "7380066284010030999",
                       "shop_id": shop_id, "timestamp": 1718305585,
                       "data": {"message": "deauthorized"}}).encode()
    signature = sign_webhook(connection.credentials["app_key"],
                             connection.credentials["app_secret"], body)
    event = verify(connection, {"Authorization": signature}, body)
    assert event.topic == "SELLER_DEAUTHORIZATION" and event.access_revoked is True
    assert event.shop_id == shop_id
