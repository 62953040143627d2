"""The webhook receiver: what it answers and what it enqueues (a StubBroker with no worker,
so every message it sends stays visible in the queue)."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from shelfsync.core.db import session_scope
from shelfsync.core.models import CatalogVariant, ChannelConnection, StoreConnection
from shelfsync.plugins.shopify.fake_webhooks import shop_payload
from shelfsync.plugins.tiktok.fake_webhooks import signed_push as tiktok_signed_push

from .conftest import NOT_ACCEPTED, Receiver, connection_status, shopify_delivery


def test_store_webhook_is_verified_recorded_and_enqueued(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {})
    response = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                    headers=headers, data=body)
    assert response.status_code == 200
    assert response.json == {"status": "accepted", "skus": 1}
    [message] = receiver.enqueued()
    assert message.actor_name == "sync_pending"
    assert message.args == (receiver.org.organization_id,)
    assert len(receiver.pending_observed_at()) == 1  # recorded before the answer (the outbox)
    assert receiver.receipts() == [("shopify", receiver.org.store_id)]


def test_replay_answers_200_and_enqueues_nothing(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {})
    path = f"/webhooks/shopify/{receiver.org.store_id}"
    receiver.client.post(path, headers=headers, data=body)
    replay = receiver.client.post(path, headers=headers, data=body)
    assert replay.status_code == 200 and replay.json == {"status": "duplicate"}
    assert len(receiver.enqueued()) == 1


@pytest.mark.parametrize("tamper", ["body", "signature", "missing"])
def test_bad_signature_is_401_and_nothing_happens(receiver: Receiver, tamper: str) -> None:
    headers, body = receiver.sample("store", {})
    if tamper == "body":
        body = body.replace(b'"available":', b'"available":1')
    elif tamper == "signature":
        headers["X-Shopify-Hmac-Sha256"] = "AAAA" + headers["X-Shopify-Hmac-Sha256"][4:]
    else:
        del headers["X-Shopify-Hmac-Sha256"]
    response = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                    headers=headers, data=body)
    assert response.status_code == 401 and response.json == NOT_ACCEPTED
    assert receiver.enqueued() == [] and receiver.receipts() == []


def test_secret_of_another_app_is_401(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {"secret": "shpss_someone_else"})
    response = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                    headers=headers, data=body)
    assert response.status_code == 401 and receiver.enqueued() == []


@pytest.mark.parametrize("path", ["/webhooks/shopify/999", "/webhooks/nosuch/1",
                                  "/webhooks/tiktok/999"])
def test_unknown_connection_is_refused_like_a_bad_signature(receiver: Receiver,
                                                            path: str) -> None:
    """Connection ids are not enumerable: unknown and unsigned look the same."""
    headers, body = receiver.sample("store", {})
    response = receiver.client.post(path, headers=headers, data=body)
    assert response.status_code == 401 and response.json == NOT_ACCEPTED
    assert receiver.enqueued() == [] and receiver.receipts() == []


def test_platform_mismatch_is_refused_like_a_bad_signature(receiver: Receiver) -> None:
    """A channel id under the store's platform names no store connection of that platform."""
    headers, body = receiver.sample("store", {})
    channel_id = max(receiver.org.channel_ids)  # an id no store has
    response = receiver.client.post(f"/webhooks/shopify/{channel_id}", headers=headers,
                                    data=body)
    assert response.status_code == 401 and response.json == NOT_ACCEPTED
    assert receiver.enqueued() == []


def test_tiktok_event_is_routed_by_shop_id(receiver: Receiver) -> None:
    first, second = receiver.org.channel_ids
    headers, body = receiver.sample("channel", {"shop": 1})  # the second shop's order event
    response = receiver.client.post(f"/webhooks/tiktok/{first}", headers=headers, data=body)
    assert response.status_code == 200
    assert response.json == {"status": "recorded", "channels": 1}
    assert receiver.receipts() == [("tiktok", second)]
    # The order is recorded for the shop's channel and its intake sent (issue 12).
    assert [(m.actor_name, m.args) for m in receiver.enqueued()] == [("handle_order", (1,))]
    again = receiver.client.post(f"/webhooks/tiktok/{first}", headers=headers, data=body)
    assert again.json == {"status": "duplicate", "channels": 0}
    assert len(receiver.enqueued()) == 1  # a replay sends nothing more


def test_tiktok_bad_signature_is_401(receiver: Receiver) -> None:
    headers, body = receiver.sample("channel", {"shop": 0})
    headers["Authorization"] = "0" * 64
    response = receiver.client.post(f"/webhooks/tiktok/{receiver.org.channel_ids[0]}",
                                    headers=headers, data=body)
    assert response.status_code == 401 and receiver.receipts() == []


def test_store_webhook_for_an_unknown_item_enqueues_nothing(receiver: Receiver) -> None:
    with session_scope() as session:  # forget the catalog: the item maps to no SKU
        for row in session.exec(select(CatalogVariant)).all():
            session.delete(row)
    headers, body = receiver.sample("store", {})
    response = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                    headers=headers, data=body)
    assert response.json == {"status": "accepted", "skus": 0} and receiver.enqueued() == []


def test_app_uninstalled_marks_the_store_needs_reauth(receiver: Receiver) -> None:
    store = receiver.fakes.store
    headers, body = shopify_delivery(receiver, "app/uninstalled", shop_payload(store.shop))
    store.access_token = "shpat_revoked_by_the_uninstall"  # the live check is refused
    path = f"/webhooks/shopify/{receiver.org.store_id}"
    response = receiver.client.post(path, headers=headers, data=body)
    assert response.status_code == 200 and response.json == {"status": "access revoked"}
    assert connection_status(StoreConnection, receiver.org.store_id) == "needs_reauth"
    assert receiver.enqueued() == []
    # A forged uninstall (wrong secret) changes nothing.
    forged = dict(headers, **{"X-Shopify-Hmac-Sha256": "AAAA" + headers[
        "X-Shopify-Hmac-Sha256"][4:]})
    assert receiver.client.post(path, headers=forged, data=body).status_code == 401


def test_seller_deauthorization_marks_only_that_shop_needs_reauth(receiver: Receiver) -> None:
    first, second = receiver.org.channel_ids
    channel = receiver.fakes.channel
    shop = channel.shops[1]
    headers, body = tiktok_signed_push(channel.creds.app_key, channel.creds.app_secret, shop,
                                       6, "7300000000000000001", int(time.time()),
                                       {"message": "the seller deauthorized the app"})
    with session_scope() as session:  # the deauthorization killed the shop's token
        row = session.get(ChannelConnection, second)
        assert row is not None
        row.set_credentials({**row.credentials(), "access_token": "ROW_revoked"})
    # Sent to the app's one address (here the first channel's): routed by shop_id.
    response = receiver.client.post(f"/webhooks/tiktok/{first}", headers=headers, data=body)
    assert response.status_code == 200 and response.json == {"status": "recorded",
                                                             "channels": 1}
    assert connection_status(ChannelConnection, second) == "needs_reauth"
    assert connection_status(ChannelConnection, first) == "ok"
    assert connection_status(StoreConnection, receiver.org.store_id) == "ok"
