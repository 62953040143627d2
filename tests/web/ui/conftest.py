"""The settings UI's fixture: two organizations on running fakes (catalog read, shops
linked, one reconcile pushed), a third with nothing connected for onboarding, users of each
role, the app with an injected clock, and a StubBroker (messages stay in its queues).

Every test runs on SQLite and on PostgreSQL (`migrated_url`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select
from werkzeug.test import TestResponse

from shelfsync.core import broker as broker_module
from shelfsync.core import tasks
from shelfsync.core.broker import BrokerSettings, middleware
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.models import Organization, SkuLink
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.services import syncing, users
from shelfsync.web.app import create_app

PASSWORD = "correct horse battery"
OWNER, MEMBER, OTHER, NEWCOMER = ("owner@acme.example", "member@acme.example",
                                  "owner@other.example", "owner@newco.example")
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Clock:
    """A clock the test moves by hand (the login throttle reads it)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class UI:
    app: Flask
    pm: ShelfsyncPluginManager
    fakes: Fakes
    acme: DemoOrganization
    other: DemoOrganization
    newco_id: int
    clock: Clock
    broker: StubBroker
    url: str
    clients: list[FlaskClient] = field(default_factory=list)

    def client(self) -> FlaskClient:
        client = self.app.test_client()
        self.clients.append(client)
        return client

    def signed_in(self, email: str = OWNER) -> FlaskClient:
        client = self.client()
        answer = login(client, email)
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        return client

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The TikTok fake's control API."""
        answer = httpx.request(method, f"{self.fakes.channel_server.base_url}/_fake/{path}",
                               json=body, timeout=10)
        assert answer.status_code < 300, answer.text
        return answer.json()


def token(client: FlaskClient, path: str = "/login") -> str:
    """A CSRF token of the client's session (from any page with a form)."""
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
         **kwargs: Any) -> TestResponse:
    """A form POST with a valid CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": token(client)}, **kwargs)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    return post(client, "/login", {"email": email, "password": password})


def linked_skus(channel_id: int) -> list[str]:
    with session_scope() as session:
        return sorted(set(session.exec(select(SkuLink.store_sku).where(
            SkuLink.channel_id == channel_id))))


@pytest.fixture
def ui(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[UI]:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    broker = StubBroker(middleware=middleware(BrokerSettings()))
    tasks.use_broker(broker)
    pm = get_plugin_manager()
    clock = Clock()
    try:
        with running_fakes(pm, products=4, variants=2, seed=7) as fakes:
            with session_scope() as session:
                acme = connect_organization(session, fakes, name="Acme")
                other = connect_organization(session, fakes, name="Other")
                newco = Organization(name="Newco")
                session.add(newco)
                session.flush()
                assert newco.id is not None
                for email, org_id, role in ((OWNER, acme.organization_id, "owner"),
                                            (MEMBER, acme.organization_id, "member"),
                                            (OTHER, other.organization_id, "owner"),
                                            (NEWCOMER, newco.id, "owner")):
                    organization = session.get(Organization, org_id)
                    assert organization is not None
                    users.create_user(session, organization, email, PASSWORD, role)
                newco_id = newco.id
            for demo in (acme, other):
                syncing.refresh_catalog(pm, demo.organization_id)
                for channel_id in demo.channel_ids:
                    syncing.reconcile_channel(pm, channel_id)
            app = create_app({"TESTING": True, "DATABASE_URL": migrated_url,
                              "PLUGIN_MANAGER": pm, "CLOCK": clock})
            yield UI(app, pm, fakes, acme, other, newco_id, clock, broker, migrated_url)
            app.extensions["shelfsync.engine"].dispose()
    finally:
        get_engine().dispose()
        broker.close()
        tasks.use_broker(broker_module.broker)
