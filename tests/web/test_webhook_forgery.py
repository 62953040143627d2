"""Issue 10, items 2 and 9: unsigned Shopify headers do not steer the receiver, and a time
without a time zone is refused at the door, never accepted and lost.

Every attack here uses a body the store's real client secret signed (a captured delivery),
with the unsigned headers rewritten, as an attacker who recorded one delivery can.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from shelfsync.core.db import get_engine
from shelfsync.core.models import StoreConnection
from shelfsync.plugins.shopify.fake_webhooks import shop_payload

from .conftest import NOT_ACCEPTED, Receiver, connection_status, shopify_delivery


def post(receiver: Receiver, headers: dict[str, str], body: bytes) -> Any:
    return receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}", headers=headers,
                                data=body)


def store_status(receiver: Receiver) -> str:
    return connection_status(StoreConnection, receiver.org.store_id)


def api_calls(receiver: Receiver) -> int:
    return sum(receiver.fakes.store.request_counts.values())


def level_payload(receiver: Receiver) -> dict[str, Any]:
    """A real `inventory_levels/update` body of the fake, as a dict to change."""
    payload: dict[str, Any] = json.loads(receiver.sample("store", {})[1])
    return payload


def test_a_stock_body_replayed_as_app_uninstalled_marks_nothing(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {})
    assert post(receiver, headers, body).status_code == 200
    receiver.fakes.store.access_token = "shpat_dead"  # even a live check would confirm now
    forged = dict(headers, **{"X-Shopify-Topic": "app/uninstalled",
                              "X-Shopify-Webhook-Id": str(uuid.uuid4())})
    response = post(receiver, forged, body)
    assert response.status_code == 400 and "app/uninstalled" in response.json["error"]
    assert store_status(receiver) == "ok"
    assert receiver.receipts() == [("shopify", receiver.org.store_id)]
    assert len(receiver.enqueued()) == 1


@pytest.mark.parametrize("topic", ["products/update", "inventory_items/update"])
def test_a_stock_body_sent_under_another_topic_is_refused(receiver: Receiver,
                                                          topic: str) -> None:
    headers, body = receiver.sample("store", {})
    response = post(receiver, dict(headers, **{"X-Shopify-Topic": topic}), body)
    assert response.status_code == 400 and topic in response.json["error"]
    assert receiver.receipts() == [] and receiver.enqueued() == []


def test_a_replay_under_a_fresh_webhook_id_is_a_duplicate(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {})
    assert post(receiver, headers, body).json == {"status": "accepted", "skus": 1}
    fresh = dict(headers, **{"X-Shopify-Webhook-Id": str(uuid.uuid4()),
                             "X-Shopify-Event-Id": str(uuid.uuid4()),
                             "X-Shopify-Triggered-At": datetime.now(UTC).isoformat()})
    assert post(receiver, fresh, body).json == {"status": "duplicate"}
    assert len(receiver.enqueued()) == 1


def test_an_uninstall_is_confirmed_live_before_anything_is_marked(receiver: Receiver) -> None:
    """While the token still works the uninstall is a lie: ignored, recorded (so replaying it
    costs no second live call) and logged; once the token is refused it is believed."""
    store = receiver.fakes.store
    headers, body = shopify_delivery(receiver, "app/uninstalled", shop_payload(store.shop))
    before = api_calls(receiver)
    assert post(receiver, headers, body).json == {"status": "ignored"}
    assert store_status(receiver) == "ok" and api_calls(receiver) == before + 1
    replay = dict(headers, **{"X-Shopify-Webhook-Id": str(uuid.uuid4())})
    assert post(receiver, replay, body).json == {"status": "duplicate"}
    assert api_calls(receiver) == before + 1 and store_status(receiver) == "ok"

    store.access_token = "shpat_revoked_by_a_real_uninstall"
    real_headers, real_body = shopify_delivery(receiver, "app/uninstalled",
                                               shop_payload(store.shop, name="Renamed"))
    assert post(receiver, real_headers, real_body).json == {"status": "access revoked"}
    assert store_status(receiver) == "needs_reauth"


def test_an_uninstall_that_cannot_be_confirmed_is_retried_not_marked(
    receiver: Receiver,
) -> None:
    """A transient failure of the live call proves nothing: 503 and nothing recorded, so the
    platform's retry is heard (and believed once the platform refuses the token)."""
    store = receiver.fakes.store
    headers, body = shopify_delivery(receiver, "app/uninstalled", shop_payload(store.shop))
    store.inject_fault("500", count=1)
    response = post(receiver, headers, body)
    assert response.status_code == 503
    assert store_status(receiver) == "ok" and receiver.receipts() == []
    store.access_token = "shpat_revoked"
    assert post(receiver, headers, body).json == {"status": "access revoked"}
    assert store_status(receiver) == "needs_reauth"


def test_an_uninstall_of_another_shop_marks_nothing(receiver: Receiver) -> None:
    receiver.fakes.store.access_token = "shpat_dead"
    other = "someone-else.myshopify.com"
    headers, body = shopify_delivery(receiver, "app/uninstalled", shop_payload(other),
                                     **{"X-Shopify-Shop-Domain": other})
    response = post(receiver, headers, body)
    assert response.status_code == 401 and response.json == NOT_ACCEPTED
    # The header claiming our shop does not help: the signed body names the other one.
    headers, body = shopify_delivery(receiver, "app/uninstalled", shop_payload(other))
    assert post(receiver, headers, body).status_code == 400
    assert store_status(receiver) == "ok" and receiver.receipts() == []


def test_a_delivery_naming_another_shop_is_refused(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {})
    forged = dict(headers, **{"X-Shopify-Shop-Domain": "someone-else.myshopify.com"})
    response = post(receiver, forged, body)
    assert response.status_code == 401 and response.json == NOT_ACCEPTED
    assert receiver.receipts() == [] and receiver.enqueued() == []


def test_a_store_without_a_recorded_domain_is_served_and_said_once(
    receiver: Receiver, caplog: pytest.LogCaptureFixture,
) -> None:
    with Session(get_engine()) as session:
        row = session.get(StoreConnection, receiver.org.store_id)
        assert row is not None
        row.store_id = None
        session.add(row)
        session.commit()
    caplog.set_level(logging.WARNING, logger="shelfsync.web")
    for available in (7, 8):
        headers, body = receiver.sample("store", {"available": available})
        assert post(receiver, headers, body).json == {"status": "accepted", "skus": 1}
    said = [r for r in caplog.records if "no recorded store id" in r.getMessage()]
    assert len(said) == 1


def test_a_naive_triggered_at_header_is_not_what_decides(receiver: Receiver) -> None:
    """The body's zoned `updated_at` is the time of the change; the unsigned header without
    a time zone neither refuses nor loses it."""
    payload = level_payload(receiver)
    headers, body = shopify_delivery(receiver, "inventory_levels/update", payload,
                                     **{"X-Shopify-Triggered-At": "2026-01-01T10:00:00"})
    assert post(receiver, headers, body).json == {"status": "accepted", "skus": 1}
    assert len(receiver.enqueued()) == 1
    [observed_at] = receiver.pending_observed_at()
    assert observed_at == datetime.fromisoformat(payload["updated_at"])
    assert observed_at.tzinfo is not None


def test_a_naive_body_timestamp_is_refused_at_the_door(receiver: Receiver) -> None:
    payload = dict(level_payload(receiver), updated_at="2026-01-01T10:00:00")
    headers, body = shopify_delivery(receiver, "inventory_levels/update", payload)
    response = post(receiver, headers, body)
    assert response.status_code == 400 and "time zone" in response.json["error"]
    assert receiver.receipts() == [] and receiver.enqueued() == []


def test_a_naive_header_is_refused_when_the_body_has_no_time(receiver: Receiver) -> None:
    headers, body = shopify_delivery(receiver, "orders/create", {"id": 5, "name": "#1001"},
                                     **{"X-Shopify-Triggered-At": "2026-01-01T10:00:00"})
    response = post(receiver, headers, body)
    assert response.status_code == 400 and "time zone" in response.json["error"]
    assert receiver.receipts() == []


def test_a_delivery_older_than_the_replay_window_is_not_acted_on(receiver: Receiver) -> None:
    old = (datetime.now(UTC) - timedelta(days=4)).isoformat(timespec="seconds")
    headers, body = shopify_delivery(receiver, "inventory_levels/update",
                                     dict(level_payload(receiver), updated_at=old))
    assert post(receiver, headers, body).json == {"status": "stale"}
    assert receiver.receipts() == [] and receiver.enqueued() == []


def test_a_time_ahead_of_now_is_clamped(receiver: Receiver) -> None:
    """A body's clock running ahead must not make later observations look older."""
    ahead = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
    headers, body = shopify_delivery(receiver, "inventory_levels/update",
                                     dict(level_payload(receiver), updated_at=ahead))
    assert post(receiver, headers, body).status_code == 200
    assert len(receiver.enqueued()) == 1
    [observed_at] = receiver.pending_observed_at()
    assert observed_at <= datetime.now(UTC)


def test_an_uninstall_of_a_shop_untouched_for_long_is_not_stale(receiver: Receiver) -> None:
    """The shop object's `updated_at` is its last edit, not the time of the uninstall."""
    store = receiver.fakes.store
    payload = dict(shop_payload(store.shop), updated_at="2024-03-01T09:00:00-05:00")
    headers, body = shopify_delivery(receiver, "app/uninstalled", payload)
    store.access_token = "shpat_revoked"
    assert post(receiver, headers, body).json == {"status": "access revoked"}
    assert store_status(receiver) == "needs_reauth"


def test_a_copy_sent_ahead_under_a_topic_with_no_effect_does_not_eat_the_real_one(
    receiver: Receiver,
) -> None:
    headers, body = receiver.sample("store", {})
    ahead = dict(headers, **{"X-Shopify-Topic": "orders/create",
                             "X-Shopify-Webhook-Id": str(uuid.uuid4())})
    assert post(receiver, ahead, body).json == {"status": "accepted", "skus": 0}
    assert post(receiver, headers, body).json == {"status": "accepted", "skus": 1}
    assert len(receiver.enqueued()) == 1
