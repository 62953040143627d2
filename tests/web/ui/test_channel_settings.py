"""Channel settings: validation next to the field with the input kept, all-or-nothing
saves, the background recompute, and the live preview computed with the engine's rules."""

from __future__ import annotations

from typing import Any

from dramatiq import Message
from dramatiq.common import dq_name
from sqlmodel import select

from shelfsync.core.broker import BULK_QUEUE
from shelfsync.core.db import session_scope
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import ChannelSettings, Location, OrderBinding
from shelfsync.core.rules import Decision

from .conftest import OWNER, UI, linked_skus, post

FORM = {"inventory_sync": "on", "percent": "100", "threshold": "0",
        "honor_continue_selling": "on", "order_sync": "on", "on_hold": "wait",
        "order_poll_minutes": "5", "auto_link": "on", "fulfillment_sync": "on",
        "cancellation_sync": "on", "refund_sync": "on", "has_locations": "1",
        "location_mode": "all"}


def settings_of(channel_id: int) -> ChannelSettings:
    with session_scope() as session:
        found = session.get(ChannelSettings, channel_id)
        assert found is not None
        return found


def sent(ui: UI) -> list[Message[Any]]:
    queues = [ui.broker.queues.get(name) for name in (BULK_QUEUE, dq_name(BULK_QUEUE))]
    return [Message.decode(data) for queue in queues if queue is not None
            for data in list(queue.queue)]


def test_bad_values_are_refused_next_to_their_field_and_kept(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[1]
    before = settings_of(channel)
    answer = post(client, f"/channels/{channel}/settings",
                  {**FORM, "percent": "150", "threshold": "ten", "order_poll_minutes": "0"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "must be at most 100, got 150" in page and 'value="150"' in page
    assert "must be a whole number in digits 0-9, got &#39;ten&#39;" in page
    assert 'value="ten"' in page
    assert "must be at least 1, got 0" in page
    after = settings_of(channel)
    assert (after.percent, after.threshold, after.order_poll_minutes) == (
        before.percent, before.threshold, before.order_poll_minutes)
    # Specific locations but none ticked, and an inactive one: refused, nothing saved.
    answer = post(client, f"/channels/{channel}/settings", {**FORM, "location_mode": "specific"})
    assert answer.status_code == 400
    assert "choose at least one location" in answer.get_data(as_text=True)
    with session_scope() as session:
        location = session.exec(select(Location)).first()
        assert location is not None
        location.active = False
        session.add(location)
        inactive = location.location_id
    answer = post(client, f"/channels/{channel}/settings",
                  {**FORM, "percent": "40", "location_mode": "specific",
                   "location_ids": inactive})
    assert answer.status_code == 400
    assert "inactive store locations cannot count" in answer.get_data(as_text=True)
    assert settings_of(channel).percent == before.percent
    assert not sent(ui)


def test_saving_says_how_many_skus_change_and_recomputes_in_the_background(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    answer = post(client, f"/channels/{channel}/settings",
                  {**FORM, "percent": "50", "threshold": "3", "on_hold": "create"},
                  follow_redirects=True)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    skus = len(linked_skus(channel))
    # Every linked SKU with stock halves; one continues selling (99,999 either way) and
    # one has no stock (0 either way) in this seed.
    assert "Settings saved." in page and "will change" in page
    changed = int(page.split("Settings saved. ")[1].split(" SKU")[0])
    assert 0 < changed <= skus
    saved = settings_of(channel)
    assert (saved.percent, saved.threshold, saved.on_hold) == (50, 3, "create")
    messages = sent(ui)
    assert [(m.actor_name, m.args) for m in messages] == [("reconcile_channel", (channel,))]
    # The form shows the saved values.
    assert 'value="50"' in page and 'value="3"' in page


def test_the_preview_applies_the_edited_values_without_saving(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    base = "inventory_sync=on&honor_continue_selling=on&has_locations=1&location_mode=all"
    full = client.get(f"/channels/{channel}/preview?{base}&percent=100&threshold=0").get_json()
    half = client.get(f"/channels/{channel}/preview?{base}&percent=50&threshold=0").get_json()
    assert len(full["rows"]) == len(half["rows"]) > 0
    stocked = [(f, h) for f, h in zip(full["rows"], half["rows"], strict=True)
               if f["reason"] == "available"]
    assert stocked, full
    for f, h in stocked:
        available = sum(level["quantity"] for level in f["stock"] if level["active"])
        assert f["quantity"] == available and f["quantity"] == f["shown"]
        assert h["quantity"] == available * 50 // 100
        assert h["reason"] == "percent_of_available" and h["changes"]
        assert "50% of" in h["explanation"]
    # A threshold above a SKU's stock shows 0, and says why.
    low = min(stocked, key=lambda pair: pair[0]["quantity"])[0]
    answer = client.get(f"/channels/{channel}/preview?{base}&percent=100"
                        f"&threshold={low['quantity']}&q={low['sku']}").get_json()
    assert [row["sku"] for row in answer["rows"]] == [low["sku"]]
    assert answer["rows"][0]["quantity"] == 0
    assert answer["rows"][0]["reason"] == "at_or_below_threshold"
    # Inventory sync off: nothing would be pushed.
    off = client.get(f"/channels/{channel}/preview?percent=100&threshold=0").get_json()
    assert all(row["quantity"] is None and row["reason"] == "inventory_sync_off"
               for row in off["rows"])
    # Refused values come back by field; nothing was saved by any of this.
    bad = client.get(f"/channels/{channel}/preview?{base}&percent=101&threshold=0")
    assert bad.status_code == 200
    assert bad.get_json() == {"errors": {"percent": "must be at most 100, got 101"}}
    assert settings_of(channel).percent == 100


def test_a_search_matching_nothing_previews_no_rows(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    answer = client.get(f"/channels/{channel}/preview?percent=100&threshold=0&q=%25_nothing")
    assert answer.get_json() == {"rows": []}


def test_the_preview_holds_back_units_of_orders_not_yet_in_the_store(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    base = (f"/channels/{channel}/preview?inventory_sync=on&honor_continue_selling=on"
            "&has_locations=1&location_mode=all&percent=100&threshold=0")
    rows = client.get(base).get_json()["rows"]
    row = next(r for r in rows if r["reason"] == "available" and r["quantity"] > 3)
    # An order accepted on the other shop, not yet created in the store: 3 units owed.
    with session_scope() as session:
        session.add(OrderBinding(channel_id=ui.acme.channel_ids[1],
                                 channel_order_id="577100000000000001", status="waiting",
                                 channel_status="AWAITING_SHIPMENT", units={row["sku"]: 3}))
    held = client.get(f"{base}&q={row['sku']}").get_json()["rows"][0]
    assert held["quantity"] == row["quantity"] - 3
    assert "3 units held back for channel orders" in held["explanation"]
    assert {"location_id": "held_back", "name": "held back for orders", "quantity": -3,
            "active": True} in held["stock"]


class KeepTwoBack:
    """A custom buffer rule, as a plugin would add it: two units fewer than the rules say."""

    @hookimpl
    def shelfsync_adjust_decision(self, channel: Any, sku: str, decision: Decision,
                                  inputs: Any) -> Decision | None:
        if decision.reason != "available":
            return None
        return Decision(max(decision.quantity - 2, 0), decision.reason,
                        decision.explanation + "; 2 kept back by the buffer rule",
                        decision.available)


def test_the_preview_asks_plugins_to_adjust_as_the_engine_does(ui: UI) -> None:
    client = ui.signed_in(OWNER)
    channel = ui.acme.channel_ids[0]
    url = (f"/channels/{channel}/preview?inventory_sync=on&honor_continue_selling=on"
           "&has_locations=1&location_mode=all&percent=100&threshold=0")
    before = {r["sku"]: r for r in client.get(url).get_json()["rows"]}
    ui.pm.register(KeepTwoBack(), name="keep-two-back")
    try:
        after = {r["sku"]: r for r in client.get(url).get_json()["rows"]}
    finally:
        ui.pm.unregister(name="keep-two-back")
    adjusted = [sku for sku, row in before.items() if row["reason"] == "available"]
    assert adjusted
    for sku in adjusted:
        assert after[sku]["quantity"] == max(before[sku]["quantity"] - 2, 0)
        assert after[sku]["explanation"].endswith("2 kept back by the buffer rule")
    for sku in set(before) - set(adjusted):
        assert after[sku]["quantity"] == before[sku]["quantity"]
