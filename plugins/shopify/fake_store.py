"""The Shopify fake's in-memory shop: seeded catalog, locations, inventory levels and orders.

Kept apart from GraphQL so the state can be seeded, inspected and changed by control
endpoints without going through the API. Everything is indexed (by numeric id, SKU, global
id) because a benchmark pages through 10,000 variants × several locations and each page must
stay fast; nothing here scans the catalog per request except a genuine search filter.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shelfsync.core.testing.catalog import seed_catalog

# Numeric id ranges per resource, so that an id of the wrong kind never resolves by accident.
LOCATION_BASE = 70_000_000
PRODUCT_BASE = 8_000_000_000
VARIANT_BASE = 40_000_000_000
ITEM_BASE = 45_000_000_000
ORDER_BASE = 5_000_000_000
LINE_ITEM_BASE = 13_000_000_000
GROUP_BASE = 30_000_000_000
SUBSCRIPTION_BASE = 1_000_000_000
FULFILLMENT_BASE = 6_000_000_000

SEEDED_AT = "2025-01-01T00:00:00Z"
# Names Shopify accepts in `quantities(names:)`; `on_hand` is derived from the others.
QUANTITY_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)
# States that count towards on_hand but are not available (Shopify's "unavailable").
UNAVAILABLE_NAMES = ("damaged", "quality_control", "reserved", "safety_stock")
MAX_QUANTITY = 1_000_000_000

_LOCATION_NAMES = ("Main Warehouse", "Downtown Store", "East Fulfillment Center", "Outlet")
_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)(\?.*)?$")


def now_iso() -> str:
    """The current UTC time as Shopify's GraphQL DateTime (second precision, `Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gid(kind: str, num: int) -> str:
    """A Shopify global id."""
    return f"gid://shopify/{kind}/{num}"


def parse_gid(value: str) -> tuple[str, int] | None:
    """`(kind, numeric id)` of a global id, or None when it is not one."""
    match = _GID.match(value or "")
    return (match.group(1), int(match.group(2))) if match else None


@dataclass(eq=False)
class Location:
    """A store location; `active` false means deactivated (hidden from `locations` by default)."""

    num: int
    name: str
    active: bool
    fulfills_online_orders: bool
    city: str


@dataclass(eq=False)
class Product:
    """A product and its variants (in position order)."""

    num: int
    title: str
    handle: str
    status: str = "ACTIVE"
    updated_at: str = SEEDED_AT
    variants: list[Variant] = field(default_factory=list)


@dataclass(eq=False)
class Level:
    """One inventory item's quantities at one location."""

    item: InventoryItem
    location: Location
    quantities: dict[str, int]
    updated_at: str = SEEDED_AT

    def quantity(self, name: str) -> int:
        """A named quantity; `on_hand` = available + committed + unavailable states."""
        if name == "on_hand":
            q = self.quantities
            return q["available"] + q["committed"] + sum(q[n] for n in UNAVAILABLE_NAMES)
        return self.quantities[name]


@dataclass(eq=False)
class InventoryItem:
    """The stock-keeping side of a variant; levels keyed by location number."""

    num: int
    tracked: bool
    variant: Variant | None = None
    levels: dict[int, Level] = field(default_factory=dict)
    updated_at: str = SEEDED_AT


@dataclass(eq=False)
class Variant:
    """A product variant (one SKU)."""

    num: int
    sku: str
    title: str
    price: str
    position: int
    policy: str
    product: Product
    item: InventoryItem
    updated_at: str = SEEDED_AT

    def inventory_quantity(self) -> int:
        """Shopify's `inventoryQuantity`: available summed over every location."""
        return sum(level.quantities["available"] for level in self.item.levels.values())


@dataclass(eq=False)
class LineItem:
    """One line of an order."""

    num: int
    title: str
    sku: str | None
    quantity: int
    price: str
    variant: Variant | None
    variant_title: str | None
    currency: str


@dataclass(eq=False)
class Fulfillment:
    """A shipment of an order, with its tracking (`(company, number, url)` tuples)."""

    num: int
    name: str
    tracking: list[tuple[str | None, str | None, str | None]]
    created_at: str
    status: str = "SUCCESS"
    #: What it shipped: (line item, quantity); empty on a shipment of the whole order.
    lines: list[tuple[LineItem, int]] = field(default_factory=list)


@dataclass(eq=False)
class Order:
    """An order created through `orderCreate`."""

    num: int
    number: int
    email: str | None
    note: str | None
    tags: list[str]
    custom_attributes: list[tuple[str, str]]
    currency: str
    financial_status: str
    source_identifier: str | None
    source_name: str | None
    test: bool
    shipping_address: dict[str, Any] | None
    line_items: list[LineItem]
    created_at: str
    processed_at: str
    # Stock this order committed, released (shipped) when the order is fulfilled.
    claims: list[tuple[Level, int]] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    updated_at: str = ""
    # `orderCreate(order: {name})` replaces the generated name; shipping lines add to the total.
    given_name: str | None = None
    shipping_cents: int = 0
    tax_cents: int = 0
    # After-sale (fake_aftersale.py): cancellation and refunds (`Refund`s).
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    refunds: list[Any] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Shopify's order name, `#1001` and up, unless the order was created with one."""
        return self.given_name or f"#{self.number}"

    def total(self) -> str:
        """Lines (price × quantity) plus shipping lines and tax lines, two decimals."""
        cents = sum(round(float(li.price) * 100) * li.quantity for li in self.line_items)
        cents += self.shipping_cents + self.tax_cents
        return f"{cents / 100:.2f}"


@dataclass(eq=False)
class Subscription:
    """A webhook subscription created through `webhookSubscriptionCreate`."""

    num: int
    topic: str
    callback_url: str
    format: str
    include_fields: list[str]
    filter: str | None
    created_at: str


@dataclass(eq=False)
class AdjustmentGroup:
    """The record of one successful inventory mutation."""

    num: int
    reason: str
    reference_document_uri: str | None
    created_at: str
    changes: list[dict[str, Any]]


class ShopStore:
    """All state of one fake shop, seeded deterministically."""

    def __init__(
        self,
        *,
        products: int,
        variants: int,
        locations: int,
        seed: int,
        shop: str,
        currency: str,
    ) -> None:
        if locations < 1:
            raise ValueError("locations must be >= 1")
        self.shop = shop
        self.currency = currency
        self.locations: list[Location] = []
        self.products: list[Product] = []
        self.variants: list[Variant] = []
        self.items: list[InventoryItem] = []
        self.orders: list[Order] = []
        self.subscriptions: list[Subscription] = []
        self.groups: dict[int, AdjustmentGroup] = {}
        self.by_sku: dict[str, Variant] = {}
        self.by_sku_lower: dict[str, Variant] = {}
        self._counter = itertools.count(1)
        self._seed_locations(locations)
        self._seed_catalog(seed, products, variants)

    # --- seeding -------------------------------------------------------------------------

    def _seed_locations(self, count: int) -> None:
        for i in range(count):
            name = _LOCATION_NAMES[i % len(_LOCATION_NAMES)]
            if i >= len(_LOCATION_NAMES):
                name = f"{name} {i // len(_LOCATION_NAMES) + 1}"
            self.locations.append(
                Location(
                    num=LOCATION_BASE + i + 1,
                    name=name,
                    # The last location is deactivated, as a shop that closed a store would be.
                    active=count == 1 or i < count - 1,
                    fulfills_online_orders=i % 2 == 0,
                    city=("Toronto", "Montreal", "Ottawa", "Calgary")[i % 4],
                )
            )
        self.location_by_num = {loc.num: loc for loc in self.locations}
        # Levels per location in inventory item order: `Location.inventoryLevels` pages these.
        self.levels_by_location: dict[int, list[Level]] = {loc.num: [] for loc in self.locations}

    def _seed_catalog(self, seed: int, products: int, variants: int) -> None:
        for sp in seed_catalog(seed, products, variants):
            product = Product(
                num=PRODUCT_BASE + sp.index + 1,
                title=sp.title,
                handle=re.sub(r"[^a-z0-9]+", "-", sp.title.lower()).strip("-"),
            )
            for sv in sp.variants:
                rng = sv.rng("shopify")
                k = len(self.variants)
                policy = "CONTINUE" if rng.random() < 0.10 else "DENY"
                item = InventoryItem(num=ITEM_BASE + k + 1, tracked=rng.random() >= 0.05)
                variant = Variant(
                    num=VARIANT_BASE + k + 1,
                    sku=sv.sku,
                    title=sv.option,
                    price=sv.price,
                    position=sv.variant_index + 1,
                    policy=policy,
                    product=product,
                    item=item,
                )
                item.variant = variant
                oversold = rng.randrange(len(self.locations)) if rng.random() < 0.03 else None
                for i, location in enumerate(self.locations):
                    available = rng.randint(0, 50)
                    if i == oversold:
                        available = -rng.randint(1, 5)
                    level = Level(item, location, _quantities(available))
                    item.levels[location.num] = level
                    self.levels_by_location[location.num].append(level)
                product.variants.append(variant)
                self.variants.append(variant)
                self.items.append(item)
                self.by_sku[variant.sku] = variant
                self.by_sku_lower[variant.sku.lower()] = variant
            self.products.append(product)

    # --- lookups -------------------------------------------------------------------------

    def product(self, num: int) -> Product | None:
        """The product with this numeric id."""
        return _at(self.products, num - PRODUCT_BASE)

    def variant(self, num: int) -> Variant | None:
        """The variant with this numeric id."""
        return _at(self.variants, num - VARIANT_BASE)

    def item(self, num: int) -> InventoryItem | None:
        """The inventory item with this numeric id."""
        return _at(self.items, num - ITEM_BASE)

    def location(self, num: int) -> Location | None:
        """The location with this numeric id."""
        return self.location_by_num.get(num)

    def order(self, num: int) -> Order | None:
        """The order with this numeric id."""
        return _at(self.orders, num - ORDER_BASE)

    def subscription(self, num: int) -> Subscription | None:
        """The webhook subscription with this numeric id."""
        return _at(self.subscriptions, num - SUBSCRIPTION_BASE)

    def level(self, item_num: int, location_num: int) -> Level | None:
        """The inventory level of an item at a location, when the item is stocked there."""
        item = self.item(item_num)
        return item.levels.get(location_num) if item else None

    def line_item(self, num: int) -> LineItem | None:
        """A line item of any order (a linear scan: orders are few)."""
        for order in self.orders:
            for li in order.line_items:
                if li.num == num:
                    return li
        return None

    def fulfillment(self, num: int) -> Fulfillment | None:
        """A fulfillment of any order (a linear scan: orders are few)."""
        return next((f for o in self.orders for f in o.fulfillments if f.num == num), None)

    def by_global_id(self, value: str) -> Any:
        """The object a global id names, or None."""
        parsed = parse_gid(value)
        if parsed is None:
            return None
        kind, num = parsed
        if kind == "InventoryLevel":
            match = re.search(r"inventory_item_id=(\d+)", value)
            return self.level(int(match.group(1)), num) if match else None
        finder = {
            "Product": self.product,
            "ProductVariant": self.variant,
            "InventoryItem": self.item,
            "Location": self.location,
            "Order": self.order,
            "LineItem": self.line_item,
            "WebhookSubscription": self.subscription,
            "Fulfillment": self.fulfillment,
            "InventoryAdjustmentGroup": self.groups.get,
        }.get(kind)
        return finder(num) if finder else None

    def next_id(self) -> int:
        """A fresh sequence number (order numbers, line items, groups, subscriptions)."""
        return next(self._counter)


def _quantities(available: int) -> dict[str, int]:
    values = dict.fromkeys(QUANTITY_NAMES, 0)
    del values["on_hand"]
    values["available"] = available
    return values


def _at(items: list[Any], index: int) -> Any:
    return items[index - 1] if 1 <= index <= len(items) else None
