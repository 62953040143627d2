"""After the order, end to end over real HTTP against both fakes, on SQLite and PostgreSQL.

A TikTok order is created in the Shopify fake; then the store ships it (whole or in parts)
and the tracking lands on TikTok's lines; TikTok or the store cancels it and the other side
follows; TikTok refunds a return and the store order gets the refund. Every step is run
again (a duplicate webhook, a second poll) and under an "applied, answer lost" fault, and
the platforms are checked to hold exactly one shipment, cancellation or refund.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import select

from shelfsync.core.models import AftersaleAction, ChannelSettings, OrderBinding
from shelfsync.core.services import aftersale
from shelfsync.core.sync.aftersale import ActionState, AfterReason, Kind
from shelfsync.core.sync.cancellation import note_cancel_request
from shelfsync.core.sync.orders import OrderState
from shelfsync.plugins.tiktok.fake import TikTokFake

from .conftest import RATE, World
from .test_orders import _token, attempt, binding, place, poll


@pytest.fixture
def after(linked: World, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The linked world, with the services' sessions on the test's database."""
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    return linked


def tiktok(world: World) -> TikTokFake:
    fake: TikTokFake = world.tiktok.app
    return fake


def created(world: World, skus: dict[str, int], **extra: Any) -> tuple[str, int]:
    """A buyer's order on shop 0, taken in and created in the store: (TikTok id, binding)."""
    order = place(world, 0, skus)
    if extra:
        with tiktok(world).state_lock:
            tiktok(world).shops[0].orders[order["id"]].fulfillment_type = extra["fbt"]
    poll(world)
    outcome = attempt(world, order["id"])
    assert outcome.state == OrderState.CREATED, outcome
    world.session.commit()
    return order["id"], int(binding(world, order["id"]).id or 0)


def fulfil(world: World, order_id: str, lines: list[dict[str, Any]] | None = None,
           tracking: str = "1Z999AA10123456784", company: str = "UPS") -> dict[str, Any]:
    store_id = binding(world, order_id).store_order_id
    body: dict[str, Any] = {"order_id": store_id, "tracking_number": tracking,
                            "company": company}
    if lines is not None:
        body["lines"] = lines
    return world.control(world.shopify, "POST", "fulfill", body)


def tiktok_lines(world: World, order_id: str) -> list[tuple[str, str, str]]:
    """(line id, tracking, provider name) of the TikTok order's lines."""
    with tiktok(world).state_lock:
        order = tiktok(world).shops[0].orders[order_id]
        return [(ln.id, ln.tracking, ln.provider) for ln in order.lines]


def tiktok_order(world: World, order_id: str) -> Any:
    return tiktok(world).shops[0].orders[order_id]


def actions(world: World, binding_id: int, kind: Kind) -> list[AftersaleAction]:
    world.session.expire_all()
    return list(world.session.exec(select(AftersaleAction).where(
        AftersaleAction.binding_id == binding_id, AftersaleAction.kind == kind.value)))


def shopify_order(world: World, order_id: str) -> dict[str, Any]:
    store_id = binding(world, order_id).store_order_id
    query = """query($id: ID!) { order(id: $id) { cancelledAt cancelReason
      displayFulfillmentStatus displayFinancialStatus
      refunds(first: 10) { id note totalRefundedSet { shopMoney { amount currencyCode } }
        refundLineItems(first: 10) { nodes { quantity restockType lineItem { sku } } } } } }"""
    answer = httpx.post(f"{world.shopify.base_url}/admin/api/2025-04/graphql.json",
                        json={"query": query, "variables": {"id": store_id}},
                        headers={"X-Shopify-Access-Token": _token(world)}, timeout=10).json()
    assert "data" in answer, answer
    return answer["data"]["order"]


def two_skus(world: World) -> tuple[str, str]:
    skus = [f"SKU-0-{p + 1:05d}-01" for p in (0, 1, 3, 5, 6, 7)]
    plain = [s for s in skus if world.store_stock(s)["tracked"]]
    return plain[0], plain[1]


# --- fulfilment -------------------------------------------------------------------------------


def test_a_full_shipment_puts_its_tracking_on_every_tiktok_line_once(after: World) -> None:
    sku = after.plain_sku()
    order_id, binding_id = created(after, {sku: 2})
    fulfil(after, order_id)
    outcomes = aftersale.check_store_order(after.pm, binding_id, "w1")
    assert [(o.kind, o.state) for o in outcomes] == [("fulfillment", "done")], outcomes
    assert {(t, p) for _, t, p in tiktok_lines(after, order_id)} == {("1Z999AA10123456784",
                                                                      "UPS")}
    assert tiktok_order(after, order_id).status == "AWAITING_COLLECTION"
    # The webhook again, and the poll: nothing more is sent.
    assert aftersale.check_store_order(after.pm, binding_id, "w1") == []
    aftersale.poll_channel(after.pm, after.channel_ids[0], "w2")
    assert len(tiktok_order(after, order_id).packages) == 1
    assert [a.status for a in actions(after, binding_id, Kind.FULFILLMENT)] == ["done"]


def test_partial_shipments_ship_only_their_lines(after: World) -> None:
    first, second = two_skus(after)
    order_id, binding_id = created(after, {first: 2, second: 1})
    fulfil(after, order_id, [{"sku": first, "quantity": 1}], tracking="TRACK-A")
    aftersale.check_store_order(after.pm, binding_id, "w1")
    shipped = [t for _, t, _ in tiktok_lines(after, order_id)]
    assert sorted(shipped) == ["", "", "TRACK-A"]
    assert tiktok_order(after, order_id).status == "PARTIALLY_SHIPPING"
    fulfil(after, order_id, None, tracking="TRACK-B")
    aftersale.check_store_order(after.pm, binding_id, "w1")
    assert sorted(t for _, t, _ in tiktok_lines(after, order_id)) == [
        "TRACK-A", "TRACK-B", "TRACK-B"]
    assert tiktok_order(after, order_id).status == "AWAITING_COLLECTION"
    assert len(tiktok_order(after, order_id).packages) == 2


def test_an_unmapped_carrier_fails_naming_it_until_mapped(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    fulfil(after, order_id, company="Acme Freight")
    [outcome] = aftersale.check_store_order(after.pm, binding_id, "w1")
    assert (outcome.state, outcome.reason) == ("failed", AfterReason.CARRIER_NOT_MAPPED)
    [action] = actions(after, binding_id, Kind.FULFILLMENT)
    assert "'Acme Freight'" in (action.fix_hint or "") and "--carrier" in (action.fix_hint or "")
    assert action.retry_at is None  # waits for the merchant
    assert all(not t for _, t, _ in tiktok_lines(after, order_id))
    providers = after.pm.call(_channel(after), "shelfsync_fetch_shipping_providers")
    usps = next(p.id for p in providers if p.name == "USPS")
    settings = after.session.get(ChannelSettings, after.channel_ids[0])
    assert settings is not None
    settings.carrier_mapping = {"Acme Freight": usps}
    after.session.add(settings)
    after.session.commit()
    [retried] = aftersale.retry_actions(after.pm, [binding_id], "w1")
    assert retried.state == "done", retried
    assert {p for _, _, p in tiktok_lines(after, order_id)} == {"USPS"}


def _channel(world: World) -> Any:
    from shelfsync.core.models import ChannelConnection
    from shelfsync.core.sync.context import channel_connection

    row = world.session.get(ChannelConnection, world.channel_ids[0])
    assert row is not None
    return channel_connection(row)


def test_a_shipment_whose_answer_was_lost_is_shipped_once(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    fulfil(after, order_id)
    after.control(after.tiktok, "POST", "faults",
                  {"kind": "lost", "count": 1, "path": "/packages"})
    [outcome] = aftersale.check_store_order(after.pm, binding_id, "w1")
    assert outcome.state == "done", outcome
    assert len(tiktok_order(after, order_id).packages) == 1
    assert after.control(after.tiktok, "GET", "faults")["pending"] == 0


def test_an_order_tiktok_ships_itself_is_never_pushed(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1},
                                   fbt="FULFILLMENT_BY_TIKTOK")
    fulfil(after, order_id)
    assert aftersale.check_store_order(after.pm, binding_id, "w1") == []
    [action] = actions(after, binding_id, Kind.FULFILLMENT)
    assert (action.status, action.failure_reason_code) == (
        ActionState.SKIPPED, AfterReason.FULFILLED_BY_CHANNEL)
    assert tiktok_order(after, order_id).packages == {}


# --- cancellations ----------------------------------------------------------------------------


def test_tiktok_cancelling_a_created_order_cancels_the_store_order_once(after: World) -> None:
    sku = after.plain_sku()
    order_id, binding_id = created(after, {sku: 1})
    before = sum(lv["available"] for lv in after.store_stock(sku)["levels"])
    after.control(after.tiktok, "POST", f"orders/{order_id}/cancel", {})
    poll(after)
    poll(after)  # a second poll (or the webhook) binds nothing more
    after.session.commit()
    [action] = actions(after, binding_id, Kind.CANCEL_STORE)
    assert action.status == ActionState.WAITING
    outcomes = aftersale.run_due(after.pm, "w1", binding_ids=[binding_id])
    assert [(o.kind, o.state) for o in outcomes] == [("cancel_store", "done")]
    store = shopify_order(after, order_id)
    assert store["cancelledAt"] is not None
    assert sum(lv["available"] for lv in after.store_stock(sku)["levels"]) == before + 1
    # Our own cancellation is never sent back to TikTok as the store's.
    assert aftersale.check_store_order(after.pm, binding_id, "w1") == []
    assert actions(after, binding_id, Kind.CANCEL_CHANNEL) == []
    assert [c["role"] for c in tiktok_order(after, order_id).cancellations] == ["BUYER"]


def test_restock_off_leaves_the_stock_alone(after: World) -> None:
    sku = after.plain_sku()
    settings = after.session.get(ChannelSettings, after.channel_ids[0])
    assert settings is not None
    settings.restock = False
    after.session.add(settings)
    after.session.commit()
    order_id, binding_id = created(after, {sku: 1})
    before = sum(lv["available"] for lv in after.store_stock(sku)["levels"])
    after.control(after.tiktok, "POST", f"orders/{order_id}/cancel", {})
    poll(after)
    after.session.commit()
    aftersale.run_due(after.pm, "w1", binding_ids=[binding_id])
    assert shopify_order(after, order_id)["cancelledAt"] is not None
    assert sum(lv["available"] for lv in after.store_stock(sku)["levels"]) == before


def test_an_order_cancelled_before_it_reached_the_store_is_only_recorded(after: World) -> None:
    order = place(after, 0, {after.plain_sku(): 1})
    after.control(after.tiktok, "POST", f"orders/{order['id']}/cancel", {})
    poll(after)
    outcome = attempt(after, order["id"])
    assert (outcome.state, outcome.reason) == ("skipped", "cancelled_before_sync")
    assert binding(after, order["id"]).store_order_id is None


def test_a_store_cancellation_cancels_the_tiktok_order_once(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    after.control(after.shopify, "POST", "cancel",
                  {"order_id": binding(after, order_id).store_order_id, "reason": "INVENTORY"})
    after.control(after.tiktok, "POST", "faults",
                  {"kind": "lost", "count": 1, "path": "/cancellations"})
    outcomes = aftersale.check_store_order(after.pm, binding_id, "w1")
    assert [(o.kind, o.state) for o in outcomes] == [("cancel_channel", "done")], outcomes
    order = tiktok_order(after, order_id)
    assert order.status == "CANCELLED"
    assert [(c["role"], c["cancel_reason"]) for c in order.cancellations] == [
        ("SELLER", "seller_cancel_reason_out_of_stock")]
    assert aftersale.check_store_order(after.pm, binding_id, "w1") == []
    # TikTok's own webhook of that cancellation does not cancel the store order twice.
    poll(after)
    after.session.commit()
    assert actions(after, binding_id, Kind.CANCEL_STORE) == []


def test_tiktok_refusing_a_cancellation_is_a_failure_with_its_reason(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    after.control(after.tiktok, "POST", f"orders/{order_id}/status", {"status": "IN_TRANSIT"})
    after.control(after.shopify, "POST", "cancel",
                  {"order_id": binding(after, order_id).store_order_id})
    [outcome] = aftersale.check_store_order(after.pm, binding_id, "w1")
    assert (outcome.state, outcome.reason) == ("failed", AfterReason.CHANNEL_REFUSED)
    assert "shipped and cannot be cancelled" in outcome.detail
    assert tiktok_order(after, order_id).status == "IN_TRANSIT"


def test_a_buyer_cancellation_request_is_listed_never_approved(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    request = after.control(after.tiktok, "POST", f"orders/{order_id}/cancel",
                            {"request": True})
    note_cancel_request(after.session, after.channel_ids[0], order_id, request["cancel_id"],
                        request["cancel_status"])
    after.session.commit()
    [listed] = actions(after, binding_id, Kind.CANCEL_REQUEST)
    assert (listed.status, listed.failure_reason_code) == ("listed", "awaiting_seller")
    aftersale.poll_channel(after.pm, after.channel_ids[0], "w1")
    assert tiktok_order(after, order_id).status == "AWAITING_SHIPMENT"
    assert shopify_order(after, order_id)["cancelledAt"] is None
    state = aftersale.states(after.session, [binding_id])[binding_id]
    assert state["cancel_request"]["state"] == "listed"


# --- returns and refunds ----------------------------------------------------------------------


def test_returns_refund_the_store_once_each_and_add_up(after: World) -> None:
    sku = after.plain_sku()
    order_id, binding_id = created(after, {sku: 2})
    fulfil(after, order_id)
    aftersale.check_store_order(after.pm, binding_id, "w1")
    lines = [ln for ln, _, _ in tiktok_lines(after, order_id)]
    first = after.control(after.tiktok, "POST", "returns",
                          {"order_id": order_id, "line_ids": [lines[0]]})
    after.control(after.shopify, "POST", "order-faults", {"kind": "lost", "count": 1})
    outcomes = aftersale.handle_returns(after.pm, binding_id, "w1")
    assert [(o.kind, o.state) for o in outcomes] == [("refund", "done")], outcomes
    assert aftersale.handle_returns(after.pm, binding_id, "w1") == []  # the webhook again
    store = shopify_order(after, order_id)
    assert len(store["refunds"]) == 1
    price = Decimal(first["refund_amount"]["refund_total"])
    expected = (price / RATE).quantize(Decimal("0.01"))
    assert Decimal(store["refunds"][0]["totalRefundedSet"]["shopMoney"]["amount"]) == expected
    assert store["refunds"][0]["refundLineItems"]["nodes"] == [
        {"quantity": 1, "restockType": "RETURN", "lineItem": {"sku": sku}}]
    assert store["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    # A second, partial return of the other unit adds up; a poll finds nothing new.
    after.control(after.tiktok, "POST", "returns",
                  {"order_id": order_id, "line_ids": [lines[1]], "type": "REFUND"})
    aftersale.poll_channel(after.pm, after.channel_ids[0], "w2")
    store = shopify_order(after, order_id)
    assert len(store["refunds"]) == 2
    assert store["refunds"][1]["refundLineItems"]["nodes"][0]["restockType"] == "NO_RESTOCK"
    assert [a.status for a in actions(after, binding_id, Kind.REFUND)] == ["done", "done"]


def test_a_return_not_completed_yet_waits(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    ret = after.control(after.tiktok, "POST", "returns",
                        {"order_id": order_id, "status": "AWAITING_BUYER_SHIP"})
    assert aftersale.handle_returns(after.pm, binding_id, "w1") == []
    assert shopify_order(after, order_id)["refunds"] == []
    after.control(after.tiktok, "POST", f"returns/{ret['return_id']}/status",
                  {"status": "RETURN_OR_REFUND_REQUEST_COMPLETE"})
    [outcome] = aftersale.handle_returns(after.pm, binding_id, "w1")
    assert outcome.state == "done"
    assert len(shopify_order(after, order_id)["refunds"]) == 1


def test_orders_list_shows_each_after_sale_state(after: World) -> None:
    order_id, binding_id = created(after, {after.plain_sku(): 1})
    fulfil(after, order_id, company="Nobody Express")
    aftersale.check_store_order(after.pm, binding_id, "w1")
    state = aftersale.states(after.session, [binding_id])[binding_id]
    assert state["fulfillment"]["state"] == "failed"
    assert state["failures"][0]["reason"] == "carrier_not_mapped"
    assert aftersale.orders_with_failures(after.session, after.org_id) == [binding_id]
    row = after.session.get(OrderBinding, binding_id)
    assert row is not None and row.status == OrderState.CREATED
