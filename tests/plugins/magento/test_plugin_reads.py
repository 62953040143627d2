"""Magento reads: salable quantity with reservations, source statuses, disabled sources,
min_qty, legacy stock, every backorder / manage-stock / use-config combination, configurable
products, paging with the input limits on, and bad answers read as bad."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import BadResponse
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.server import serving
from shelfsync.core.types import ChannelOrder, Connection, OrderLine, StockLevel
from shelfsync.plugins.magento.fake import MagentoFake

from .recording import connection, served

RESERVED = "stock:1:reservations"


@pytest.fixture
def msi() -> Iterator[tuple[MagentoFake, str]]:
    fake = MagentoFake(products=6, variants=2, sources=3, seed=5)
    with served(fake) as (_, base):
        yield fake, base


def _control(base: str, name: str, body: dict[str, Any]) -> Any:
    answer = httpx.post(f"{base}/_fake/{name}", json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _levels(pm: ShelfsyncPluginManager, conn: Connection, sku: str) -> dict[str, int]:
    levels = pm.call(conn, "shelfsync_fetch_stock_levels", skus=[sku])
    return {level.location_id: level.available for level in levels if level.sku == sku}


def _salable(fake: MagentoFake, base: str, sku: str) -> float:
    return httpx.get(f"{base}/rest/V1/inventory/get-product-salable-quantity/{sku}/1",
                     headers={"Authorization": f"Bearer {fake.access_token}"}).json()


def _sellable_sku(fake: MagentoFake) -> str:
    for sku, product in sorted(fake.store.products.items()):
        backorders, manage, min_qty = fake.store.effective(product)
        if product.type_id == "simple" and manage and backorders == 0 and min_qty == 0 \
                and fake.store.salable_qty(sku, 1) >= 5:
            return sku
    raise AssertionError("the seed holds no plain sellable SKU")


def test_levels_add_up_to_the_salable_quantity_and_orders_reserve(
        plugin_manager: ShelfsyncPluginManager, msi: tuple[MagentoFake, str]) -> None:
    fake, base = msi
    conn = connection(fake, base)
    sku = _sellable_sku(fake)
    before = _levels(plugin_manager, conn, sku)
    assert sum(before.values()) == _salable(fake, base, sku)
    assert before[RESERVED] == 0
    order = ChannelOrder(id="880001", status="AWAITING_SHIPMENT",
                         lines=(OrderLine(line_id="1", sku_id="t", seller_sku=sku, quantity=3),))
    plugin_manager.call(conn, "shelfsync_create_order", order=order)
    after = _levels(plugin_manager, conn, sku)
    # The sources still hold the units; the stock's reservation takes them off what sells.
    assert {k: v for k, v in after.items() if k != RESERVED} == {
        k: v for k, v in before.items() if k != RESERVED}
    assert after[RESERVED] == -3
    assert sum(after.values()) == sum(before.values()) - 3 == _salable(fake, base, sku)


def test_an_out_of_stock_source_item_counts_nothing_whatever_its_quantity(
        plugin_manager: ShelfsyncPluginManager, msi: tuple[MagentoFake, str]) -> None:
    fake, base = msi
    conn = connection(fake, base)
    sku = _sellable_sku(fake)
    item = fake.store.source_items[(sku, "default")]
    assert item.quantity > 0
    _control(base, "product", {"sku": sku, "source_code": "default", "status": 0})
    levels = _levels(plugin_manager, conn, sku)
    assert levels["default"] == 0
    assert sum(levels.values()) == _salable(fake, base, sku)


def test_a_disabled_source_is_inactive_and_counts_nothing(
        plugin_manager: ShelfsyncPluginManager, msi: tuple[MagentoFake, str]) -> None:
    fake, base = msi
    conn = connection(fake, base)
    _control(base, "source", {"source_code": "warehouse-2", "enabled": False})
    locations = {loc.id: loc.active for loc in plugin_manager.call(
        conn, "shelfsync_fetch_locations")}
    assert locations == {"default": True, "warehouse-2": False, "warehouse-3": False}
    sku = _sellable_sku(fake)
    levels = _levels(plugin_manager, conn, sku)
    assert "warehouse-2" not in levels
    assert sum(levels.values()) == _salable(fake, base, sku)


def test_min_qty_lowers_the_salable_quantity(plugin_manager: ShelfsyncPluginManager,
                                             msi: tuple[MagentoFake, str]) -> None:
    fake, base = msi
    conn = connection(fake, base)
    sku = _sellable_sku(fake)
    before = sum(_levels(plugin_manager, conn, sku).values())
    _control(base, "config", {"min_qty": 2})
    assert sum(_levels(plugin_manager, conn, sku).values()) == before - 2
    _control(base, "product", {"sku": sku, "use_config_min_qty": False, "min_qty": 4})
    assert sum(_levels(plugin_manager, conn, sku).values()) == before - 4


def test_legacy_stock_is_qty_minus_min_qty_or_zero_when_out_of_stock(
        plugin_manager: ShelfsyncPluginManager) -> None:
    fake = MagentoFake(products=4, variants=1, legacy=True, seed=2)
    with served(fake) as (recorder, base):
        conn = connection(fake, base)
        locations = plugin_manager.call(conn, "shelfsync_fetch_locations")
        assert [(loc.id, loc.active) for loc in locations] == [("default", True)]
        sku = "SKU-2-00001-01"
        _control(base, "product", {"sku": sku, "is_in_stock": True, "use_config_min_qty": False,
                                   "min_qty": 3})
        qty = fake.store.products[sku].stock.qty
        assert _levels(plugin_manager, conn, sku) == {"default": int(qty) - 3}
        _control(base, "product", {"sku": sku, "is_in_stock": False})
        assert _levels(plugin_manager, conn, sku) == {"default": 0}
        assert not any("inventory/" in e.path for e in recorder.exchanges
                       if e.status == 200)


def test_every_backorder_manage_stock_and_use_config_combination(
        plugin_manager: ShelfsyncPluginManager) -> None:
    """continue selling = effective manage_stock off, or effective backorders 1 or 2;
    tracked = effective manage_stock; `use_config_*` resolved against the store config."""
    per_product = list(itertools.product([True, False], [0, 1, 2], [True, False],
                                         [True, False]))
    fake = MagentoFake(products=len(per_product), variants=1, seed=9)
    skus = sorted(s for s in fake.store.products if not s.startswith("CFG"))
    with served(fake) as (_, base):
        conn = connection(fake, base, page_size=5)
        for sku, (cfg_b, backorders, cfg_m, manage) in zip(skus, per_product, strict=True):
            _control(base, "product", {"sku": sku, "use_config_backorders": cfg_b,
                                       "backorders": backorders,
                                       "use_config_manage_stock": cfg_m,
                                       "manage_stock": manage})
        for config_b, config_m in itertools.product([0, 1, 2], [True, False]):
            _control(base, "config", {"backorders": config_b, "manage_stock": config_m})
            pages = plugin_manager.call(conn, "shelfsync_fetch_backorder_policies", skus=None)
            got = {p.sku: (p.continue_selling, p.tracked) for page in pages for p in page}
            scoped = plugin_manager.call(conn, "shelfsync_fetch_backorder_policies",
                                         skus=skus[:7])
            assert {p.sku: (p.continue_selling, p.tracked) for p in scoped} == {
                s: got[s] for s in skus[:7]}
            for sku, (cfg_b, backorders, cfg_m, manage) in zip(skus, per_product, strict=True):
                eff_b = config_b if cfg_b else backorders
                eff_m = config_m if cfg_m else manage
                assert got[sku] == (not eff_m or eff_b in (1, 2), eff_m), (
                    sku, cfg_b, backorders, cfg_m, manage, config_b, config_m)


def test_configurable_children_are_variants_of_their_parent(
        plugin_manager: ShelfsyncPluginManager) -> None:
    fake = MagentoFake(products=3, variants=3, seed=1, currency="EUR")
    with served(fake) as (_, base):
        items = [i for page in plugin_manager.call(connection(fake, base, page_size=2),
                                                   "shelfsync_fetch_catalog") for i in page]
    parent = fake.store.products["CFG-1-00001"]
    children = [i for i in items if i.product_id == str(parent.id)]
    assert sorted(i.sku for i in children) == ["SKU-1-00001-01", "SKU-1-00001-02",
                                               "SKU-1-00001-03"]
    assert all(i.currency == "EUR" and i.price for i in items)
    assert not any(i.sku.startswith("CFG") for i in items)
    assert {i.variant_id for i in children} == {str(c) for c in parent.children}


def test_paging_with_input_limits_reads_everything_in_pages_of_at_most_300(
        plugin_manager: ShelfsyncPluginManager) -> None:
    fake = MagentoFake(products=170, variants=2, sources=2, seed=4, input_limits=True)
    with served(fake) as (recorder, base):
        conn = connection(fake, base)
        levels: list[StockLevel] = [lv for page in plugin_manager.call(
            conn, "shelfsync_fetch_stock_levels", skus=None) for lv in page]
        catalog = [i for page in plugin_manager.call(conn, "shelfsync_fetch_catalog")
                   for i in page]
    assert len(catalog) == 340
    assert {lv.sku for lv in levels} == {i.sku for i in catalog}
    pages = [dict(e.query) for e in recorder.exchanges if e.path.endswith("/source-items")]
    assert {p["searchCriteria[pageSize]"] for p in pages} == {"300"}
    total = len(fake.store.source_items)
    assert len(pages) == -(-total // 300) > 1  # never a page past the end


class _Rewrite:
    """Serves the fake but rewrites the JSON answers of one path."""

    def __init__(self, fake: MagentoFake, path: str, change: Any) -> None:
        self.fake, self.path, self.change = fake, path, change

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        response = Response.from_app(self.fake, environ)
        if Request(environ).path.endswith(self.path) and response.status_code == 200:
            response.set_data(json.dumps(self.change(json.loads(response.get_data()))))
        return response(environ, start_response)


@pytest.mark.parametrize("change", [
    lambda a: {k: v for k, v in a.items() if k != "total_count"},
    lambda a: {**a, "items": None},
    lambda a: {**a, "items": [], "total_count": 50},
    lambda a: {**a, "items": [{**i, "quantity": "lots"} for i in a["items"]]},
    lambda a: {**a, "items": [{**i, "status": 7} for i in a["items"]]},
], ids=["no-total", "no-items", "empty-before-the-end", "quantity-not-a-number", "bad-status"])
def test_a_bad_source_items_answer_is_a_bad_response(
        plugin_manager: ShelfsyncPluginManager, change: Any) -> None:
    fake = MagentoFake(products=3, variants=1, seed=0)
    with serving(_Rewrite(fake, "/inventory/source-items", change)) as running:
        conn = connection(fake, running.base_url, retry_attempts=1)
        with pytest.raises(BadResponse):
            [lv for page in plugin_manager.call(conn, "shelfsync_fetch_stock_levels",
                                                skus=None) for lv in page]


def test_a_sku_holding_a_comma_is_read_with_eq_not_split_by_in() -> None:
    from shelfsync.plugins.magento.reads import sku_filters

    filters = list(sku_filters(["B", "A,1", "A", "B", *[f"S{n:03d}" for n in range(150)]]))
    assert filters[-1] == ("sku", "A,1", "eq")
    assert [f[2] for f in filters] == ["in", "in", "eq"]
    assert filters[0][1].split(",")[:2] == ["A", "B"]
    assert sum(len(f[1].split(",")) for f in filters[:-1]) == 152


def test_a_stock_id_that_does_not_exist_is_a_setting_to_fix(
        plugin_manager: ShelfsyncPluginManager, msi: tuple[MagentoFake, str]) -> None:
    from shelfsync.core.errors import BadRequest

    fake, base = msi
    with pytest.raises(BadRequest, match="no stock with id 7"):
        plugin_manager.call(connection(fake, base, stock_id=7), "shelfsync_fetch_locations")


def test_a_stray_source_item_of_a_configurable_product_is_skipped(
        plugin_manager: ShelfsyncPluginManager, msi: tuple[MagentoFake, str]) -> None:
    """Magento refuses a salable quantity for a type without source items (400): that SKU is
    left out of the read, the others are read."""
    fake, base = msi
    fake.store.add_source_item("CFG-5-00001", "default", 9.0, 1)
    levels = [lv for page in plugin_manager.call(connection(fake, base),
                                                 "shelfsync_fetch_stock_levels", skus=None)
              for lv in page]
    assert "CFG-5-00001" not in {lv.sku for lv in levels}
    assert {lv.sku for lv in levels} == {
        s for s, p in fake.store.products.items() if p.type_id == "simple"}


@pytest.mark.parametrize("change", [
    lambda a: {**a, "items": [{**i, "price": "cheap"} for i in a["items"]]},
    lambda a: {**a, "items": [{**i, "extension_attributes": {
        "configurable_product_links": ["x"]}} for i in a["items"]]},
    lambda a: {**a, "items": [{k: v for k, v in i.items() if k != "id"} for i in a["items"]]},
], ids=["price-not-a-number", "links-not-ids", "no-id"])
def test_a_bad_products_answer_is_a_bad_response(plugin_manager: ShelfsyncPluginManager,
                                                 change: Any) -> None:
    fake = MagentoFake(products=2, variants=2, seed=0)
    with serving(_Rewrite(fake, "/products", change)) as running:
        conn = connection(fake, running.base_url, retry_attempts=1)
        with pytest.raises(BadResponse):
            [i for page in plugin_manager.call(conn, "shelfsync_fetch_catalog") for i in page]
