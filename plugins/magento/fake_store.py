"""What the Magento fake holds: products, MSI sources and stocks, source items, reservations,
legacy stock items, store configuration, guest carts and orders.

Seeded from `shelfsync.core.testing.catalog.seed_catalog`, so a Magento fake and a TikTok fake
started with the same `seed/products/variants` hold the same SKUs. A seeded product with one
variant is a simple product; with several it is a configurable product (its own SKU,
`CFG-…`, is not a seed SKU) whose children are the variants. Everything else (quantities,
statuses, backorder settings) comes from each variant's own random generator.

Salable quantity follows Magento's MSI (`GetProductSalableQty`): over the stock's enabled
sources, the quantities of in-stock source items (`status` 1), plus the stock's reservations
for the SKU (negative while an order is open), minus the effective `min_qty`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shelfsync.core.testing.catalog import seed_catalog

#: Store configuration defaults (Stores > Configuration > Catalog > Inventory).
CONFIG_BACKORDERS = 0
CONFIG_MANAGE_STOCK = True
CONFIG_MIN_QTY = 0.0
DEFAULT_STOCK_ID = 1
MAX_QUANTITY = 99_999_999


def magento_time(moment: datetime) -> str:
    """Magento's timestamp format: UTC, `YYYY-MM-DD HH:MM:SS`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class StockItem:
    """A product's legacy stock item, with its `use_config_*` switches kept as stored."""

    qty: float
    is_in_stock: bool
    use_config_backorders: bool = True
    backorders: int = 0
    use_config_manage_stock: bool = True
    manage_stock: bool = True
    use_config_min_qty: bool = True
    min_qty: float = 0.0

    def effective(self, config: dict[str, Any]) -> tuple[int, bool, float]:
        """(backorders, manage_stock, min_qty) with the store configuration applied, as
        `StockItem::getBackorders()` and friends answer them."""
        backorders = config["backorders"] if self.use_config_backorders else self.backorders
        manage = config["manage_stock"] if self.use_config_manage_stock else self.manage_stock
        min_qty = config["min_qty"] if self.use_config_min_qty else self.min_qty
        return int(backorders), bool(manage), float(min_qty)


@dataclass
class Product:
    """A catalog product (simple or configurable)."""

    id: int
    sku: str
    name: str
    type_id: str
    price: float
    created_at: str
    updated_at: str
    stock: StockItem
    children: list[int] = field(default_factory=list)
    visibility: int = 4


@dataclass
class Source:
    """An MSI source (a warehouse or shop)."""

    code: str
    name: str
    enabled: bool


@dataclass
class SourceItem:
    """A SKU's quantity at one source."""

    id: int
    sku: str
    source_code: str
    quantity: float
    status: int


@dataclass
class Order:
    """A placed order, kept as the JSON entity Magento answers (plus its reservations)."""

    entity: dict[str, Any]

    @property
    def id(self) -> int:
        """The order's entity id."""
        return int(self.entity["entity_id"])


@dataclass
class Cart:
    """A guest cart (quote) behind its masked id."""

    quote_id: int
    masked_id: str
    items: list[dict[str, Any]] = field(default_factory=list)
    shipping: dict[str, Any] | None = None
    active: bool = True


class MagentoStore:
    """The state behind the fake's API; callers hold `lock` (the fake's state lock)."""

    def __init__(self, *, products: int, variants: int, sources: int, seed: int, legacy: bool,
                 clock: Callable[[], datetime], currency: str = "USD") -> None:
        if sources < 1:
            raise ValueError("sources must be at least 1")
        self.legacy = legacy
        self.clock = clock
        self.currency = currency
        self.config: dict[str, Any] = {"backorders": CONFIG_BACKORDERS,
                                       "manage_stock": CONFIG_MANAGE_STOCK,
                                       "min_qty": CONFIG_MIN_QTY}
        self.products: dict[str, Product] = {}
        self.by_id: dict[int, Product] = {}
        self.sources: list[Source] = []
        #: stock id -> (name, source codes linked to it, in priority order)
        self.stocks: dict[int, tuple[str, list[str]]] = {}
        self.source_items: dict[tuple[str, str], SourceItem] = {}
        #: (sku, stock id) -> sum of reservation quantities
        self.reservations: dict[tuple[str, int], float] = {}
        self.orders: list[Order] = []
        #: Shipments as Magento answers them (`sales-data-shipment-interface`).
        self.shipments: list[dict[str, Any]] = []
        self.carts: dict[str, Cart] = {}
        self._ids = 0
        self._seed(products, variants, sources, seed)

    # --- seeding ------------------------------------------------------------------------

    def next_id(self) -> int:
        """A new id, unique across every entity of the fake."""
        self._ids += 1
        return self._ids

    def _seed(self, products: int, variants: int, sources: int, seed: int) -> None:
        # Seeded products were saved one second apart before the fake started (the newest
        # a second ago), as a real catalog's were: not all in the second a poll starts from.
        start = self.clock() - timedelta(seconds=products * (variants + 1) + 1)
        if not self.legacy:
            self.sources = [Source("default", "Default Source", True)]
            self.sources += [Source(f"warehouse-{n}", f"Warehouse {n}", True)
                             for n in range(2, sources + 1)]
            if sources > 1:  # like the other fakes: the last location is switched off
                self.sources[-1].enabled = False
            self.stocks[DEFAULT_STOCK_ID] = ("Default Stock", [s.code for s in self.sources])
        for product in seed_catalog(seed, products, variants):
            parent: Product | None = None
            if len(product.variants) > 1:
                parent = self._add(f"CFG-{seed}-{product.index + 1:05d}", product.title,
                                   "configurable", float(product.variants[0].price), start,
                                   StockItem(0.0, True))
            for variant in product.variants:
                rng = variant.rng("magento")
                stock = StockItem(qty=float(rng.randrange(0, 60)), is_in_stock=True)
                stock.is_in_stock = stock.qty > 0 and rng.random() > 0.1
                if rng.random() < 0.3:
                    stock.use_config_backorders, stock.backorders = False, rng.choice([0, 1, 2])
                if rng.random() < 0.15:
                    stock.use_config_manage_stock, stock.manage_stock = False, rng.random() < 0.5
                if rng.random() < 0.2:
                    stock.use_config_min_qty, stock.min_qty = False, float(rng.choice([0, 2, 5]))
                name = (f"{product.title} {variant.option}" if parent else product.title)
                child = self._add(variant.sku, name, "simple", float(variant.price), start,
                                  stock)
                if parent is not None:
                    child.visibility = 1  # "Not Visible Individually", as children are
                    parent.children.append(child.id)
                for source in self.sources:
                    if rng.random() < 0.15 and source.code != "default":
                        continue  # not every SKU is stocked everywhere
                    quantity = float(rng.randrange(0, 40))
                    status = 1 if quantity > 0 and rng.random() > 0.1 else 0
                    self.add_source_item(variant.sku, source.code, quantity, status)

    def _add(self, sku: str, name: str, type_id: str, price: float, start: datetime,
             stock: StockItem) -> Product:
        saved = magento_time(start + timedelta(seconds=len(self.products)))
        product = Product(self.next_id(), sku, name, type_id, price, saved, saved, stock)
        self.products[sku] = product
        self.by_id[product.id] = product
        return product

    def add_source_item(self, sku: str, source_code: str, quantity: float, status: int
                        ) -> SourceItem:
        """Assign `sku` to a source (or update its assignment)."""
        key = (sku, source_code)
        item = self.source_items.get(key)
        if item is None:
            item = SourceItem(self.next_id(), sku, source_code, quantity, status)
            self.source_items[key] = item
        else:
            item.quantity, item.status = quantity, status
        return item

    # --- reads ----------------------------------------------------------------------------

    def source(self, code: str) -> Source | None:
        """The source with this code."""
        return next((s for s in self.sources if s.code == code), None)

    def effective(self, product: Product) -> tuple[int, bool, float]:
        """The product's effective (backorders, manage_stock, min_qty)."""
        return product.stock.effective(self.config)

    def salable_qty(self, sku: str, stock_id: int) -> float:
        """MSI salable quantity of `sku` on `stock_id` (see the module docstring)."""
        product = self.products[sku]
        _, _, min_qty = self.effective(product)
        linked = self.stocks[stock_id][1]
        physical = sum(
            item.quantity for code in linked
            if (source := self.source(code)) is not None and source.enabled
            and (item := self.source_items.get((sku, code))) is not None and item.status == 1)
        return physical + self.reservations.get((sku, stock_id), 0.0) - min_qty

    def legacy_available(self, product: Product) -> float:
        """Legacy (no MSI) available quantity: qty − min_qty, or 0 when out of stock."""
        if not product.stock.is_in_stock:
            return 0.0
        return product.stock.qty - self.effective(product)[2]

    def can_sell(self, product: Product, qty: float) -> bool:
        """Whether `qty` more units may be ordered (stock, backorders, manage stock)."""
        backorders, manage, _ = self.effective(product)
        if not manage or backorders in (1, 2):
            return True
        if self.legacy:
            return self.legacy_available(product) >= qty
        return self.salable_qty(product.sku, DEFAULT_STOCK_ID) >= qty

    # --- writes ---------------------------------------------------------------------------

    def touch(self, product: Product) -> None:
        """Mark a product changed now."""
        product.updated_at = magento_time(self.clock())

    def move_stock(self, sku: str, qty: float) -> None:
        """Order placement (qty < 0) or its compensation (qty > 0): a reservation on the
        default stock with MSI, the stock item's own quantity without."""
        product = self.products[sku]
        if self.legacy:
            product.stock.qty += qty
            self.touch(product)
            return
        key = (sku, DEFAULT_STOCK_ID)
        self.reservations[key] = self.reservations.get(key, 0.0) + qty


def whole(quantity: float) -> int:
    """A quantity as the whole units a channel can sell (rounded down)."""
    return math.floor(quantity + 1e-9)
