"""Channel orders into the store exactly once, over real HTTP against both fakes.

Each test places a buyer order on the TikTok fake (`POST /_fake/orders`), takes it in (a
webhook's bare id and status, or a poll), creates it in the Shopify fake, and checks the
store's orders: one per TikTok order, whatever faults were injected.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import select

from shelfsync.core.models import ChannelSettings, OrderBinding
from shelfsync.core.sync.order_poll import read_one_order, read_orders
from shelfsync.core.sync.orders import (
    OrderState,
    Reason,
    accept_order,
    create_in_store,
    due_orders,
)

from .conftest import RATE, World


def place(world: World, shop: int, skus: dict[str, int], status: str = "AWAITING_SHIPMENT"
          ) -> dict[str, Any]:
    """A buyer's order on shop `shop` (0-based), as the TikTok fake answers it."""
    state = world.control(world.tiktok, "GET", "state")
    shop_id = state["shops"][shop]["id"]
    return world.control(world.tiktok, "POST", "orders",
                         {"shop_id": shop_id, "seller_skus": skus, "status": status})


def set_status(world: World, order_id: str, status: str) -> None:
    world.control(world.tiktok, "POST", f"orders/{order_id}/status", {"status": status})


def store_orders(world: World, order_id: str) -> list[dict[str, Any]]:
    """The Shopify fake's orders carrying the TikTok order id (searched as the plugin does)."""
    query = """query($q: String!) { orders(first: 10, query: $q) { nodes { id name tags
      sourceName sourceIdentifier customAttributes { key value } currencyCode
      totalPriceSet { shopMoney { amount } } shippingAddress { name } } } }"""
    response = httpx.post(
        f"{world.shopify.base_url}/admin/api/2025-04/graphql.json",
        json={"query": query, "variables": {"q": f"source_identifier:{order_id}"}},
        headers={"X-Shopify-Access-Token": _token(world)}, timeout=10)
    answer = response.json()
    assert "data" in answer, answer
    return answer["data"]["orders"]["nodes"]


def _token(world: World) -> str:
    from shelfsync.core.models import StoreConnection

    store = world.session.get(StoreConnection, world.store_id)
    assert store is not None
    return store.credentials()["access_token"]


def poll(world: World, channel: int = 0) -> list[int]:
    since = datetime.now(UTC) - timedelta(hours=1)
    return read_orders(world.session, world.pm, world.channel_ids[channel], since).binding_ids


def binding(world: World, order_id: str) -> OrderBinding:
    world.session.expire_all()
    row = world.session.exec(select(OrderBinding).where(
        OrderBinding.channel_order_id == order_id)).one()
    return row


def attempt(world: World, order_id: str, owner: str = "w1", **kw: Any) -> Any:
    return create_in_store(world.session, world.pm, binding(world, order_id).id or 0, owner, **kw)


def test_a_polled_order_is_created_once_with_what_tiktok_reports(linked: World) -> None:
    sku = linked.plain_sku()
    order = place(linked, 0, {sku: 2})
    poll(linked)
    linked.reset_counts()
    outcome = attempt(linked, order["id"])
    # One look-up (the TikTok id and the lines' variants in one request), one create.
    assert linked.control(linked.shopify, "GET", "requests")["count"] == 2
    assert linked.control(linked.shopify, "GET", "order-calls") == {"create": 1, "search": 1}
    assert outcome.state == OrderState.CREATED, outcome
    found = store_orders(linked, order["id"])
    assert len(found) == 1
    made = found[0]
    assert made["sourceName"] == "tiktok" and made["sourceIdentifier"] == order["id"]
    assert f"tiktok-order:{order['id']}" in made["tags"]
    attributes = {a["key"]: a["value"] for a in made["customAttributes"]}
    assert attributes["tiktok_order_id"] == order["id"] and attributes["tiktok_shop"]
    # Shop 1 sells in GBP: every amount converted to the store's USD at the channel's rate.
    assert made["currencyCode"] == "USD"

    def usd(amount: str) -> Decimal:
        return (Decimal(amount) / RATE).quantize(Decimal("0.01"))

    payment = order["payment"]
    goods = sum((usd(li["sale_price"]) for li in order["line_items"]), Decimal(0))
    expected = goods + usd(payment["shipping_fee"]) + usd(payment["tax"])
    assert Decimal(made["totalPriceSet"]["shopMoney"]["amount"]) == expected
    assert made["shippingAddress"]["name"] == order["recipient_address"]["name"]
    row = binding(linked, order["id"])
    assert row.store_order_id == made["id"] and row.store_order_name == made["name"]
    # Polled again and attempted again: still one store order.
    poll(linked)
    again = attempt(linked, order["id"])
    assert again.attempted is False
    assert len(store_orders(linked, order["id"])) == 1


def test_duplicate_webhooks_and_a_racing_poll_make_one_binding(linked: World) -> None:
    order = place(linked, 0, {linked.plain_sku(): 1})
    channel = linked.channel_ids[0]
    when = datetime.now(UTC)
    ids = {accept_order(linked.session, channel, order_id=order["id"], status="AWAITING_SHIPMENT",
                        updated_at=when) for _ in range(3)}
    ids.update(poll(linked))
    linked.session.commit()
    rows = linked.session.exec(select(OrderBinding).where(
        OrderBinding.channel_order_id == order["id"])).all()
    assert len(rows) == 1 and ids == {rows[0].id}
    assert rows[0].payload["lines"]  # the poll's whole order replaced the bare webhook
    for owner in ("w1", "w2"):
        attempt(linked, order["id"], owner)
    assert len(store_orders(linked, order["id"])) == 1


def test_a_5xx_after_the_order_was_made_ends_with_one_order(linked: World) -> None:
    order = place(linked, 0, {linked.plain_sku(): 1})
    poll(linked)
    linked.control(linked.shopify, "POST", "order-faults", {"kind": "500", "count": 1})
    outcome = attempt(linked, order["id"])
    assert outcome.state == OrderState.CREATED  # the plugin's lookup after the 5xx found it
    assert len(store_orders(linked, order["id"])) == 1
    calls = linked.control(linked.shopify, "GET", "order-calls")
    assert calls["create"] == 1


def test_an_answer_lost_on_the_way_back_ends_with_one_order(linked: World) -> None:
    order = place(linked, 0, {linked.plain_sku(): 1})
    poll(linked)
    linked.control(linked.shopify, "POST", "order-faults",
                   {"kind": "lost", "count": 1, "seconds": 0.5})
    outcome = attempt(linked, order["id"])
    assert outcome.state == OrderState.CREATED
    assert len(store_orders(linked, order["id"])) == 1


def test_a_worker_killed_before_recording_leaves_one_order(linked: World) -> None:
    """The store made the order, the worker died before the binding's commit: its lease
    expires and the next worker finds the order instead of making a second."""
    order = place(linked, 0, {linked.plain_sku(): 1})
    poll(linked)
    # The dead worker's lease and its store order, made as its attempt did.
    row = binding(linked, order["id"])
    now = datetime.now(UTC)
    row.lease_owner, row.lease_expires_at = "dead", now + timedelta(minutes=2)
    linked.session.add(row)
    linked.session.commit()
    from shelfsync.core.models import ChannelConnection, StoreConnection
    from shelfsync.core.sync.context import store_connection
    from shelfsync.core.sync.order_payload import order_from_payload
    from shelfsync.core.sync.orders import store_order_for

    channel = linked.session.get(ChannelConnection, row.channel_id)
    assert channel is not None
    store_order = store_order_for(linked.session, row, order_from_payload(row.payload), channel)
    store = linked.session.get(StoreConnection, linked.store_id)
    assert store is not None
    linked.pm.call(store_connection(store), "shelfsync_create_order", order=store_order)
    # While the lease holds, nobody else attempts it.
    assert attempt(linked, order["id"], "w2").attempted is False
    later = attempt(linked, order["id"], "w2", clock=lambda: now + timedelta(minutes=3))
    assert later.state == OrderState.CREATED
    assert later.store_order is not None and later.store_order.created is False
    assert len(store_orders(linked, order["id"])) == 1


def test_unpaid_and_on_hold_wait_and_cancelled_is_skipped(linked: World) -> None:
    sku = linked.plain_sku()
    unpaid = place(linked, 0, {sku: 1}, "UNPAID")
    held = place(linked, 0, {sku: 1}, "ON_HOLD")
    cancelled = place(linked, 0, {sku: 1}, "ON_HOLD")
    set_status(linked, cancelled["id"], "CANCELLED")
    poll(linked)
    assert attempt(linked, unpaid["id"]).state == OrderState.WAITING
    assert attempt(linked, held["id"]).state == OrderState.WAITING
    skipped = attempt(linked, cancelled["id"])
    assert (skipped.state, skipped.reason) == (OrderState.SKIPPED,
                                               Reason.CANCELLED_BEFORE_SYNC)
    assert store_orders(linked, unpaid["id"]) == [] and store_orders(linked, held["id"]) == []
    set_status(linked, held["id"], "AWAITING_SHIPMENT")
    poll(linked)
    assert attempt(linked, held["id"]).state == OrderState.CREATED
    assert len(store_orders(linked, held["id"])) == 1


def test_on_hold_create_setting_creates_at_once(linked: World) -> None:
    settings = linked.session.get(ChannelSettings, linked.channel_ids[0])
    assert settings is not None
    settings.on_hold = "create"
    linked.session.add(settings)
    linked.session.commit()
    held = place(linked, 0, {linked.plain_sku(): 1}, "ON_HOLD")
    poll(linked)
    assert attempt(linked, held["id"]).state == OrderState.CREATED


def test_unlinked_skus_fail_naming_them_and_others_go_on(linked: World) -> None:
    from shelfsync.core.models import SkuLink

    sku = linked.plain_sku()
    other = next(f"SKU-0-{p:05d}-01" for p in (4, 6, 8) if f"SKU-0-{p:05d}-01" != sku)
    link = linked.session.exec(select(SkuLink).where(
        SkuLink.channel_id == linked.channel_ids[0], SkuLink.store_sku == other)).first()
    assert link is not None, f"the seeded shop no longer lists {other}: pick another SKU"
    linked.session.delete(link)
    linked.session.commit()
    bad = place(linked, 0, {other: 1})
    good = place(linked, 0, {sku: 1})
    poll(linked)
    failed = attempt(linked, bad["id"])
    assert (failed.state, failed.reason) == (OrderState.FAILED, Reason.SKU_NOT_LINKED)
    assert other in failed.detail
    row = binding(linked, bad["id"])
    assert row.fix_hint and "Link" in row.fix_hint and row.retry_at is None
    assert attempt(linked, good["id"]).state == OrderState.CREATED


def test_store_5xx_before_creating_retries_with_backoff(linked: World) -> None:
    order = place(linked, 0, {linked.plain_sku(): 1})
    poll(linked)
    linked.control(linked.shopify, "POST", "faults", {"kind": "500", "count": 20})
    now = datetime.now(UTC)
    failed = attempt(linked, order["id"], clock=lambda: now)
    assert (failed.state, failed.reason) == (OrderState.FAILED, Reason.STORE_API_ERROR)
    row = binding(linked, order["id"])
    assert row.retry_at is not None and row.retry_at > now
    assert row.id not in due_orders(linked.session, now)
    linked.control(linked.shopify, "DELETE", "faults")
    assert row.id in due_orders(linked.session, now + timedelta(hours=2))
    later = attempt(linked, order["id"], clock=lambda: now + timedelta(hours=2))
    assert later.state == OrderState.CREATED
    assert len(store_orders(linked, order["id"])) == 1


def test_a_different_currency_without_a_rate_is_refused(linked: World) -> None:
    settings = linked.session.get(ChannelSettings, linked.channel_ids[0])
    assert settings is not None
    settings.currency_rate = Decimal(1)
    linked.session.add(settings)
    linked.session.commit()
    order = place(linked, 0, {linked.plain_sku(): 1})
    poll(linked)
    failed = attempt(linked, order["id"])
    assert (failed.state, failed.reason) == (OrderState.FAILED, Reason.CURRENCY_MISMATCH)
    assert store_orders(linked, order["id"]) == []


def _audit(world: World, channel: int, sku: str) -> Any:
    from shelfsync.core.models import InventoryAudit

    world.session.expire_all()
    return world.session.exec(select(InventoryAudit).where(
        InventoryAudit.channel_id == world.channel_ids[channel], InventoryAudit.sku == sku)
        .order_by(InventoryAudit.id.desc())).first()  # type: ignore[union-attr]


def test_units_of_a_waiting_order_are_held_back_from_every_shop(linked: World) -> None:
    from shelfsync.core.sync.decisions import held_back_units
    from shelfsync.core.sync.inventory import sync_skus

    sku = linked.plain_sku()

    def store_total() -> int:
        return sum(lv["available"] for lv in linked.store_stock(sku)["levels"]
                   if lv["location_active"])

    sync_skus(linked.session, linked.pm, linked.org_id, [sku])
    total = store_total()
    assert total > 10
    assert (linked.shown(0)[sku], linked.shown(1)[sku]) == (total, total // 2)
    held = place(linked, 0, {sku: 4}, "ON_HOLD")  # accepted, waiting (cancellation window)
    poll(linked)
    sync_skus(linked.session, linked.pm, linked.org_id, [sku])
    # 4 units owed to shop 1's buyer: shop 2 (50 %) shows half of what is left, at once.
    assert (linked.shown(0)[sku], linked.shown(1)[sku]) == (total - 4, (total - 4) // 2)
    audit = _audit(linked, 1, sku)
    assert audit.inputs["held_back"] == 4 and "4 units held back" in audit.explanation
    set_status(linked, held["id"], "AWAITING_SHIPMENT")
    poll(linked)
    assert attempt(linked, held["id"]).state == OrderState.CREATED
    # The store took the 4 units off its stock; they are no longer held back on top.
    assert store_total() == total - 4
    assert held_back_units(linked.session, linked.org_id, [sku]) == {}
    sync_skus(linked.session, linked.pm, linked.org_id, [sku])
    assert (linked.shown(0)[sku], linked.shown(1)[sku]) == (total - 4, (total - 4) // 2)


def test_unpaid_and_cancelled_orders_hold_nothing_back(linked: World) -> None:
    from shelfsync.core.sync.decisions import held_back_units

    sku = linked.plain_sku()
    place(linked, 0, {sku: 1}, "UNPAID")
    cancelled = place(linked, 1, {sku: 2}, "ON_HOLD")
    set_status(linked, cancelled["id"], "CANCELLED")
    waiting = place(linked, 1, {sku: 3}, "ON_HOLD")
    poll(linked)
    poll(linked, 1)
    assert held_back_units(linked.session, linked.org_id, [sku]) == {sku: 3}
    assert binding(linked, waiting["id"]).units == {sku: 3}


def test_tax_and_discounts_reach_the_store_as_tiktok_reports_them(linked: World) -> None:
    """Shop 2 sells in USD with sales tax on top; every third order has a seller discount:
    the store order's total is TikTok's total, to the cent."""
    placed = [place(linked, 1, {linked.plain_sku(): 2}) for _ in range(3)]
    assert any(Decimal(o["payment"]["seller_discount"]) > 0 for o in placed)
    assert all(Decimal(o["payment"]["tax"]) > 0 for o in placed)
    poll(linked, 1)
    for order in placed:
        assert attempt(linked, order["id"]).state == OrderState.CREATED
        made = store_orders(linked, order["id"])
        assert len(made) == 1
        total = Decimal(made[0]["totalPriceSet"]["shopMoney"]["amount"])
        assert total == Decimal(order["payment"]["total_amount"])
        attributes = {a["key"]: a["value"] for a in made[0]["customAttributes"]}
        if Decimal(order["payment"]["seller_discount"]) > 0:
            assert attributes["tiktok_discount"] == order["payment"]["seller_discount"]


def test_a_sku_the_store_lacks_and_refused_credentials_fail_with_their_reasons(
        linked: World) -> None:
    from shelfsync.core.models import SkuLink

    sku = linked.plain_sku()
    link = linked.session.exec(select(SkuLink).where(
        SkuLink.channel_id == linked.channel_ids[1], SkuLink.store_sku == sku)).one()
    link.store_sku = "NOT-IN-THE-STORE"
    linked.session.add(link)
    linked.session.commit()
    missing = place(linked, 1, {sku: 1})
    poll(linked, 1)
    failed = attempt(linked, missing["id"])
    assert (failed.state, failed.reason) == (OrderState.FAILED, Reason.SKU_MISSING_IN_STORE)
    assert "NOT-IN-THE-STORE" in failed.detail and binding(linked, missing["id"]).retry_at is None
    # The store refuses our token: the order waits for a reconnect, nothing is created.
    other = place(linked, 0, {sku: 1})
    poll(linked)
    linked.shopify.app.access_token = "shpat_revoked"
    refused = attempt(linked, other["id"])
    assert (refused.state, refused.reason) == (OrderState.FAILED, Reason.NEEDS_REAUTH)
    row = binding(linked, other["id"])
    assert row.retry_at is None and row.fix_hint and "Reconnect" in row.fix_hint
    assert len(linked.shopify.app.store.orders) == 0


def test_a_webhooks_bare_order_is_read_by_its_id_in_one_call(linked: World) -> None:
    order = place(linked, 0, {linked.plain_sku(): 1})
    place(linked, 0, {linked.plain_sku(): 1})  # another order, changed at the same time
    channel = linked.channel_ids[0]
    bare = accept_order(linked.session, channel, order_id=order["id"],
                        status="AWAITING_SHIPMENT", updated_at=datetime.now(UTC))
    linked.session.commit()
    linked.reset_counts()

    read = read_one_order(linked.session, linked.pm, channel, order["id"])

    assert read is not None and read.binding_ids == [bare] and read.seen == {order["id"]}
    paths = linked.control(linked.tiktok, "GET", "requests")["by_path"]
    assert {path: n for path, n in paths.items() if "/order/" in path} == {
        "/order/202309/orders": 1}
    assert binding(linked, order["id"]).payload["lines"]  # the whole order now
