"""Stores, products and links, orders with retry, activity and its chart, over the real
engine against the fakes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from shelfsync.core.db import session_scope
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelListing,
    InventoryAudit,
    OrderBinding,
    SkuLink,
    StoreConnection,
    SyncRun,
)
from shelfsync.core.services import activity
from shelfsync.core.services import orders as order_service

from .conftest import OTHER, OWNER, UI, linked_skus, post


def failed_order(ui: UI) -> tuple[str, SkuLink]:
    """A buyer's order for a SKU whose link was removed: taken in, tried, failed."""
    channel = ui.acme.channel_ids[0]
    with session_scope() as session:
        link = session.exec(select(SkuLink).where(SkuLink.channel_id == channel)
                            .order_by(SkuLink.store_sku)).first()
        assert link is not None
        session.delete(link)
    shop_id = ui.control("GET", "state")["shops"][0]["id"]
    order = ui.control("POST", "orders", {"shop_id": shop_id, "seller_skus": {link.store_sku: 1},
                                          "status": "AWAITING_SHIPMENT"})
    result = order_service.sync_orders(ui.pm, [channel], f"test:{uuid.uuid4()}")
    assert result.counts().get("failed") == 1, result.counts()
    return str(order["id"]), link


def test_orders_show_failures_with_reason_and_fix_and_retry_creates_them(ui: UI) -> None:
    order_id, link = failed_order(ui)
    client = ui.signed_in(OWNER)
    page = client.get("/orders/").get_data(as_text=True)
    assert order_id in page and "sku_not_linked" in page and "Link these TikTok SKUs" in page
    assert "Retry all failed (1)" in page
    assert order_id in client.get("/orders/?status=failed").get_data(as_text=True)
    assert order_id not in client.get("/orders/?status=created").get_data(as_text=True)
    with session_scope() as session:
        binding = session.exec(select(OrderBinding).where(
            OrderBinding.channel_order_id == order_id)).one()
    # Retried unchanged, it fails again with the same reason.
    answer = post(client, f"/orders/{binding.id}/retry", follow_redirects=True)
    assert f"Order {order_id}: failed (sku_not_linked" in answer.get_data(as_text=True)
    # The merchant links the SKU by hand on the products page, then retries.
    answer = post(client, "/products/link", {"channel_id": str(link.channel_id),
                                             "store_sku": link.store_sku,
                                             "sku_id": link.sku_id}, follow_redirects=True)
    assert f"Linked {link.store_sku}" in answer.get_data(as_text=True)
    answer = post(client, "/orders/retry-failed", follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Retried 1 failed order(s): 1 created." in page
    with session_scope() as session:
        done = session.exec(select(OrderBinding).where(
            OrderBinding.channel_order_id == order_id)).one()
    assert done.status == "created" and done.store_order_name
    assert done.store_order_name in page
    assert len(ui.fakes.store.store.orders) == 1


def test_products_show_links_and_link_and_unlink_by_hand(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    skus = linked_skus(channel)
    page = client.get("/products/").get_data(as_text=True)
    assert all(sku in page for sku in skus)
    assert page.count('class="link link-auto"') >= len(skus)
    one = client.get(f"/products/?q={skus[0].lower()}").get_data(as_text=True)
    assert skus[0] in one and skus[-1] not in one
    with session_scope() as session:
        link = session.exec(select(SkuLink).where(SkuLink.channel_id == channel,
                                                  SkuLink.store_sku == skus[0])).one()
    answer = post(client, f"/products/unlink/{channel}/{link.id}", follow_redirects=True)
    assert f"Unlinked {skus[0]}" in answer.get_data(as_text=True)
    assert skus[0] not in linked_skus(channel)
    # Unknown ids are refused with a reason; nothing is linked.
    answer = post(client, "/products/link", {"channel_id": str(channel), "store_sku": skus[0],
                                             "sku_id": "999"}, follow_redirects=True)
    assert "the shop lists no SKU with id" in answer.get_data(as_text=True)
    answer = post(client, "/products/link", {"channel_id": str(channel), "store_sku": "NOPE",
                                             "sku_id": link.sku_id}, follow_redirects=True)
    assert "the store has no SKU" in answer.get_data(as_text=True)
    answer = post(client, "/products/link", {"channel_id": str(channel), "store_sku": skus[0],
                                             "sku_id": link.sku_id}, follow_redirects=True)
    assert answer.status_code == 200
    with session_scope() as session:
        made = session.exec(select(SkuLink).where(SkuLink.channel_id == channel,
                                                  SkuLink.sku_id == link.sku_id)).one()
        assert (made.store_sku, made.kind) == (skus[0], "manual")
        assert session.exec(select(ChannelListing).where(
            ChannelListing.sku_id == link.sku_id)).first() is not None
    assert 'class="link link-manual"' in client.get("/products/").get_data(as_text=True)


def test_stores_show_state_and_disconnect_asks_for_confirmation(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[1]
    with session_scope() as session:
        row = session.get(ChannelConnection, channel)
        assert row is not None
        row.status, row.status_message = "needs_reauth", "TikTok refused the access token"
        session.add(row)
        audits = len(session.exec(select(InventoryAudit.id).where(
            InventoryAudit.channel_id == channel)).all())
    page = client.get("/stores/").get_data(as_text=True)
    assert "needs reauth" in page and "TikTok refused the access token" in page
    assert f"shelfsync reconnect channel {channel}" in page
    answer = post(client, f"/stores/channels/{channel}/disconnect", {}, follow_redirects=True)
    assert "Tick the confirmation" in answer.get_data(as_text=True)
    answer = post(client, f"/stores/channels/{channel}/disconnect", {"confirm": "yes"},
                  follow_redirects=True)
    assert "Disconnected" in answer.get_data(as_text=True)
    with session_scope() as session:
        assert session.get(ChannelConnection, channel) is None
        # The audit outlives the channel.
        assert len(session.exec(select(InventoryAudit.id).where(
            InventoryAudit.channel_id == channel)).all()) == audits > 0
    assert client.get(f"/channels/{channel}/settings").status_code == 404


def test_activity_lists_the_audit_filters_pages_and_charts(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    skus = linked_skus(channel)
    page = client.get("/activity/").get_data(as_text=True)
    total = int(re.search(r"(\d+) decision\(s\)", page).group(1))  # type: ignore[union-attr]
    with session_scope() as session:
        ids = ui.acme.channel_ids
        expected = len(session.exec(select(InventoryAudit.id).where(
            InventoryAudit.channel_id.in_(ids))).all())  # type: ignore[attr-defined]
    assert total == expected > 0
    one = client.get(f"/activity/?channel={channel}&sku={skus[0]}").get_data(as_text=True)
    assert "1 decision(s)" in one and skus[0] in one and "– → " in one
    none = client.get("/activity/?outcome=error").get_data(as_text=True)
    assert "0 decision(s)" in none
    # Pages of 50: more rows than that make a second page.
    with session_scope() as session:
        for index in range(60):
            session.add(InventoryAudit(channel_id=channel, sku=f"X-{index}", quantity=index,
                                       outcome="error", error_message="HTTP 503"))
    paged = client.get("/activity/?outcome=error").get_data(as_text=True)
    assert "60 decision(s), page 1 of 2" in paged and "older →" in paged
    second = client.get("/activity/?outcome=error&page=2").get_data(as_text=True)
    assert "page 2 of 2" in second and second.count("HTTP 503") == 10


def test_the_chart_counts_pushes_errors_and_drift_per_hour_of_the_last_day(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    # Far from the fixture's real-time audit rows: only the rows made here are in the window.
    ui.clock.now = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
    with session_scope() as session:
        for hours, outcome in [(1, "ok"), (1, "ok"), (1, "ok"), (5, "error"), (5, "error"),
                               (5, "skipped"), (25, "ok")]:
            session.add(InventoryAudit(channel_id=channel, sku="A", outcome=outcome,
                                       created_at=ui.clock.now - timedelta(hours=hours)))
        session.add(SyncRun(organization_id=ui.acme.organization_id, channel_id=channel,
                            kind="reconcile", status="ok", counts={"drift": 4},
                            started_at=ui.clock.now - timedelta(hours=2)))
    with Session(ui.app.extensions["shelfsync.engine"]) as session:
        hours = activity.hourly(session, channel, ui.clock.now)
    assert len(hours) == 24 and hours[-1].start == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert [(h.pushes, h.errors, h.drift) for h in hours if h.pushes or h.errors or h.drift] == [
        (0, 2, 0), (0, 0, 4), (3, 0, 0)]
    chart = client.get(f"/activity/chart/{channel}.svg")
    assert chart.mimetype == "image/svg+xml"
    svg = chart.get_data(as_text=True)
    assert svg.count("<polyline") == 3
    assert "pushes 3" in svg and "errors 2" in svg and "drift 4" in svg
    assert client.get(f"/activity/chart/{ui.other.channel_ids[0]}.svg").status_code == 404


def test_a_shop_needing_reauth_is_reconnected_with_credentials_checked_live(ui: UI) -> None:
    channel = ui.acme.channel_ids[0]
    with session_scope() as session:
        row = session.get(ChannelConnection, channel)
        assert row is not None
        row.status, row.status_message = "needs_reauth", "the seller deauthorized the app"
        session.add(row)
        token_now = row.credentials()["access_token"]
    client = ui.signed_in(OWNER)
    assert f"/stores/channels/{channel}/reconnect" in client.get("/stores/").get_data(
        as_text=True)
    page = client.get(f"/stores/channels/{channel}/reconnect").get_data(as_text=True)
    assert "the seller deauthorized the app" in page and token_now not in page
    answer = post(client, f"/stores/channels/{channel}/reconnect", {})
    assert answer.status_code == 400
    assert "give the credentials that changed" in answer.get_data(as_text=True)
    answer = post(client, f"/stores/channels/{channel}/reconnect",
                  {"credentials.access_token": "ROW_not-a-token-tiktok-issued"})
    assert answer.status_code == 400 and 'class="error"' in answer.get_data(as_text=True)
    with session_scope() as session:
        row = session.get(ChannelConnection, channel)
        assert row is not None and row.status == "needs_reauth"
    answer = post(client, f"/stores/channels/{channel}/reconnect",
                  {"credentials.access_token": token_now}, follow_redirects=True)
    assert "Reconnected" in answer.get_data(as_text=True)
    with session_scope() as session:
        row = session.get(ChannelConnection, channel)
        assert row is not None and (row.status, row.status_message) == ("ok", "")
    other = ui.signed_in(OTHER)
    assert other.get(f"/stores/channels/{channel}/reconnect").status_code == 404


def test_orders_are_paged_and_filtered_by_shop(ui: UI) -> None:
    first, second = ui.acme.channel_ids
    with session_scope() as session:
        for index in range(55):
            session.add(OrderBinding(channel_id=first, channel_order_id=f"5770{index:014d}",
                                     status="waiting"))
        session.add(OrderBinding(channel_id=second, channel_order_id="5779" + "0" * 14,
                                 status="skipped"))
    client = ui.signed_in(OWNER)
    page = client.get("/orders/").get_data(as_text=True)
    assert "56 order(s), page 1 of 2" in page and page.count('class="order order-') == 50
    # Newest first: the last one made heads page 1, the first made is on page 2.
    assert "5779" + "0" * 14 in page
    older = client.get("/orders/?page=2").get_data(as_text=True)
    assert older.count('class="order order-') == 6 and f"5770{0:014d}" in older
    only = client.get(f"/orders/?channel={second}").get_data(as_text=True)
    assert "1 order(s)." in only and "order-skipped" in only
    assert "Retry all failed" not in page


def test_the_store_is_disconnected_with_confirmation_and_its_shops_stay(ui: UI) -> None:
    # A user disconnects its own organization's store only.
    assert post(ui.signed_in(OTHER), "/stores/store/disconnect", {"confirm": "yes"}).headers[
        "Location"] == "/onboarding/store"
    with session_scope() as session:
        assert session.get(StoreConnection, ui.other.store_id) is None
        assert session.get(StoreConnection, ui.acme.store_id) is not None
    client = ui.signed_in(OWNER)
    answer = post(client, "/stores/store/disconnect", {}, follow_redirects=True)
    assert "Tick the confirmation to disconnect the store" in answer.get_data(as_text=True)
    answer = post(client, "/stores/store/disconnect", {"confirm": "yes"})
    assert answer.headers["Location"] == "/onboarding/store"
    with session_scope() as session:
        assert session.get(StoreConnection, ui.acme.store_id) is None
        assert session.exec(select(CatalogVariant).where(
            CatalogVariant.store_connection_id == ui.acme.store_id)).first() is None
        assert all(session.get(ChannelConnection, i) for i in ui.acme.channel_ids)
    page = client.get("/onboarding/store").get_data(as_text=True)
    assert "Check and connect" in page and "Your store is connected" not in page
    # A shop's settings can still be changed (nothing to count without a store).
    channel = ui.acme.channel_ids[0]
    answer = post(client, f"/channels/{channel}/settings",
                  {"inventory_sync": "on", "percent": "70", "threshold": "0",
                   "on_hold": "wait", "order_poll_minutes": "5"}, follow_redirects=True)
    assert "Settings saved." in answer.get_data(as_text=True)
    preview = client.get(f"/channels/{channel}/preview?inventory_sync=on&percent=5&threshold=0")
    assert "has no store connected" in str(preview.get_json()["errors"])
