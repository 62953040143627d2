"""Webhook verification and parsing, on samples and on deliveries the fake really sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BadResponse, ConfigurationError, WebhookSignatureError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.testing.server import serving
from shelfsync.core.types import Connection, WebhookEvent
from shelfsync.plugins.shopify.fake_webhooks import shop_payload


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    return run_fake("shopify", products=4, variants=2)


@pytest.fixture
def verify(shop: RunningFake, plugin_manager: ShelfsyncPluginManager
           ) -> Callable[[dict[str, str], bytes], WebhookEvent]:
    def run(headers: dict[str, str], body: bytes) -> WebhookEvent:
        return plugin_manager.call(shop.connection, "shelfsync_verify_webhook", headers=headers,
                                   body=body)
    return run


def _sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_inventory_level_update_is_parsed(shop: RunningFake,
                                          verify: Callable[..., WebhookEvent]) -> None:
    variant = shop.fake.store.variants[1]
    headers, body = shop.webhook_sample({"sku": variant.sku, "available": 4})
    event = verify(headers, body)
    assert event.topic == "inventory_levels/update"
    assert event.inventory_item_ids == (f"gid://shopify/InventoryItem/{variant.item.num}",)
    digest = hashlib.sha256(b"inventory_levels/update\n" + body).hexdigest()
    assert event.dedup_key == f"sha256:{digest}"
    assert event.shop_id == shop.fake.shop and event.payload["available"] == 4
    assert event.occurred_at is not None


def test_replayed_delivery_has_the_same_dedup_key(shop: RunningFake,
                                                  verify: Callable[..., WebhookEvent]) -> None:
    """The key comes from the signed body: a fresh (unsigned) webhook id changes nothing."""
    headers, body = shop.webhook_sample({"available": 3})
    first = verify(headers, body)
    replay = verify(dict(headers, **{"X-Shopify-Webhook-Id": "fresh-id",
                                     "X-Shopify-Event-Id": "fresh-event"}), body)
    assert first.dedup_key == replay.dedup_key
    other_headers, other_body = shop.webhook_sample({"available": 2})
    assert verify(other_headers, other_body).dedup_key != first.dedup_key


def test_headers_are_case_insensitive(shop: RunningFake,
                                      verify: Callable[..., WebhookEvent]) -> None:
    headers, body = shop.webhook_sample()
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify(upper, body) == verify(headers, body)


@pytest.mark.parametrize("spoil", ["body", "drop", "other-secret", "empty"])
def test_bad_signatures_are_refused(shop: RunningFake, verify: Callable[..., WebhookEvent],
                                    spoil: str) -> None:
    headers, body = shop.webhook_sample()
    if spoil == "body":
        body = body.replace(b'"available":', b'"available":1')
    elif spoil == "drop":
        headers.pop("X-Shopify-Hmac-Sha256")
    elif spoil == "other-secret":
        headers, body = shop.webhook_sample({"secret": "shpss_someone_else"})
    else:
        headers["X-Shopify-Hmac-Sha256"] = ""
    with pytest.raises(WebhookSignatureError):
        verify(headers, body)


def test_signed_garbage_is_a_bad_response(shop: RunningFake,
                                          verify: Callable[..., WebhookEvent]) -> None:
    body = b"not json at all"
    headers = {"X-Shopify-Hmac-Sha256": _sign(shop.fake.client_secret, body),
               "X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": "w-1",
               "X-Shopify-Shop-Domain": shop.fake.shop}
    with pytest.raises(BadResponse, match="not JSON"):
        verify(headers, body)


def test_no_client_secret_is_a_configuration_error(shop: RunningFake,
                                                   plugin_manager: ShelfsyncPluginManager
                                                   ) -> None:
    headers, body = shop.webhook_sample()
    no_secret = Connection(platform="shopify", base_url=shop.base_url,
                           credentials={"access_token": "x"})
    with pytest.raises(ConfigurationError):
        plugin_manager.call(no_secret, "shelfsync_verify_webhook", headers=headers,
                                                     body=body)


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A receiver the fake delivers real webhooks to."""
    received: list[tuple[dict[str, str], bytes]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received.append((dict(request.headers), request.get_data()))
        return Response("ok")(environ, start_response)

    with serving(app) as running:
        yield running.base_url + "/hooks/shopify", received


def _wait_for(received: list[Any], count: int) -> None:
    deadline = time.monotonic() + 5
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_delivered_product_and_item_updates_name_skus_and_items(
    shop: RunningFake, verify: Callable[..., WebhookEvent],
    inbox: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = inbox
    shop.control("POST", "webhooks", {"url": url})
    variant = next(v for v in shop.fake.store.variants if v.item.tracked)
    shop.control("POST", "variant", {"sku": variant.sku, "tracked": False})
    _wait_for(received, 2)
    events = {e.topic: e for e in (verify(h, b) for h, b in received)}
    item_gid = f"gid://shopify/InventoryItem/{variant.item.num}"
    product = events["products/update"]
    assert variant.sku in product.skus and item_gid in product.inventory_item_ids
    assert set(product.skus) == {v.sku for v in variant.product.variants}
    items = events["inventory_items/update"]
    assert items.skus == (variant.sku,) and items.inventory_item_ids == (item_gid,)
    assert json.loads(received[0][1]) == dict(verify(*received[0]).payload)


def test_app_uninstalled_says_access_was_revoked(shop: RunningFake,
                                                 verify: Callable[..., WebhookEvent]) -> None:
    headers, body = shop.webhook_sample()
    assert verify(headers, body).access_revoked is False
    body = json.dumps(shop_payload(shop.fake.shop)).encode()
    uninstall = dict(headers, **{"X-Shopify-Topic": "app/uninstalled",
                                 "X-Shopify-Hmac-Sha256": _sign(shop.fake.client_secret, body)})
    event = verify(uninstall, body)
    assert event.topic == "app/uninstalled" and event.access_revoked is True
    assert event.skus == () and event.inventory_item_ids == ()


def _signed(shop: RunningFake, topic: str, payload: dict[str, Any],
            **changes: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = {"X-Shopify-Hmac-Sha256": _sign(shop.fake.client_secret, body),
               "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": "w-1",
               "X-Shopify-Shop-Domain": shop.fake.shop}
    headers.update(changes)
    return headers, body


LEVEL = {"inventory_item_id": 11, "location_id": 22, "available": 3,
         "updated_at": "2026-05-01T10:00:00-04:00"}
ITEM = {"id": 11, "sku": "A-1", "updated_at": "2026-05-01T10:00:00Z"}
PRODUCT = {"id": 5, "updated_at": "2026-05-01T10:00:00+00:00",
           "variants": [{"id": 6, "sku": "A-1", "inventory_item_id": 11}]}


@pytest.mark.parametrize(("topic", "payload"), [
    ("app/uninstalled", LEVEL),
    ("products/update", LEVEL),
    ("inventory_items/update", LEVEL),
    ("inventory_levels/update", ITEM),
    ("products/update", ITEM),
    ("inventory_levels/update", PRODUCT),
    ("app/uninstalled", PRODUCT),
    ("products/update", dict(PRODUCT, variants=[])),
    ("inventory_levels/update", dict(LEVEL, inventory_item_id="11; drop")),
    ("inventory_levels/update", dict(LEVEL, available="lots")),
])
def test_a_body_that_does_not_fit_its_topic_is_refused(
    shop: RunningFake, verify: Callable[..., WebhookEvent], topic: str,
    payload: dict[str, Any],
) -> None:
    with pytest.raises(BadResponse, match=r"does not fit topic|myshopify_domain"):
        verify(*_signed(shop, topic, payload))


def test_each_shape_names_what_changed(shop: RunningFake,
                                       verify: Callable[..., WebhookEvent]) -> None:
    level = verify(*_signed(shop, "inventory_levels/update", LEVEL))
    assert level.inventory_item_ids == ("gid://shopify/InventoryItem/11",)
    assert level.occurred_at is not None and level.occurred_at.utcoffset() is not None
    item = verify(*_signed(shop, "inventory_items/update", ITEM))
    assert item.skus == ("A-1",) and item.inventory_item_ids == level.inventory_item_ids
    product = verify(*_signed(shop, "products/update", PRODUCT))
    assert product.skus == ("A-1",) and product.inventory_item_ids == level.inventory_item_ids
    assert not (level.access_revoked or item.access_revoked or product.access_revoked)


def test_the_uninstalled_shop_is_the_one_the_body_names(
    shop: RunningFake, verify: Callable[..., WebhookEvent],
) -> None:
    other = "someone-else.myshopify.com"
    event = verify(*_signed(shop, "app/uninstalled", shop_payload(other),
                            **{"X-Shopify-Shop-Domain": other}))
    assert event.shop_id == other and event.access_revoked
    with pytest.raises(BadResponse, match="does not match"):
        verify(*_signed(shop, "app/uninstalled", shop_payload(other)))


@pytest.mark.parametrize(("payload", "changes"), [
    (dict(LEVEL, updated_at="2026-05-01T10:00:00"), {}),
    (dict(LEVEL, updated_at="yesterday"), {}),
    ({"id": 9}, {"X-Shopify-Triggered-At": "2026-05-01T10:00:00"}),
    ({"id": 9, "updated_at": "2026-05-01 10:00"}, {}),
])
def test_a_time_without_a_time_zone_is_refused(
    shop: RunningFake, verify: Callable[..., WebhookEvent], payload: dict[str, Any],
    changes: dict[str, str],
) -> None:
    topic = "inventory_levels/update" if "inventory_item_id" in payload else "orders/create"
    with pytest.raises(BadResponse, match=r"time zone|timestamp"):
        verify(*_signed(shop, topic, payload, **changes))


def test_the_body_time_wins_over_the_unsigned_header(
    shop: RunningFake, verify: Callable[..., WebhookEvent],
) -> None:
    event = verify(*_signed(shop, "inventory_levels/update", LEVEL,
                            **{"X-Shopify-Triggered-At": "1999-01-01T00:00:00"}))
    assert event.occurred_at == datetime.fromisoformat(LEVEL["updated_at"])
    order = verify(*_signed(shop, "orders/create", {"id": 9},
                            **{"X-Shopify-Triggered-At": "2026-05-01T14:00:00.123Z"}))
    assert order.occurred_at == datetime(2026, 5, 1, 14, 0, 0, 123000, tzinfo=UTC)
    assert order.skus == () and not order.access_revoked


def test_a_triggered_at_with_nanoseconds_is_read(shop: RunningFake,
                                                 verify: Callable[..., WebhookEvent]) -> None:
    """Shopify writes nine fractional digits; the uninstall takes its time from the header."""
    event = verify(*_signed(shop, "app/uninstalled", shop_payload(shop.fake.shop),
                            **{"X-Shopify-Triggered-At": "2026-05-01T14:00:00.123456789Z"}))
    assert event.occurred_at == datetime(2026, 5, 1, 14, 0, 0, 123456, tzinfo=UTC)
