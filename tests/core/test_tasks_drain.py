"""`sync_pending`: SKUs leased by one pass at a time, looping while SKUs arrive.

The actor is called in this process (its function runs synchronously); a lease taken on a
second session stands in for another worker process's pass, and a plugin hook marks a SKU
pending from its own transaction while a pass is running, as a webhook would. SQLite and
PostgreSQL run the same code path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from shelfsync.core import tasks
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import CatalogVariant, ChannelListing, PendingSku, SkuLink, utcnow
from shelfsync.core.sync import inventory

FAST = {"retry_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 2, "timeout": 5}


@dataclass
class Org:
    fakes: Fakes
    org: DemoOrganization

    def control(self, fake: str, method: str, name: str, body: Any = None) -> Any:
        server = self.fakes.store_server if fake == "store" else self.fakes.channel_server
        response = httpx.request(method, f"{server.base_url}/_fake/{name}", json=body,
                                 timeout=10)
        response.raise_for_status()
        return response.json()

    def shown(self, sku: str) -> int:
        shops = self.control("channel", "GET", "state?inventory=1")["shops"]
        return int(shops[0]["inventory"][sku])

    def store_total(self, sku: str) -> int:
        levels = self.control("store", "GET", f"stock?sku={sku}")["levels"]
        return max(0, sum(lv["available"] for lv in levels if lv["location_active"]))

    def pending(self) -> list[str]:
        with Session(get_engine()) as session:
            return sorted(session.exec(select(PendingSku.sku)))


@pytest.fixture
def org(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    pm = tasks.plugin_manager()
    with running_fakes(pm, products=6, variants=2, seed=3, restore_rate=20000.0) as fakes:
        with session_scope() as session:
            demo = connect_organization(session, fakes, name="Drain test", settings=FAST)
        with session_scope() as session:
            inventory.refresh_catalog(session, pm, demo.store_id, with_stock=True)
        for channel_id in demo.channel_ids:
            with session_scope() as session:
                inventory.refresh_listings(session, pm, channel_id)
        try:
            yield Org(fakes, demo)
        finally:
            get_engine().dispose()


def _live_skus(org: Org) -> list[str]:
    """Tracked, stop-when-sold-out SKUs linked and live in shop 1."""
    with Session(get_engine()) as session:
        plain = set(session.exec(select(CatalogVariant.sku).where(
            CatalogVariant.continue_selling == False, CatalogVariant.tracked)))  # noqa: E712
        shop = org.org.channel_ids[0]
        live = set(session.exec(select(ChannelListing.seller_sku).where(
            ChannelListing.channel_id == shop, ChannelListing.status == "ACTIVATE")))
        linked = set(session.exec(select(SkuLink.store_sku).where(SkuLink.channel_id == shop)))
    return sorted(plain & live & linked)


def _mark(org: Org, skus: list[str]) -> None:
    with session_scope() as session:
        inventory.mark_pending(session, org.org.organization_id, skus, utcnow())


def test_a_message_finding_the_organization_busy_leaves_its_skus_to_the_holder(org: Org) -> None:
    sku = _live_skus(org)[0]
    org.control("store", "POST", "stock", {"sku": sku, "available": 31})
    _mark(org, [sku])
    org.control("store", "DELETE", "requests")
    with Session(get_engine()) as other_worker:
        lease = inventory.lease_pending(other_worker, org.org.organization_id, "other")
        assert lease.skus == [sku]
        tasks.sync_pending(org.org.organization_id)
        assert org.pending() == [sku]  # untouched: the holder's pass takes care of it
        assert org.control("store", "GET", "requests")["count"] == 0
        # The holder lets go without finishing (its store read failed, say).
        inventory.settle_pending(other_worker, org.org.organization_id, lease, [], utcnow())
        other_worker.commit()
    tasks.sync_pending(org.org.organization_id)
    assert org.pending() == []
    assert org.shown(sku) == org.store_total(sku)


class _WebhookDuringPass:
    """Marks `late` pending, in its own committed transaction, while the first pass decides."""

    def __init__(self, org: Org, late: str) -> None:
        self.org, self.late, self.fired = org, late, False

    @hookimpl
    def shelfsync_adjust_decision(self, channel: Any, sku: str, decision: Any,
                                  inputs: Any) -> None:
        if not self.fired and sku != self.late:
            self.fired = True
            _mark(self.org, [self.late])


def test_skus_arriving_during_a_pass_are_taken_by_the_same_message(org: Org) -> None:
    first, late = _live_skus(org)[:2]
    for sku, available in ((first, 12), (late, 27)):
        org.control("store", "POST", "stock", {"sku": sku, "available": available})
    _mark(org, [first])
    hook = _WebhookDuringPass(org, late)
    pm = tasks.plugin_manager()
    pm.register(hook)
    try:
        org.control("store", "DELETE", "requests")
        tasks.sync_pending(org.org.organization_id)  # one message, no other to pick `late` up
    finally:
        pm.unregister(hook)
    assert hook.fired and org.pending() == []
    assert (org.shown(first), org.shown(late)) == (org.store_total(first), org.store_total(late))
    # Two passes, one store read each (the first also lists the shop's locations at most:
    # the list is kept in the connection's cache core hands the plugin, `scope.cache`).
    assert 2 <= org.control("store", "GET", "requests")["count"] <= 3
