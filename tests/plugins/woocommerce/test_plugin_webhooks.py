"""Webhooks: subscribed through the API (idempotently), pinged, signed, verified and parsed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BadResponse, WebhookSignatureError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.testing.server import serving
from shelfsync.core.types import WebhookEvent
from shelfsync.plugins.woocommerce import webhooks
from shelfsync.plugins.woocommerce.subscriptions import TOPICS


class Receiver:
    """Records every delivery (headers, raw body) and answers 200."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.got.append((dict(request.headers), request.get_data()))
        return Response("ok")(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with serving(app) as running:
        yield app, f"{running.base_url}/webhooks/woocommerce/1"


def _verify(pm: ShelfsyncPluginManager, woo: RunningFake, headers: dict[str, str],
            body: bytes) -> WebhookEvent:
    return pm.call(woo.connection, "shelfsync_verify_webhook", headers=headers, body=body)


def test_subscribe_pings_and_then_deliveries_verify(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager,
        receiver: tuple[Receiver, str]) -> None:
    app, address = receiver
    topics = plugin_manager.call(woo.connection, "shelfsync_subscribe_webhooks", address=address)
    assert topics == list(TOPICS)
    woo.fake.webhooks.wait_idle()
    pings = [(h, b) for h, b in app.got if b.startswith(b"webhook_id=")]
    assert len(pings) == len(TOPICS)  # WooCommerce pings each new webhook
    for headers, body in pings:
        event = _verify(plugin_manager, woo, headers, body)
        assert event.topic == "webhook.ping" and event.skus == () and \
            event.inventory_item_ids == ()
    # Stock moved by the merchant: product.updated, signed with the webhook's secret.
    store = woo.fake.store
    parent = next(p for p in store.products.values() if p.type == "variable")
    parent.manage_stock, parent.stock_quantity = True, 10
    item = store.products[parent.variations[0]]
    item.manage_stock = False
    assert store.manage_stock(item) == "parent"
    app.got.clear()
    woo.control("POST", "stock", {"sku": item.sku, "delta": -2})
    woo.fake.webhooks.wait_idle()
    (headers, body), = app.got
    assert headers["X-Wc-Webhook-Topic"] == "product.updated"
    event = _verify(plugin_manager, woo, headers, body)
    # The parent was saved: it names no SKU, but its id and its variations' reach them all.
    assert event.skus == () and str(parent.id) in event.inventory_item_ids
    assert str(item.id) in event.inventory_item_ids


def test_subscribing_again_changes_nothing_and_repairs_a_secret(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager,
        receiver: tuple[Receiver, str]) -> None:
    _, address = receiver
    plugin_manager.call(woo.connection, "shelfsync_subscribe_webhooks", address=address)
    hooks = dict(woo.fake.store.webhooks)
    assert sorted(h.topic for h in hooks.values()) == sorted(TOPICS)
    first = next(iter(hooks.values()))
    first.secret, first.status = "stale", "paused"
    plugin_manager.call(woo.connection, "shelfsync_subscribe_webhooks", address=address)
    assert woo.fake.store.webhooks.keys() == hooks.keys()
    assert first.secret == woo.connection.credentials["webhook_secret"]
    assert first.status == "active"
    assert woo.control("GET", "dropped") == []


def test_an_order_names_its_lines(woo: RunningFake, plugin_manager: ShelfsyncPluginManager,
                                  receiver: tuple[Receiver, str]) -> None:
    app, address = receiver
    woo.control("POST", "webhooks", {"url": address})
    sku = woo.fake.store.sellable()[0].sku
    woo.control("POST", "orders", {"items": [{"sku": sku, "quantity": 1}]})
    woo.fake.webhooks.wait_idle()
    (headers, body), = app.got
    event = _verify(plugin_manager, woo, headers, body)
    assert event.topic == "order.created" and event.skus == (sku,) and event.order_id


def test_signature_good_bad_and_missing(woo: RunningFake,
                                        plugin_manager: ShelfsyncPluginManager) -> None:
    headers, body = woo.webhook_sample()
    event = _verify(plugin_manager, woo, headers, body)
    assert event.skus == (woo.fake.store.sellable()[0].sku,)
    forged = {**headers, "X-WC-Webhook-Signature": webhooks.sign("another secret", body)}
    unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    for bad_headers, bad_body in ((forged, body), (unsigned, body), (headers, body + b" "),
                                  ({**headers, "X-WC-Webhook-Signature": ""}, body)):
        with pytest.raises(WebhookSignatureError):
            _verify(plugin_manager, woo, bad_headers, bad_body)


def test_only_a_bare_ping_goes_unsigned(woo: RunningFake,
                                        plugin_manager: ShelfsyncPluginManager) -> None:
    ping = _verify(plugin_manager, woo, {}, b"webhook_id=12")
    assert ping.dedup_key == "webhook.ping" and ping.payload == {"webhook_id": 12}
    # Every ping shares one key: unsigned bodies cannot grow the receipts table.
    assert _verify(plugin_manager, woo, {}, b"webhook_id=13").dedup_key == ping.dedup_key
    for body, headers in ((b"webhook_id=12&sku=X", {}), (b'{"sku": "X"}', {}),
                          (b"webhook_id=12", {"X-WC-Webhook-Topic": "product.updated"})):
        with pytest.raises(WebhookSignatureError):
            _verify(plugin_manager, woo, headers, body)


def test_a_signed_body_that_is_not_json_is_a_bad_answer(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    secret = woo.connection.credentials["webhook_secret"]
    body = b"not json"
    with pytest.raises(BadResponse):
        _verify(plugin_manager, woo, {"X-WC-Webhook-Signature": webhooks.sign(secret, body)},
                body)
    listed = json.dumps([1, 2]).encode()
    with pytest.raises(BadResponse):
        _verify(plugin_manager, woo, {"X-WC-Webhook-Signature": webhooks.sign(secret, listed)},
                listed)


def test_a_secret_with_html_entities_verifies_as_woocommerce_signs() -> None:
    body = b'{"id":5,"sku":"A"}'
    stored = "s3cr&amp;t&quot;x"
    signed = webhooks.sign('s3cr&t"x', body)  # WooCommerce decodes the entities first
    event = webhooks.verify_and_parse(stored, {"X-WC-Webhook-Signature": signed}, body)
    assert event.skus == ("A",)
    with pytest.raises(WebhookSignatureError):
        webhooks.verify_and_parse(stored, {"X-WC-Webhook-Signature": webhooks.sign("x", body)},
                                  body)
