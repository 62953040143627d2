"""Platform info, connection checks, authorized shops, warehouses and listings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click
import httpx
import pytest

from shelfsync.core.errors import AuthError, PluginMissing
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.testing.catalog import seed_catalog
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import Listing, Role
from shelfsync.plugins.tiktok import mapping, plugin
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect


def listed(**kwargs: Any) -> list[Listing]:
    """The listings hook's pages, joined."""
    return [item for page in plugin.shelfsync_fetch_listings(**kwargs) for item in page]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=20, variants=3, seed=0)) as running:
        yield running


def test_platform_info() -> None:
    info = get_plugin_manager().platform("tiktok")
    assert info.role is Role.CHANNEL
    assert info.capabilities.max_quantity == 99_999
    assert info.capabilities.multi_shop and info.capabilities.has_locations
    assert info.credential_names == (
        "app_key", "app_secret", "access_token", "refresh_token", "shop_cipher"
    )


def test_fake_factory_and_command_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFSYNC_PLUGINS", "tiktok")  # other plugins' fakes are not ours
    pm = get_plugin_manager()
    assert dict(pm.hook.shelfsync_fake_factory())["tiktok"] is TikTokFake
    group = click.Group("shelfsync", commands=[click.Group("fake")])
    plugin.shelfsync_register_commands(cli=group)
    assert group.commands["fake"].commands  # type: ignore[attr-defined]


def test_another_platforms_connection_never_reaches_the_plugin(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin has no platform guard: core's routing keeps other connections away."""
    monkeypatch.setenv("SHELFSYNC_PLUGINS", "tiktok")
    pm = get_plugin_manager()
    other = replace(connect(server), platform="shopify")
    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    for name, kwargs in (("shelfsync_check_connection", {}),
                         ("shelfsync_fetch_locations", {}),
                         ("shelfsync_fetch_listings", {}),
                         ("shelfsync_push_inventory", {"updates": []}),
                         ("shelfsync_verify_webhook", {"headers": {}, "body": b"{}"})):
        with pytest.raises(PluginMissing, match="no plugin for platform 'shopify'"):
            pm.call(other, name, **kwargs)
    assert httpx.get(server.base_url + "/_fake/requests").json()["count"] == 0


def test_check_connection_names_the_ciphers_shop(server: RunningServer) -> None:
    shop = server.app.connections()[0]
    account = plugin.shelfsync_check_connection(connection=connect(server))
    assert account.platform_id == shop["id"] and account.platform_id
    assert account.name


def test_check_connection_without_a_cipher_names_no_shop(server: RunningServer) -> None:
    account = plugin.shelfsync_check_connection(
        connection=connect(server, credentials={"shop_cipher": ""}))
    assert account.platform_id == ""


def test_check_connection_refuses_another_shops_cipher(server: RunningServer) -> None:
    other_cipher = server.app.connections()[1]["credentials"]["shop_cipher"]
    with pytest.raises(AuthError, match="cipher"):
        plugin.shelfsync_check_connection(
            connection=connect(server, credentials={"shop_cipher": other_cipher})
        )


def test_authorized_shops_carry_their_ciphers(server: RunningServer) -> None:
    for index, entry in enumerate(server.app.connections()):
        shops = plugin.shelfsync_fetch_authorized_shops(connection=connect(server, index))
        assert [(s.id, s.cipher) for s in shops] == [
            (entry["id"], entry["credentials"]["shop_cipher"])
        ]
        assert shops[0].region


def test_each_shop_sells_in_its_markets_currency_as_its_prices_say() -> None:
    """The fake prices each shop's SKUs and orders in its market's currency (GB in GBP, DE
    in EUR …); the region Get Authorized Shops answers must map to that same currency."""
    with serving(TikTokFake(shops=6, products=1, variants=1, seed=3)) as six:
        for index, fake_shop in enumerate(six.app.shops):
            (shop,) = plugin.shelfsync_fetch_authorized_shops(connection=connect(six, index))
            assert (shop.region, shop.currency) == (fake_shop.region, fake_shop.currency)
            account = plugin.shelfsync_check_connection(connection=connect(six, index))
            assert account.currency == fake_shop.currency
        assert [s.currency for s in six.app.shops] == ["GBP", "USD", "EUR", "EUR", "EUR", "EUR"]


@pytest.mark.parametrize(("region", "currency"), [
    ("GB", "GBP"), ("US", "USD"), ("gb", "GBP"), ("IE", "EUR"), ("JP", "JPY"), ("BR", "BRL"),
    ("VN", "VND"), ("MX", "MXN"), ("KR", ""), ("", ""),
])
def test_a_region_maps_to_its_selling_currency_and_an_unknown_one_to_none(
        region: str, currency: str) -> None:
    (shop,) = mapping.parse_shops(
        {"shops": [{"id": "1", "name": "A", "region": region, "cipher": "c"}]})
    assert shop.currency == currency


def test_a_shop_without_a_region_has_no_currency() -> None:
    (shop,) = mapping.parse_shops({"shops": [{"id": "1", "name": "A"}]})
    assert (shop.region, shop.currency) == ("", "")


def test_locations_are_sales_warehouses(server: RunningServer) -> None:
    locations = plugin.shelfsync_fetch_locations(connection=connect(server))
    assert [(loc.name, loc.active, loc.is_default) for loc in locations] == [
        ("Main warehouse 1", True, True),
        ("Second warehouse 1", True, False),
    ]


def test_listings_cover_every_listed_sku(server: RunningServer) -> None:
    listings = listed(connection=connect(server))
    catalog = {v.sku for p in seed_catalog(0, 20, 3) for v in p.variants}
    seller_skus = [listing.seller_sku for listing in listings]
    # The fake leaves one variant out of each shop on purpose.
    assert len(seller_skus) == len(set(seller_skus)) == 59
    assert set(seller_skus) < catalog
    assert {listing.status for listing in listings} == {"ACTIVATE", "SELLER_DEACTIVATED"}
    warehouses = {loc.id for loc in plugin.shelfsync_fetch_locations(connection=connect(server))}
    for listing in listings:
        assert listing.product_id and listing.sku_id and listing.title
        assert set(listing.quantities) <= warehouses
        assert all(q >= 0 for q in listing.quantities.values())
    assert any(len(listing.quantities) == 2 for listing in listings)


def test_listings_follow_every_page(server: RunningServer) -> None:
    httpx.delete(server.base_url + "/_fake/requests")
    listings = listed(connection=connect(server, page_size=7))
    assert len(listings) == 59
    assert len({listing.sku_id for listing in listings}) == 59
    by_path = httpx.get(server.base_url + "/_fake/requests").json()["by_path"]
    assert by_path == {"/product/202312/products/search": 3}  # 20 products, 7 a page


def test_listings_from_the_202309_search(server: RunningServer) -> None:
    old = listed(
        connection=connect(server, product_search_version="202309"))
    new = listed(connection=connect(server))
    assert old == new


def test_shops_list_their_own_products(server: RunningServer) -> None:
    first = listed(connection=connect(server, 0))
    second = listed(connection=connect(server, 1))
    assert not {x.sku_id for x in first} & {x.sku_id for x in second}


def test_no_orders_yet(server: RunningServer) -> None:
    page = plugin.shelfsync_fetch_orders(connection=connect(server),
                                         updated_since=datetime(2020, 1, 1, tzinfo=UTC),
                                         cursor=None)
    assert page.orders == () and page.next_cursor is None


@pytest.mark.parametrize("settings", [
    {"page_size": "lots"}, {"page_size": 0}, {"qps": "fast"}, {"qps": "nan"},
    {"qps": 5, "qps_headroom": "-1"}, {"retry_attempts": "x"}, {"token_refresh_margin": "1h"},
    {"page_size": "٣"}, {"retry_max_backoff": "1e300"}, {"page_size": 101},
])
def test_unusable_stored_settings_read_as_their_default_and_are_logged(
    server: RunningServer, settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A bad value saved before settings were checked must not stop every sync: it reads as
    the declared default (issue 10: settings that break every sync), with a warning."""
    name = next(iter(settings)) if len(settings) == 1 else "qps_headroom"
    with caplog.at_level("WARNING", logger="shelfsync.core.types"):
        listings = listed(connection=connect(server, **settings))
    assert listings
    assert any(f"setting {name} " in record.getMessage() for record in caplog.records)


def test_settings_given_as_text_are_read(server: RunningServer) -> None:
    listings = listed(
        connection=connect(server, page_size="7", retry_attempts="2", qps="50"))
    assert len(listings) == len({item.sku_id for item in listings}) > 7


def test_an_unreadable_stored_token_expiry_counts_as_unknown(server: RunningServer) -> None:
    connection = connect(server, credentials={"access_token_expire_in": "next week"})
    assert plugin.shelfsync_fetch_locations(connection=connection)
