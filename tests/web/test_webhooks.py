"""The webhook receiver: what it answers and what it enqueues (a StubBroker with no worker,
so every message it sends stays visible in the queue)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from flask.testing import FlaskClient
from sqlmodel import Session, select

from shelfsync.core import broker as broker_module
from shelfsync.core import tasks
from shelfsync.core.broker import SYNC_QUEUE, BrokerSettings, middleware
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    PendingSku,
    StoreConnection,
    WebhookReceipt,
)
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync import inventory
from shelfsync.plugins.shopify.fake_webhooks import headers as shopify_webhook_headers
from shelfsync.plugins.tiktok.fake_webhooks import signed_push as tiktok_signed_push
from shelfsync.web.app import create_app


@dataclass
class Receiver:
    fakes: Fakes
    org: DemoOrganization
    broker: StubBroker
    client: FlaskClient

    def sample(self, fake: str, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        server = self.fakes.store_server if fake == "store" else self.fakes.channel_server
        answer = httpx.post(f"{server.base_url}/_fake/webhook-sample", json=options,
                            timeout=10).json()
        return answer["headers"], answer["body"].encode()

    def enqueued(self) -> list[Message[Any]]:
        # A sync is asked for with the coalescing delay: it waits in the delay queue.
        queues = [self.broker.queues.get(name) for name in (SYNC_QUEUE, dq_name(SYNC_QUEUE))]
        return [Message.decode(data) for queue in queues if queue is not None
                for data in list(queue.queue)]

    def receipts(self) -> list[tuple[str, int]]:
        with Session(get_engine()) as session:
            rows = session.exec(select(WebhookReceipt)).all()
        return sorted((row.platform, row.connection_id) for row in rows)


@pytest.fixture
def receiver(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    broker = StubBroker(middleware=middleware(BrokerSettings()))
    tasks.use_broker(broker)
    pm = get_plugin_manager()
    try:
        with running_fakes(pm, products=5, variants=1, seed=2) as fakes:
            with session_scope() as session:
                org = connect_organization(session, fakes, name="Webhook test")
            with session_scope() as session:
                inventory.refresh_catalog(session, pm, org.store_id)
            app = create_app({"TESTING": True, "DATABASE_URL": migrated_url,
                              "PLUGIN_MANAGER": pm})
            yield Receiver(fakes, org, broker, app.test_client())
            app.extensions["shelfsync.engine"].dispose()
    finally:
        get_engine().dispose()
        broker.close()
        tasks.use_broker(broker_module.broker)


def test_store_webhook_is_verified_recorded_and_enqueued(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {})
    response = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                    headers=headers, data=body)
    assert response.status_code == 200
    assert response.json == {"status": "accepted", "skus": 1}
    [message] = receiver.enqueued()
    assert message.actor_name == "sync_pending"
    assert message.args == (receiver.org.organization_id,)
    with Session(get_engine()) as session:  # recorded before the answer (the outbox)
        assert len(session.exec(select(PendingSku)).all()) == 1
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
    assert response.status_code == 401
    assert receiver.enqueued() == [] and receiver.receipts() == []


def test_secret_of_another_app_is_401(receiver: Receiver) -> None:
    headers, body = receiver.sample("store", {"secret": "shpss_someone_else"})
    response = receiver.client.post(f"/webhooks/shopify/{receiver.org.store_id}",
                                    headers=headers, data=body)
    assert response.status_code == 401 and receiver.enqueued() == []


@pytest.mark.parametrize("path", ["/webhooks/shopify/999", "/webhooks/nosuch/1",
                                  "/webhooks/tiktok/999"])
def test_unknown_connection_is_404_and_nothing_happens(receiver: Receiver, path: str) -> None:
    headers, body = receiver.sample("store", {})
    response = receiver.client.post(path, headers=headers, data=body)
    assert response.status_code == 404
    assert receiver.enqueued() == [] and receiver.receipts() == []


def test_platform_mismatch_is_404(receiver: Receiver) -> None:
    """A channel id under the store's platform names no store connection of that platform."""
    headers, body = receiver.sample("store", {})
    channel_id = max(receiver.org.channel_ids)  # an id no store has
    response = receiver.client.post(f"/webhooks/shopify/{channel_id}", headers=headers,
                                    data=body)
    assert response.status_code == 404 and receiver.enqueued() == []


def test_tiktok_event_is_routed_by_shop_id(receiver: Receiver) -> None:
    first, second = receiver.org.channel_ids
    headers, body = receiver.sample("channel", {"shop": 1})  # the second shop's order event
    response = receiver.client.post(f"/webhooks/tiktok/{first}", headers=headers, data=body)
    assert response.status_code == 200
    assert response.json == {"status": "recorded", "channels": 1}
    assert receiver.receipts() == [("tiktok", second)]
    assert receiver.enqueued() == []  # orders: recorded only, for now
    again = receiver.client.post(f"/webhooks/tiktok/{first}", headers=headers, data=body)
    assert again.json == {"status": "duplicate", "channels": 0}


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


def connection_status(model: type[StoreConnection] | type[ChannelConnection],
                      ident: int) -> str:
    with Session(get_engine()) as session:
        row = session.get(model, ident)
        assert row is not None
        return row.status


def test_app_uninstalled_marks_the_store_needs_reauth(receiver: Receiver) -> None:
    store = receiver.fakes.store
    body = json.dumps({"id": 1, "domain": "fake.myshopify.com"}).encode()
    headers = shopify_webhook_headers(topic="app/uninstalled", body=body,
                                      shop="fake.myshopify.com", api_version="2025-04",
                                      secret=store.client_secret, event_id="1")
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
    # Sent to the app's one address (here the first channel's): routed by shop_id.
    response = receiver.client.post(f"/webhooks/tiktok/{first}", headers=headers, data=body)
    assert response.status_code == 200 and response.json == {"status": "recorded",
                                                             "channels": 1}
    assert connection_status(ChannelConnection, second) == "needs_reauth"
    assert connection_status(ChannelConnection, first) == "ok"
    assert connection_status(StoreConnection, receiver.org.store_id) == "ok"
