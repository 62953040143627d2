"""The currency check when a TikTok shop is connected (`services.connections.connect_channel`
with `services.currencies`), over HTTP against the Shopify and TikTok fakes, on SQLite and
PostgreSQL.

The TikTok fake's first shop is in GB (GBP) and its second in the US (USD); the Shopify fake
prices in USD unless told otherwise. A rate means shop price = store price × rate, as the
order path reads it (`core/sync/orders.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from shelfsync.core.crypto import generate_key
from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import CatalogVariant, ChannelConnection, Organization
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.services import connections
from shelfsync.core.services.channel_settings import channel_settings
from shelfsync.core.services.currencies import check_currencies
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.shopify.fake import ShopifyFake
from shelfsync.plugins.tiktok.fake import TikTokFake

GB, US = 0, 1


@pytest.fixture
def pm(monkeypatch: pytest.MonkeyPatch) -> ShelfsyncPluginManager:
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    return get_plugin_manager()


@pytest.fixture
def tiktok() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=2, variants=1, seed=5)) as running:
        yield running


@pytest.fixture
def usd_store() -> Iterator[RunningServer]:
    with serving(ShopifyFake(products=2, variants=1, seed=5)) as running:
        yield running


def organization_with_store(session: Session, pm: ShelfsyncPluginManager,
                            store: RunningServer | None, name: str = "Acme") -> Organization:
    organization = connections.create_organization(session, name)
    if store is not None:
        entry = store.app.connections()[0]
        connections.connect_store(session, pm, organization, "shopify", entry["credentials"],
                                  store.base_url, {"api_version": entry["api_version"],
                                                   "retry_backoff": "0.01"})
    return organization


def connect(session: Session, pm: ShelfsyncPluginManager, organization: Organization,
            tiktok: RunningServer, index: int, rate: Any = None) -> ChannelConnection:
    entry = tiktok.app.connections()[index]
    return connections.connect_channel(
        session, pm, organization, "tiktok", entry["credentials"], tiktok.base_url,
        entry["id"], {"auth_base_url": tiktok.base_url}, currency_rate=rate)


def rate_of(session: Session, channel: ChannelConnection) -> Decimal:
    assert channel.id is not None
    return Decimal(str(channel_settings(session, channel.id).currency_rate))


def channels(session: Session) -> list[ChannelConnection]:
    return list(session.exec(select(ChannelConnection)).all())


def test_a_gbp_shop_needs_a_rate_to_join_a_usd_store_and_keeps_it(
        session: Session, pm: ShelfsyncPluginManager, tiktok: RunningServer,
        usd_store: RunningServer) -> None:
    organization = organization_with_store(session, pm, usd_store)
    with pytest.raises(InvalidInput) as caught:
        connect(session, pm, organization, tiktok, GB)
    assert caught.value.field == "currency_rate"
    assert caught.value.detail == ("This shop sells in GBP and your store prices in USD: "
                                   "enter how many GBP one USD buys")
    # The order path reads a rate of 1 between two currencies as "no rate": refused here too.
    for empty in ("", "  "):
        with pytest.raises(InvalidInput, match=r"enter how many GBP one USD buys$"):
            connect(session, pm, organization, tiktok, GB, empty)
    with pytest.raises(InvalidInput, match="a rate of 1 would leave prices unconverted"):
        connect(session, pm, organization, tiktok, GB, "1")
    with pytest.raises(InvalidInput, match=r"must be a positive number such as 0\.79"):
        connect(session, pm, organization, tiktok, GB, "0,79")
    assert channels(session) == []

    channel = connect(session, pm, organization, tiktok, GB, " 0.79 ")
    assert channel.shop_id == tiktok.app.connections()[GB]["id"]
    assert rate_of(session, channel) == Decimal("0.79")


def test_a_shop_in_the_stores_currency_connects_as_before_and_refuses_a_rate(
        session: Session, pm: ShelfsyncPluginManager, tiktok: RunningServer,
        usd_store: RunningServer) -> None:
    organization = organization_with_store(session, pm, usd_store)
    with pytest.raises(InvalidInput) as caught:
        connect(session, pm, organization, tiktok, US, "0.92")
    assert caught.value.field == "currency_rate"
    assert caught.value.detail == ("This shop sells in USD, as your store does: leave the "
                                   "exchange rate empty (there is nothing to convert)")
    assert channels(session) == []
    channel = connect(session, pm, organization, tiktok, US, "1")
    assert rate_of(session, channel) == 1


def test_the_direction_follows_the_store_a_usd_shop_on_a_gbp_store(
        session: Session, pm: ShelfsyncPluginManager, tiktok: RunningServer) -> None:
    with serving(ShopifyFake(products=2, variants=1, seed=5, currency="GBP")) as gbp_store:
        organization = organization_with_store(session, pm, gbp_store)
        with pytest.raises(InvalidInput, match=r"enter how many USD one GBP buys$"):
            connect(session, pm, organization, tiktok, US)
        assert rate_of(session, connect(session, pm, organization, tiktok, US,
                                        "1.27")) == Decimal("1.27")
        assert rate_of(session, connect(session, pm, organization, tiktok, GB)) == 1


def test_the_read_catalogs_currency_counts_when_the_store_cannot_be_reached(
        session: Session, pm: ShelfsyncPluginManager, tiktok: RunningServer) -> None:
    with serving(ShopifyFake(products=2, variants=1, seed=5)) as store:
        organization = organization_with_store(session, pm, store)
        address = store.base_url
    # The store's catalog was read in GBP; now its server is gone.
    store_row = connections.store_of(session, organization)
    session.add(CatalogVariant(store_connection_id=store_row.id, product_id="p1",
                               variant_id="v1", sku="SKU-1", currency="GBP"))
    session.flush()
    assert store_row.base_url == address
    assert rate_of(session, connect(session, pm, organization, tiktok, GB)) == 1
    with pytest.raises(InvalidInput, match=r"enter how many USD one GBP buys$"):
        connect(session, pm, organization, tiktok, US)


def test_unknown_currencies_are_not_compared_and_a_given_rate_is_kept(
        session: Session, pm: ShelfsyncPluginManager, tiktok: RunningServer,
        usd_store: RunningServer) -> None:
    # No store yet: nothing to compare with.
    lonely = organization_with_store(session, pm, None, "Lonely")
    assert rate_of(session, connect(session, pm, lonely, tiktok, GB)) == 1
    # A market the plugin has no currency for: the shop connects, with the rate as given.
    tiktok.app.shops[US].region = "KR"
    organization = organization_with_store(session, pm, usd_store)
    assert rate_of(session, connect(session, pm, organization, tiktok, US, "1350")) == 1350


@pytest.mark.parametrize(("shop", "store", "given", "saved"), [
    ("GBP", "USD", Decimal("0.79"), Decimal("0.79")),
    ("gbp", "usd ", "0.79", Decimal("0.79")),
    ("EUR", "EUR", None, None),
    ("EUR", "EUR", "1", None),
    ("", "USD", "0.5", Decimal("0.5")),
    ("GBP", None, None, None),
])
def test_check_currencies_saves_only_a_rate_that_means_something(
        shop: str, store: str | None, given: Any, saved: Decimal | None) -> None:
    assert check_currencies(shop, store, given).rate == saved


@pytest.mark.parametrize("given", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("1e7"),
                                   "abc", "٣", "1e3", "0.1234567"])
def test_a_rate_that_is_no_positive_decimal_is_refused(given: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_currencies("GBP", "USD", given)
    assert caught.value.field == "currency_rate"
