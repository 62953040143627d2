"""Reads of a Magento store: locations (MSI sources), stock levels, backorder flags, catalog.

Stock with MSI: each SKU has one level per enabled source of the connection's stock (the
source item's quantity when it is in stock, `status` 1; 0 otherwise), plus one level at
`stock:{id}:reservations` holding the difference between the stock's *salable quantity*
(`get-product-salable-quantity`: in-stock quantities of enabled sources + reservations −
`min_qty`) and those source levels. Counting every location gives exactly the salable
quantity a merchant sees in the admin; a channel that picks sources counts their quantities
alone. Legacy stores (no MSI) have one `default` location whose level is the stock item's
`qty − min_qty`, or 0 when it is out of stock.

Backorder flags come from each product's stock item (`extension_attributes.stock_item` of
the products list), whose `backorders` and `manage_stock` Magento answers *effective* (the
`use_config_*` switches already applied): `backorders` 1 or 2, or `manage_stock` false,
means "continue selling".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from shelfsync.core.errors import BadRequest, BadResponse, NotFound
from shelfsync.core.types import BackorderPolicy, CatalogItem, Location, PassScope, StockLevel
from shelfsync.plugins.magento import settings
from shelfsync.plugins.magento.client import PLATFORM, MagentoClient, in_list, sku_path

LEGACY_LOCATION = "default"
RESERVATIONS = "stock:{stock_id}:reservations"
SELLABLE_TYPES = ("simple", "virtual")
#: SKUs per `in` filter: short enough for any URL, large enough to keep calls few.
SKU_CHUNK = 100
_SOURCES_TTL = 60.0


def _bad(what: str) -> BadResponse:
    return BadResponse(f"magento: {what}", platform=PLATFORM)


def chunks(values: Sequence[str], size: int = SKU_CHUNK) -> Iterator[list[str]]:
    """`values` in lists of at most `size`."""
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


def sku_filters(skus: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    """Filters reading `skus`: an `in` filter per chunk, and an `eq` filter for a SKU holding
    a comma (Magento splits an `in` value on commas, so it cannot go in a list)."""
    plain = sorted({s for s in skus if "," not in s})
    for part in chunks(plain):
        yield ("sku", in_list(part), "in")
    for sku in sorted({s for s in skus if "," in s}):
        yield ("sku", sku, "eq")


def units(value: Any, what: str) -> int:
    """A Magento quantity (a JSON number) as whole units, rounded down: never oversell."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"{what} is not a number: {value!r}")
    return math.floor(value + 1e-9)


# --- MSI or legacy ------------------------------------------------------------------------


def is_legacy(client: MagentoClient, scope: PassScope | None) -> bool:
    """Whether the store runs without MSI: its `inventory/sources` route does not exist."""
    key = ("magento", "legacy", client.store_code)
    if scope is not None and (known := scope.cache.get(key)) is not None:
        return bool(known)
    try:
        client.call("GET", "inventory/sources", params={"searchCriteria[pageSize]": 1})
        legacy = False
    except NotFound:
        legacy = True
    if scope is not None:
        scope.cache.put(key, legacy, _SOURCES_TTL)
    return legacy


def stock_sources(client: MagentoClient, stock_id: int, scope: PassScope | None
                  ) -> tuple[list[dict[str, Any]], list[str]]:
    """(every source, the codes linked to `stock_id`), kept a minute in the scope's cache."""
    key = ("magento", "sources", client.store_code, stock_id)
    if scope is not None and (kept := scope.cache.get(key)) is not None:
        return kept
    sources = [s for page in client.search_pages("inventory/sources") for s in page]
    for source in sources:
        if not isinstance(source.get("source_code"), str) or not isinstance(
                source.get("enabled"), bool):
            raise _bad("a source lacks its source_code or enabled flag")
    links = [link for page in client.search_pages(
        "inventory/stock-source-links", [[("stock_id", str(stock_id), "eq")]])
        for link in page]
    linked = [str(link.get("source_code")) for link in links]
    if not linked:
        stocks = next(client.search_pages("inventory/stocks",
                                          [[("stock_id", str(stock_id), "eq")]], page_size=1))
        if not stocks:  # a setting to fix, not an answer to retry
            raise BadRequest(f"magento: there is no stock with id {stock_id} (the stock_id "
                             "setting)", platform=PLATFORM, code="unknown_stock")
        raise _bad(f"stock {stock_id} has no sources linked")
    if scope is not None:
        scope.cache.put(key, (sources, linked), _SOURCES_TTL)
    return sources, linked


def read_locations(client: MagentoClient, scope: PassScope | None) -> list[Location]:
    """MSI sources (active when enabled and linked to the stock), or the legacy one."""
    if is_legacy(client, scope):
        return [Location(LEGACY_LOCATION, "Default Stock", True, True)]
    stock_id = settings.STOCK_ID.read(client.connection.settings)
    sources, linked = stock_sources(client, stock_id, scope)
    return [Location(s["source_code"], str(s.get("name") or s["source_code"]),
                     s["enabled"] and s["source_code"] in linked,
                     s["source_code"] == "default") for s in sources]


# --- stock levels -----------------------------------------------------------------------------


def _salable(client: MagentoClient, sku: str, stock_id: int) -> int | None:
    try:
        value = client.call("GET", f"inventory/get-product-salable-quantity/{sku_path(sku)}/"
                                   f"{stock_id}")
    except NotFound:
        return None  # a source item of a product deleted since: nothing to sell
    except BadRequest:
        # "Can't check requested quantity for products without Source Items support": a
        # stray source item of a product type that has none (its type changed since).
        return None
    return units(value, f"the salable quantity of {sku!r}")


def _msi_levels(client: MagentoClient, items: list[dict[str, Any]], enabled: set[str],
                stock_id: int) -> list[StockLevel]:
    """Levels of whole SKUs (every source item of each SKU is in `items`)."""
    by_sku: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if not isinstance(item.get("sku"), str) or not isinstance(item.get("source_code"), str):
            raise _bad("a source item lacks its sku or source_code")
        by_sku.setdefault(item["sku"], []).append(item)
    levels = []
    for sku, found in by_sku.items():
        salable = _salable(client, sku, stock_id)
        if salable is None:
            continue
        counted = 0
        for item in found:
            if item["source_code"] not in enabled:
                continue
            status = item.get("status")
            if status not in (0, 1):
                raise _bad(f"source item {sku!r} has status {status!r}")
            level = units(item.get("quantity"), f"the quantity of {sku!r}") if status else 0
            levels.append(StockLevel(sku, item["source_code"], level))
            counted += level
        levels.append(StockLevel(sku, RESERVATIONS.format(stock_id=stock_id), salable - counted))
    return levels


def _msi_context(client: MagentoClient, scope: PassScope | None) -> tuple[int, list[str],
                                                                           set[str]]:
    stock_id = settings.STOCK_ID.read(client.connection.settings)
    sources, linked = stock_sources(client, stock_id, scope)
    enabled = {s["source_code"] for s in sources if s["enabled"] and s["source_code"] in linked}
    return stock_id, linked, enabled


SOURCE_ITEM_ORDER = (("sku", "ASC"), ("source_code", "ASC"))


def stock_for(client: MagentoClient, skus: Sequence[str], scope: PassScope | None
              ) -> list[StockLevel]:
    """The given SKUs' levels."""
    if is_legacy(client, scope):
        return [level for wanted in sku_filters(skus) for level in
                _legacy_levels(_products(client, wanted))]
    stock_id, linked, enabled = _msi_context(client, scope)
    levels = []
    for wanted in sku_filters(skus):
        items = [i for page in client.search_pages(
            "inventory/source-items", [[wanted], [("source_code", in_list(linked), "in")]],
            SOURCE_ITEM_ORDER) for i in page]
        levels.extend(_msi_levels(client, items, enabled, stock_id))
    return levels


def stock_pages(client: MagentoClient, scope: PassScope | None) -> Iterator[list[StockLevel]]:
    """Every level, one list per page of source items (or of products, legacy). A SKU whose
    source items straddle two pages is held back until its last one was read."""
    if is_legacy(client, scope):
        for page in client.search_pages("products", [[("type_id", in_list(SELLABLE_TYPES),
                                                         "in")]], [("entity_id", "ASC")]):
            yield _legacy_levels(page)
        return
    stock_id, linked, enabled = _msi_context(client, scope)
    held: list[dict[str, Any]] = []
    for page in client.search_pages("inventory/source-items",
                                    [[("source_code", in_list(linked), "in")]],
                                    SOURCE_ITEM_ORDER):
        items = held + page
        last_sku = items[-1].get("sku") if items else None
        held = [i for i in items if i.get("sku") == last_sku]
        done = [i for i in items if i.get("sku") != last_sku]
        yield _msi_levels(client, done, enabled, stock_id)
    if held:
        yield _msi_levels(client, held, enabled, stock_id)


def _stock_item(product: dict[str, Any]) -> dict[str, Any]:
    extensions = product.get("extension_attributes")
    item = extensions.get("stock_item") if isinstance(extensions, dict) else None
    if not isinstance(item, dict):
        raise _bad(f"product {product.get('sku')!r} came without its stock item")
    return item


def _legacy_levels(products: list[dict[str, Any]]) -> list[StockLevel]:
    levels = []
    for product in products:
        if product.get("type_id") not in SELLABLE_TYPES:
            continue
        item = _stock_item(product)
        sku = str(product.get("sku") or "")
        in_stock = item.get("is_in_stock")
        if not sku or not isinstance(in_stock, bool):
            raise _bad(f"stock item of {sku!r} lacks is_in_stock")
        available = 0
        if in_stock:
            qty, min_qty = item.get("qty"), item.get("min_qty") or 0
            if isinstance(qty, bool) or not isinstance(qty, int | float) or isinstance(
                    min_qty, bool) or not isinstance(min_qty, int | float):
                raise _bad(f"stock item of {sku!r} has qty {qty!r}, min_qty {min_qty!r}")
            available = units(qty - min_qty, f"the quantity of {sku!r}")
        levels.append(StockLevel(sku, LEGACY_LOCATION, available))
    return levels


# --- products: flags and catalog ----------------------------------------------------------------


def _products(client: MagentoClient, *filters: tuple[str, str, str]) -> list[dict[str, Any]]:
    groups = [[f] for f in filters]
    return [p for page in client.search_pages("products", groups, [("entity_id", "ASC")])
            for p in page]


def policy(product: dict[str, Any]) -> BackorderPolicy:
    """A product's continue-selling flag from its effective stock item settings."""
    item = _stock_item(product)
    backorders, manage = item.get("backorders"), item.get("manage_stock")
    if backorders not in (0, 1, 2) or not isinstance(manage, bool):
        raise _bad(f"stock item of {product.get('sku')!r} has backorders {backorders!r}, "
                   f"manage_stock {manage!r}")
    return BackorderPolicy(str(product["sku"]), continue_selling=not manage or backorders != 0,
                           tracked=manage)


def policies_for(client: MagentoClient, skus: Sequence[str]) -> list[BackorderPolicy]:
    """The given SKUs' flags."""
    return [policy(p) for wanted in sku_filters(skus) for p in _products(client, wanted)
            if p.get("type_id") in SELLABLE_TYPES]


def policy_pages(client: MagentoClient) -> Iterator[list[BackorderPolicy]]:
    """Every sellable product's flags, page by page."""
    for page in client.search_pages("products", [[("type_id", in_list(SELLABLE_TYPES), "in")]],
                                    [("entity_id", "ASC")]):
        yield [policy(p) for p in page if p.get("sku")]


def store_currency(client: MagentoClient) -> tuple[str, dict[str, Any]]:
    """(base currency, store config) of the connection's store view."""
    configs = client.call("GET", "store/storeConfigs")
    if not isinstance(configs, list):
        raise _bad("store/storeConfigs is not a list")
    config = next((c for c in configs if isinstance(c, dict)
                   and c.get("code") == client.store_code), None)
    if config is None:
        raise NotFound(f"magento: no store view with code {client.store_code!r}",
                       platform=PLATFORM)
    currency = config.get("base_currency_code")
    if not isinstance(currency, str) or len(currency) != 3:
        raise _bad("the store config has no base_currency_code")
    return currency, config


def catalog_pages(client: MagentoClient) -> Iterator[list[CatalogItem]]:
    """Simple and virtual products, each under its configurable parent when it has one."""
    currency, _ = store_currency(client)
    parents: dict[int, int] = {}
    for page in client.search_pages("products", [[("type_id", "configurable", "eq")]],
                                    [("entity_id", "ASC")]):
        for product in page:
            extensions = product.get("extension_attributes") or {}
            links = extensions.get("configurable_product_links") or [] if isinstance(
                extensions, dict) else None
            if not isinstance(product.get("id"), int) or not isinstance(links, list) or any(
                    isinstance(c, bool) or not isinstance(c, int) for c in links):
                raise _bad(f"configurable {product.get('sku')!r} has unreadable links")
            for child in links:
                parents[child] = product["id"]
    for page in client.search_pages("products", [[("type_id", in_list(SELLABLE_TYPES), "in")]],
                                    [("entity_id", "ASC")]):
        items = []
        for product in page:
            if not isinstance(product.get("id"), int) or not product.get("sku"):
                raise _bad("a product lacks its id or sku")
            own = product["id"]
            price = product.get("price")
            if price is not None and (isinstance(price, bool) or not isinstance(
                    price, int | float) or not math.isfinite(price)):
                raise _bad(f"product {product['sku']!r} has price {price!r:.40}")
            items.append(CatalogItem(
                product_id=str(parents.get(own, own)), variant_id=str(own),
                sku=str(product["sku"]), title=str(product.get("name") or product["sku"]),
                price=None if price is None else f"{price:.2f}", currency=currency))
        yield items
