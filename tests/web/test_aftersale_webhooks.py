"""After-sale webhooks through the receiver and the actors: each is recorded (or its work
named) before the 200, and the actors carry it across once, whatever the duplicates."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlmodel import select

from shelfsync.core import tasks
from shelfsync.core.db import session_scope
from shelfsync.core.models import AftersaleAction
from shelfsync.plugins.tiktok.fake_webhooks import signed_push

from .conftest import Receiver, shopify_delivery
from .test_order_webhooks import _bindings, _link, _place, _post, _status_push

CANCELLATION_STATUS_CHANGE, RETURN_STATUS_CHANGE = 11, 12


def _created(receiver: Receiver) -> tuple[dict[str, Any], int]:
    _link(receiver)
    order = _place(receiver, 0)
    _post(receiver, 0, _status_push(receiver, 0, order, "AWAITING_SHIPMENT", "a-1"))
    binding = _bindings(order["id"])[0]
    tasks.handle_order.fn(binding.id)
    assert _bindings(order["id"])[0].status == "created"
    return order, int(binding.id or 0)


def _actions(binding_id: int) -> list[tuple[str, str]]:
    with session_scope() as session:
        rows = session.exec(select(AftersaleAction).where(
            AftersaleAction.binding_id == binding_id).order_by(AftersaleAction.id))  # type: ignore[arg-type]
        return [(row.kind, row.status) for row in rows]


def _push(receiver: Receiver, kind: int, data: dict[str, Any], notification: str) -> Any:
    channel = receiver.fakes.channel
    app_key = channel.connections()[0]["credentials"]["app_key"]
    signed = signed_push(app_key, channel.creds.app_secret, channel.shops[0], kind,
                         notification, int(time.time()), data)
    return _post(receiver, 0, signed)


def test_a_tiktok_cancellation_webhook_cancels_the_store_order_once(receiver: Receiver) -> None:
    order, binding_id = _created(receiver)
    base = receiver.fakes.channel_server.base_url
    httpx.post(f"{base}/_fake/orders/{order['id']}/cancel", json={}, timeout=10)
    time.sleep(1.1)  # a later whole second than the order's creation
    for notification in ("x-1", "x-2"):  # TikTok may deliver twice
        assert _post(receiver, 0, _status_push(receiver, 0, order, "CANCEL", notification)
                     ).status_code == 200
    assert _actions(binding_id) == [("cancel_store", "waiting")]  # recorded before the 200
    for message in [m for m in receiver.enqueued() if m.actor_name == "handle_order"]:
        tasks.handle_order.fn(*message.args)
    sent = [m for m in receiver.enqueued() if m.actor_name == "run_order_actions"]
    assert sent, "the cancellation was not sent on"
    for message in sent:
        tasks.run_order_actions.fn(*message.args)
    assert _actions(binding_id) == [("cancel_store", "done")]
    made = [o for o in receiver.fakes.store.store.orders if o.source_identifier == order["id"]]
    assert len(made) == 1 and made[0].cancelled_at is not None


def test_a_store_shipment_webhook_sends_tracking_once(receiver: Receiver) -> None:
    order, binding_id = _created(receiver)
    store_order = _bindings(order["id"])[0].store_order_id
    shipped = httpx.post(f"{receiver.fakes.store_server.base_url}/_fake/fulfill", json={
        "order_id": store_order, "tracking_number": "1ZWEB", "company": "UPS"}, timeout=10)
    assert shipped.status_code == 200, shipped.text
    number = int(str(store_order).rsplit("/", 1)[1])
    headers, body = shopify_delivery(receiver, "orders/updated", {
        "id": number, "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    for _ in range(2):  # Shopify may deliver twice
        answer = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                      headers=headers, data=body)
        assert answer.status_code == 200, answer.get_json()
    sent = [m for m in receiver.enqueued() if m.actor_name == "handle_store_order"]
    assert [m.args for m in sent] == [(binding_id,)]  # the replay is dropped at the door
    tasks.handle_store_order.fn(binding_id)
    tasks.handle_store_order.fn(binding_id)
    assert _actions(binding_id) == [("fulfillment", "done")]
    lines = receiver.fakes.channel.shops[0].orders[order["id"]].lines
    assert {line.tracking for line in lines} == {"1ZWEB"}


def test_a_return_webhook_refunds_the_store_order_once(receiver: Receiver) -> None:
    order, binding_id = _created(receiver)
    base = receiver.fakes.channel_server.base_url
    ret = httpx.post(f"{base}/_fake/returns", json={"order_id": order["id"]}, timeout=10).json()
    data = {"order_id": order["id"], "return_role": "BUYER", "return_type": ret["return_type"],
            "return_status": ret["return_status"], "return_id": ret["return_id"],
            "create_time": ret["create_time"], "update_time": ret["update_time"]}
    assert _push(receiver, RETURN_STATUS_CHANGE, data, "r-1").status_code == 200
    sent = [m for m in receiver.enqueued() if m.actor_name == "handle_order_returns"]
    assert [m.args for m in sent] == [(binding_id,)]
    tasks.handle_order_returns.fn(binding_id)
    tasks.handle_order_returns.fn(binding_id)
    assert _actions(binding_id) == [("refund", "done")]
    made = next(o for o in receiver.fakes.store.store.orders
                if o.source_identifier == order["id"])
    assert len(made.refunds) == 1


def test_a_buyer_cancellation_request_is_listed_at_the_door(receiver: Receiver) -> None:
    order, binding_id = _created(receiver)
    base = receiver.fakes.channel_server.base_url
    request = httpx.post(f"{base}/_fake/orders/{order['id']}/cancel", json={"request": True},
                         timeout=10).json()
    data = {"order_id": order["id"], "cancellations_role": "BUYER",
            "cancel_status": request["cancel_status"], "cancel_id": request["cancel_id"],
            "create_time": int(time.time())}
    assert _push(receiver, CANCELLATION_STATUS_CHANGE, data, "q-1").status_code == 200
    assert _actions(binding_id) == [("cancel_request", "listed")]
    assert receiver.fakes.channel.shops[0].orders[order["id"]].status == "AWAITING_SHIPMENT"
