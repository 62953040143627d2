"""The engine with a Magento store, on SQLite and PostgreSQL: a merchant's stock move (no
webhook) is found by the store poll, queued, read as the salable quantity and pushed to both
TikTok shops with each shop's rules; a TikTok order placed in Magento moves what is pushed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.crypto import generate_key
from shelfsync.core.db import session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.models import CatalogVariant, ChannelListing, PendingSku, SkuLink
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.services.syncing import poll_store_changes, sync_pending_pass
from shelfsync.core.sync import catalog, linking
from shelfsync.core.types import ChannelOrder, Connection, OrderLine

FAST = {"retry_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 2, "timeout": 10}


@pytest.fixture
def setup(engine: Engine, migrated_url: str, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[ShelfsyncPluginManager, Fakes, DemoOrganization]]:
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    pm = get_plugin_manager()
    with running_fakes(pm, products=4, variants=2, seed=5, store_platform="magento") as fakes:
        with session_scope() as session:
            org = connect_organization(session, fakes, name="Magento store", settings=FAST)
        with session_scope() as session:
            catalog.refresh_catalog(session, pm, org.store_id, with_stock=True)
        for channel_id in org.channel_ids:
            with session_scope() as session:
                linking.refresh_listings(session, pm, channel_id)
        yield pm, fakes, org


def _shown(fakes: Fakes) -> list[dict[str, int]]:
    state = httpx.get(f"{fakes.channel_server.base_url}/_fake/state",
                      params={"inventory": "1"}).json()
    return [shop["inventory"] for shop in state["shops"]]


def _salable(fakes: Fakes, sku: str) -> int:
    return int(fakes.store.store.salable_qty(sku, 1))


def _plain_live_sku(engine: Engine, fakes: Fakes) -> str:
    """A SKU that is tracked, does not continue selling, and is live and linked everywhere."""
    with Session(engine) as session:
        sets = [set(session.exec(select(CatalogVariant.sku).where(
            CatalogVariant.continue_selling == False, CatalogVariant.tracked)))]  # noqa: E712
        for channel_id in sorted(set(session.exec(select(SkuLink.channel_id)))):
            live = set(session.exec(select(ChannelListing.seller_sku).where(
                ChannelListing.channel_id == channel_id, ChannelListing.status == "ACTIVATE")))
            sets.append(live & set(session.exec(select(SkuLink.store_sku).where(
                SkuLink.channel_id == channel_id))))
    return sorted(set.intersection(*sets))[0]


def _poll_and_sync(pm: ShelfsyncPluginManager, org: DemoOrganization) -> Any:
    result = poll_store_changes(pm, org.store_id, "test-poller")
    sync_pending_pass(pm, org.organization_id, "test-worker")
    return result


def test_a_polled_stock_move_and_an_order_reach_both_shops(
        engine: Engine, setup: tuple[ShelfsyncPluginManager, Fakes, DemoOrganization]) -> None:
    pm, fakes, org = setup
    sku = _plain_live_sku(engine, fakes)
    assert poll_store_changes(pm, org.store_id, "test-poller").skus == 0  # the baseline

    httpx.post(f"{fakes.store_server.base_url}/_fake/stock",
               json={"sku": sku, "delta": 23, "source_code": "default"}).raise_for_status()
    result = _poll_and_sync(pm, org)
    assert result.skus >= 1
    total = _salable(fakes, sku)
    one, two = _shown(fakes)
    assert (one[sku], two[sku]) == (total, 0 if total <= 5 else total * 80 // 100)

    conn = fakes.store.connections()[0]
    store = Connection(platform="magento", base_url=fakes.store_server.base_url,
                       credentials=conn["credentials"], settings={**conn["settings"], **FAST})
    pm.call(store, "shelfsync_create_order", order=ChannelOrder(
        id="31337", status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="1", sku_id="t", seller_sku=sku, quantity=4),)))
    _poll_and_sync(pm, org)
    assert _salable(fakes, sku) == total - 4
    one, two = _shown(fakes)
    assert one[sku] == total - 4
    with Session(engine) as session:
        assert session.exec(select(PendingSku)).all() == []
