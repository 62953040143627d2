"""The webhook receiver's fixture: the demo organization on running fakes, the web app, and
a StubBroker with no worker (every message it is sent stays visible in its queue)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
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
from shelfsync.core.models import ChannelConnection, PendingSku, StoreConnection, WebhookReceipt
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync import inventory
from shelfsync.plugins.shopify.fake_webhooks import headers as shopify_headers
from shelfsync.web.app import create_app

NOT_ACCEPTED = {"error": "webhook not accepted"}


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

    def pending_observed_at(self) -> list[datetime]:
        """When each SKU the receiver recorded pending was observed (the outbox rows)."""
        with Session(get_engine()) as session:
            return [row.observed_at for row in session.exec(select(PendingSku)).all()]

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


def connection_status(model: type[StoreConnection] | type[ChannelConnection],
                      ident: int) -> str:
    with Session(get_engine()) as session:
        row = session.get(model, ident)
        assert row is not None
        return row.status


def shopify_delivery(receiver: Receiver, topic: str, payload: dict[str, Any],
                     **header_changes: str) -> tuple[dict[str, str], bytes]:
    """A delivery of `payload` under `topic`, signed with the store's real client secret."""
    store = receiver.fakes.store
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = shopify_headers(topic=topic, body=body, shop=store.shop,
                              api_version=store.api_version, secret=store.client_secret,
                              event_id="1")
    headers.update(header_changes)
    return headers, body
