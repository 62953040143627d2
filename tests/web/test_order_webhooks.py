"""Issue 12, item 1: a TikTok ORDER_STATUS_CHANGE is recorded as the shop's order before the
200 and `handle_order` is sent; duplicates make one order; the actor creates it once."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlmodel import Session, select

from shelfsync.core import tasks
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.models import ChannelSettings, OrderBinding
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync.linking import refresh_listings
from shelfsync.plugins.tiktok.fake_webhooks import signed_push

from .conftest import Receiver

ORDER_STATUS_CHANGE = 1


def _link(receiver: Receiver) -> None:
    with session_scope() as session:
        for channel_id in receiver.org.channel_ids:
            refresh_listings(session, get_plugin_manager(), channel_id)
            settings = session.get(ChannelSettings, channel_id)
            assert settings is not None
            settings.currency_rate = 0.8  # the first shop sells in GBP, the store in USD
            session.add(settings)


def _place(receiver: Receiver, shop: int) -> dict[str, Any]:
    channel = receiver.fakes.channel
    sku = next(iter(channel.shops[shop].by_seller_sku))
    answer = httpx.post(f"{receiver.fakes.channel_server.base_url}/_fake/orders",
                        json={"shop": shop, "seller_skus": {sku: 1}}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _status_push(receiver: Receiver, shop: int, order: dict[str, Any], status: str,
                 notification: str, update_time: int | None = None
                 ) -> tuple[dict[str, str], bytes]:
    channel = receiver.fakes.channel
    app_key = receiver.fakes.channel.connections()[shop]["credentials"]["app_key"]
    data = {"order_id": order["id"], "order_status": status, "is_on_hold_order": False,
            "update_time": update_time if update_time is not None else int(time.time())}
    return signed_push(app_key, channel.creds.app_secret, channel.shops[shop],
                       ORDER_STATUS_CHANGE, notification, int(time.time()), data)


def _post(receiver: Receiver, shop: int, signed: tuple[dict[str, str], bytes]) -> Any:
    headers, body = signed
    channel_id = receiver.org.channel_ids[shop]
    return receiver.client.post(f"/webhooks/tiktok/{channel_id}", headers=headers, data=body)


def _bindings(order_id: str) -> list[OrderBinding]:
    with Session(get_engine()) as session:
        return list(session.exec(select(OrderBinding).where(
            OrderBinding.channel_order_id == order_id)))


def _store_orders(receiver: Receiver, order_id: str) -> int:
    return sum(1 for o in receiver.fakes.store.store.orders if o.source_identifier == order_id)


def test_an_order_webhook_is_recorded_enqueued_and_created_once(receiver: Receiver) -> None:
    _link(receiver)
    order = _place(receiver, 0)
    first = _post(receiver, 0, _status_push(receiver, 0, order, "AWAITING_SHIPMENT", "n-1"))
    assert first.status_code == 200 and first.get_json()["status"] == "recorded"
    # A replay of the same delivery, and a second delivery of the same change.
    assert _post(receiver, 0, _status_push(receiver, 0, order, "AWAITING_SHIPMENT", "n-1")
                 ).get_json()["status"] == "duplicate"
    assert _post(receiver, 0, _status_push(receiver, 0, order, "AWAITING_SHIPMENT", "n-2")
                 ).status_code == 200
    rows = _bindings(order["id"])
    assert len(rows) == 1 and rows[0].channel_status == "AWAITING_SHIPMENT"
    assert rows[0].payload == {}  # only the id and status so far: the actor reads the order
    sent = [m for m in receiver.enqueued() if m.actor_name == "handle_order"]
    assert [m.args for m in sent] == [(rows[0].id,), (rows[0].id,)]
    for message in sent:  # both messages run: one store order
        tasks.handle_order.fn(*message.args)
    row = _bindings(order["id"])[0]
    assert row.status == "created" and row.store_order_name
    assert _store_orders(receiver, order["id"]) == 1


def test_a_late_older_status_does_not_undo_a_cancellation(receiver: Receiver) -> None:
    _link(receiver)
    order = _place(receiver, 1)
    # Explicit update times: two pushes read from the clock may fall in two seconds.
    cancelled_at = int(time.time())
    _post(receiver, 1, _status_push(receiver, 1, order, "CANCEL", "c-1", cancelled_at))
    _post(receiver, 1, _status_push(receiver, 1, order, "AWAITING_SHIPMENT", "c-0",
                                    cancelled_at - 1))
    rows = _bindings(order["id"])
    assert len(rows) == 1 and rows[0].channel_status == "CANCEL"
    httpx.post(f"{receiver.fakes.channel_server.base_url}/_fake/orders/{order['id']}/status",
               json={"status": "CANCELLED"}, timeout=10)
    tasks.handle_order.fn(rows[0].id)
    row = _bindings(order["id"])[0]
    assert (row.status, row.failure_reason_code) == ("skipped", "cancelled_before_sync")
    assert _store_orders(receiver, order["id"]) == 0


def test_order_sync_off_records_nothing(receiver: Receiver) -> None:
    with session_scope() as session:
        settings = session.get(ChannelSettings, receiver.org.channel_ids[0])
        assert settings is not None
        settings.order_sync = False
        session.add(settings)
    order = _place(receiver, 0)
    answer = _post(receiver, 0, _status_push(receiver, 0, order, "AWAITING_SHIPMENT", "o-1"))
    assert answer.status_code == 200
    assert _bindings(order["id"]) == []


def test_an_order_whose_webhook_was_lost_arrives_through_the_poll(receiver: Receiver) -> None:
    _link(receiver)
    order = _place(receiver, 1)  # no webhook reaches us
    assert _bindings(order["id"]) == []
    tasks.poll_orders.fn(receiver.org.channel_ids[1])
    rows = _bindings(order["id"])
    assert len(rows) == 1 and rows[0].payload["lines"]
    sent = [m for m in receiver.enqueued() if m.actor_name == "handle_order"]
    assert [m.args for m in sent] == [(rows[0].id,)]
    tasks.handle_order.fn(rows[0].id)
    assert _store_orders(receiver, order["id"]) == 1
    # The next poll reads it again (overlap window): nothing new, nothing sent for it.
    tasks.poll_orders.fn(receiver.org.channel_ids[1])
    assert [m.args for m in receiver.enqueued() if m.actor_name == "handle_order"] == [
        (rows[0].id,)]
    assert _store_orders(receiver, order["id"]) == 1


def test_an_on_hold_order_released_by_webhook_is_read_again_for_its_address(
        receiver: Receiver) -> None:
    """TikTok shows no address while an order is ON_HOLD: when the webhook says it moved on,
    the order is read again before the store order is made, so it ships somewhere."""
    _link(receiver)
    channel = receiver.fakes.channel
    sku = next(iter(channel.shops[1].by_seller_sku))
    order = httpx.post(f"{receiver.fakes.channel_server.base_url}/_fake/orders",
                       json={"shop": 1, "seller_skus": {sku: 1}, "status": "ON_HOLD"},
                       timeout=10).json()
    assert "recipient_address" not in order
    tasks.poll_orders.fn(receiver.org.channel_ids[1])
    held = _bindings(order["id"])[0]
    assert held.payload["recipient"] is None and held.status == "waiting"
    time.sleep(1.1)  # TikTok's times are whole seconds: the release is a later one
    released = httpx.post(
        f"{receiver.fakes.channel_server.base_url}/_fake/orders/{order['id']}/status",
        json={"status": "AWAITING_SHIPMENT"}, timeout=10).json()
    _post(receiver, 1, _status_push(receiver, 1, released, "AWAITING_SHIPMENT", "h-1"))
    tasks.handle_order.fn(held.id)
    row = _bindings(order["id"])[0]
    assert row.status == "created" and row.payload["recipient"]["name"]
    made = [o for o in receiver.fakes.store.store.orders
            if o.source_identifier == order["id"]]
    assert len(made) == 1 and made[0].shipping_address is not None
    assert made[0].shipping_address["name"] == released["recipient_address"]["name"]


def test_a_store_refusing_our_token_is_marked_and_the_order_waits(receiver: Receiver) -> None:
    from shelfsync.core.models import StoreConnection

    from .conftest import connection_status

    _link(receiver)
    order = _place(receiver, 1)
    _post(receiver, 1, _status_push(receiver, 1, order, "AWAITING_SHIPMENT", "r-1"))
    receiver.fakes.store.access_token = "shpat_revoked"
    binding = _bindings(order["id"])[0]
    tasks.handle_order.fn(binding.id)
    row = _bindings(order["id"])[0]
    assert (row.status, row.failure_reason_code) == ("failed", "needs_reauth")
    assert connection_status(StoreConnection, receiver.org.store_id) == "needs_reauth"
    assert _store_orders(receiver, order["id"]) == 0
