"""Stock, flags and catalog read from the fake: variable products, every manage-stock and
backorder combination, SKU subsets, pages, and bad answers."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product as combinations
from typing import Any

import pytest

from shelfsync.core.errors import BadResponse, ConfigurationError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import BackorderPolicy, Connection, PassScope, StockLevel
from shelfsync.plugins.woocommerce import fake_json
from shelfsync.plugins.woocommerce.fake_store import Product

SKU_P = "SKU-0-00001-01"


def _flatten(answer: Any) -> list[Any]:
    return answer if isinstance(answer, list) else [i for page in answer for i in page]


def _variable(woo: RunningFake) -> tuple[Product, list[Product]]:
    store = woo.fake.store
    parent = next(p for p in store.products.values() if p.type == "variable")
    return parent, [store.products[v] for v in parent.variations]


def _set(item: Product, manage: bool, backorders: str, quantity: int | None,
         status: str = "instock") -> None:
    item.manage_stock, item.backorders = manage, backorders
    item.stock_quantity = quantity if manage else None
    item.stock_status = status


def _read(pm: ShelfsyncPluginManager, conn: Connection, skus: list[str] | None,
          ) -> tuple[dict[str, int], dict[str, tuple[bool, bool]]]:
    levels = _flatten(pm.call(conn, "shelfsync_fetch_stock_levels", skus=skus, scope=None))
    flags = _flatten(pm.call(conn, "shelfsync_fetch_backorder_policies", skus=skus, scope=None))
    assert all(isinstance(x, StockLevel) and x.location_id == "default" for x in levels)
    assert all(isinstance(x, BackorderPolicy) for x in flags)
    return ({x.sku: x.available for x in levels},
            {x.sku: (x.continue_selling, x.tracked) for x in flags})


# parent manages?, variation manages?, parent backorders, variation backorders, stock status
CASES = list(combinations((True, False), (True, False), ("no", "notify", "yes"),
                          ("no", "notify", "yes"), ("instock", "outofstock")))


@pytest.mark.parametrize(("parent_manages", "own", "parent_bo", "own_bo", "status"), CASES)
def test_every_manage_stock_and_backorder_combination(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, parent_manages: bool,
        own: bool, parent_bo: str, own_bo: str, status: str) -> None:
    parent, (variation, *_) = _variable(woo)
    _set(parent, parent_manages, parent_bo, 40)
    _set(variation, own, own_bo, 7, status)
    levels, flags = _read(plugin_manager, woo.connection, [variation.sku])
    if own:  # its own stock and setting win
        assert levels == {variation.sku: 7}
        assert flags == {variation.sku: (own_bo != "no", True)}
    elif parent_manages:  # manage_stock "parent": the parent's quantity and backorders
        assert levels == {variation.sku: 40}
        assert flags == {variation.sku: (parent_bo != "no", True)}
    else:  # not tracked: sells on unless marked out of stock
        assert levels == {}
        assert flags == {variation.sku: (status != "outofstock", False)}
    whole_levels, whole_flags = _read(plugin_manager, woo.connection, None)
    assert whole_levels.get(variation.sku) == levels.get(variation.sku)
    assert whole_flags[variation.sku] == flags[variation.sku]


@pytest.mark.parametrize(("manage", "backorders", "quantity", "status", "expected"), [
    (True, "no", 5, "instock", ({SKU_P: 5}, (False, True))),
    (True, "notify", 0, "instock", ({SKU_P: 0}, (True, True))),
    (True, "yes", -3, "instock", ({SKU_P: -3}, (True, True))),
    (False, "no", None, "instock", ({}, (True, False))),
    (False, "no", None, "onbackorder", ({}, (True, False))),
    (False, "no", None, "outofstock", ({}, (False, False))),
])
def test_simple_products(run_fake: Callable[..., RunningFake],
                         plugin_manager: ShelfsyncPluginManager, manage: bool, backorders: str,
                         quantity: int | None, status: str,
                         expected: tuple[dict[str, int], tuple[bool, bool]]) -> None:
    woo = run_fake("woocommerce", products=3, variants=1)
    item = woo.fake.store.by_sku(SKU_P)
    assert item.type == "simple"
    _set(item, manage, backorders, quantity, status)
    levels, flags = _read(plugin_manager, woo.connection, [SKU_P])
    assert (levels, flags[SKU_P]) == expected


def test_managed_without_quantity_reads_as_zero(woo: RunningFake,
                                                plugin_manager: ShelfsyncPluginManager) -> None:
    _, (variation, *_) = _variable(woo)
    _set(variation, True, "no", None)
    levels, _ = _read(plugin_manager, woo.connection, [variation.sku])
    assert levels == {variation.sku: 0}


def test_catalog_names_the_stock_owner_and_store_currency(
        run_fake: Callable[..., RunningFake], plugin_manager: ShelfsyncPluginManager) -> None:
    woo = run_fake("woocommerce", products=4, variants=2, currency="EUR")
    parent, variations = _variable(woo)
    parent.manage_stock, variations[0].manage_stock = True, False
    variations[1].manage_stock = True
    items = {i.sku: i for i in _flatten(plugin_manager.call(woo.connection,
                                                             "shelfsync_fetch_catalog"))}
    first, second = items[variations[0].sku], items[variations[1].sku]
    assert first.product_id == second.product_id == str(parent.id)
    assert first.inventory_item_id == str(parent.id)  # parent-managed
    assert second.inventory_item_id == str(variations[1].id)
    assert first.currency == "EUR" and first.price == variations[0].regular_price
    assert isinstance(first.price, str)


def test_whole_reads_come_in_pages(woo: RunningFake,
                                   plugin_manager: ShelfsyncPluginManager) -> None:
    conn = woo.with_settings(page_size=2)
    pages = list(plugin_manager.call(conn, "shelfsync_fetch_catalog"))
    assert len(pages) == 3  # 5 products, 2 a page, each with its variations
    assert sum(len(page) for page in pages) == 15
    queries = [dict(x["query"]) for x in woo.fake.exchanges if x["path"].endswith("/products")]
    assert {q["per_page"] for q in queries} == {"2"}
    assert [q["page"] for q in queries] == ["1", "2", "3"]


def test_stock_read_lends_flags_to_the_pass(woo: RunningFake,
                                            plugin_manager: ShelfsyncPluginManager) -> None:
    _, variations = _variable(woo)
    skus = [v.sku for v in variations] + ["NO-SUCH-SKU"]
    scope = PassScope()
    plugin_manager.call(woo.connection, "shelfsync_fetch_stock_levels", skus=skus, scope=scope)
    woo.reset_requests()
    flags = plugin_manager.call(woo.connection, "shelfsync_fetch_backorder_policies",
                                skus=skus, scope=scope)
    assert woo.request_count() == 0
    assert sorted(f.sku for f in flags) == sorted(v.sku for v in variations)


@pytest.mark.parametrize(("field", "value"), [
    ("backorders", "sometimes"), ("stock_quantity", "12"), ("manage_stock", "yes")])
def test_a_malformed_value_is_a_bad_answer(woo: RunningFake,
                                           plugin_manager: ShelfsyncPluginManager,
                                           monkeypatch: pytest.MonkeyPatch,
                                           field: str, value: Any) -> None:
    _, (variation, *_) = _variable(woo)
    shown = fake_json._stock_fields
    # The site answers a value of the wrong type (a plugin rewriting the REST answer, say).
    monkeypatch.setattr(fake_json, "_stock_fields",
                        lambda store, item: {**shown(store, item), field: value})
    with pytest.raises(BadResponse):
        plugin_manager.call(woo.connection, "shelfsync_fetch_stock_levels",
                            skus=[variation.sku], scope=None)


def test_plain_http_to_a_public_host_is_refused(plugin_manager: ShelfsyncPluginManager) -> None:
    conn = Connection(platform="woocommerce", base_url="http://shop.example.com",
                      credentials={"consumer_key": "ck_x", "consumer_secret": "cs_secret",
                                   "webhook_secret": "w"})
    with pytest.raises(ConfigurationError) as caught:
        plugin_manager.call(conn, "shelfsync_check_connection")
    assert "https://" in str(caught.value) and "cs_secret" not in str(caught.value)


def test_a_sku_with_a_comma_is_not_asked_for(woo: RunningFake,
                                             plugin_manager: ShelfsyncPluginManager,
                                             caplog: pytest.LogCaptureFixture) -> None:
    _, (variation, *_) = _variable(woo)
    variation.manage_stock, variation.stock_quantity = True, 4
    levels = plugin_manager.call(woo.connection, "shelfsync_fetch_stock_levels",
                                 skus=[variation.sku, "A,B"], scope=None)
    assert [(x.sku, x.available) for x in levels] == [(variation.sku, 4)]
    asked = [dict(x["query"]).get("sku") for x in woo.fake.exchanges]
    assert asked == [variation.sku] and "'A,B'" in caplog.text
