"""What the WooCommerce fake holds: products, variations, orders, webhooks and settings.

Modelled on WooCommerce's own objects (WC_Product, WC_Product_Variation, WC_Order,
WC_Webhook), so the JSON the fake serves (`fake_json`) follows from the same rules WooCommerce
applies when it prepares a response:

- A variation whose own `manage_stock` is off while its parent's is on reads as
  `manage_stock: "parent"`, and then takes the parent's `stock_quantity` and `backorders`
  (WC_Product_Variation::get_manage_stock / get_stock_quantity / get_backorders, view context).
- `stock_status` follows stock when stock is managed: above 0 `instock`; at or below 0
  `onbackorder` when backorders are allowed, else `outofstock`.
- Products, variations and orders share one id sequence (WordPress posts).
- Dates have whole seconds and the site's timezone is UTC, so `date_x` equals `date_x_gmt`.

The catalog is seeded from `core/testing/catalog.seed_catalog`, so the SKUs are the Shopify
and TikTok fakes' for the same seed, products and variants: a product of one variant is a
simple product, a product of several a variable product whose variations carry the SKUs (the
parent has none). How stock is managed (per variation, by the parent, or not at all) and the
backorder setting are drawn from each seed variant's own random generator, so they are
deterministic too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shelfsync.core.testing.catalog import SeedProduct, seed_catalog

BACKORDERS = ("no", "notify", "yes")
#: WooCommerce keeps stock in a signed BIGINT; the fake refuses what no shop would hold.
MAX_QUANTITY = 10_000_000
FIRST_ID = 100

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time in UTC, to the second (WordPress stores whole seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


def wp_date(value: datetime | None) -> str | None:
    """A date as the REST API prints it: `YYYY-MM-DDTHH:MM:SS`, no offset."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Product:
    """A simple or variable product, or a variation (`type == "variation"`)."""

    id: int
    type: str
    name: str
    sku: str
    regular_price: str
    created: datetime
    modified: datetime
    manage_stock: bool = False
    stock_quantity: int | None = None
    backorders: str = "no"
    stock_status: str = "instock"
    parent_id: int = 0
    variations: list[int] = field(default_factory=list)
    option: str = ""
    status: str = "publish"
    meta: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LineItem:
    """One line of an order; `stock_owner` is the product whose stock it moved (0: none)."""

    id: int
    product_id: int
    variation_id: int
    name: str
    sku: str
    quantity: int
    subtotal: str
    total: str
    price: float
    stock_owner: int = 0
    meta: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Order:
    """An order; `stock_reduced` says its lines took stock (and a cancellation returns it)."""

    id: int
    status: str
    currency: str
    created: datetime
    modified: datetime
    lines: list[LineItem]
    meta: list[dict[str, Any]] = field(default_factory=list)
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    shipping_lines: list[dict[str, Any]] = field(default_factory=list)
    fee_lines: list[dict[str, Any]] = field(default_factory=list)
    customer_note: str = ""
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    date_paid: datetime | None = None
    created_via: str = "rest-api"
    stock_reduced: bool = False
    notes: list[str] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    order_key: str = ""


@dataclass
class Webhook:
    """A webhook made through the API (or the admin)."""

    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    created: datetime
    modified: datetime


class WooStore:
    """The shop's data, guarded by the fake's lock (the caller holds it)."""

    def __init__(self, *, products: int, variants: int, seed: int, currency: str,
                 clock: Clock = utc_now) -> None:
        self.clock = clock
        self.currency = currency
        self._next = FIRST_ID
        self.products: dict[int, Product] = {}
        self.orders: dict[int, Order] = {}
        self.webhooks: dict[int, Webhook] = {}
        self._next_webhook = 1
        self._next_meta = 1
        for seeded in seed_catalog(seed, products, variants):
            self._seed(seeded)

    # --- ids and time -------------------------------------------------------------------

    def next_id(self) -> int:
        """The next post id (products, variations and orders share them)."""
        self._next += 1
        return self._next

    def next_webhook_id(self) -> int:
        """Webhooks have their own table, hence their own ids."""
        self._next_webhook += 1
        return self._next_webhook - 1

    def next_meta_id(self) -> int:
        """Meta rows have their own ids too."""
        self._next_meta += 1
        return self._next_meta - 1

    def now(self) -> datetime:
        """The shop's clock, to the second."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    # --- seeding ------------------------------------------------------------------------

    def _seed(self, seeded: SeedProduct) -> None:
        now = self.now()
        first = seeded.variants[0]
        rng = first.rng("woocommerce")
        if len(seeded.variants) == 1:
            product = Product(self.next_id(), "simple", seeded.title, first.sku, first.price,
                              now, now)
            _draw_stock(product, rng.random() < 0.9, rng)
            self.products[product.id] = product
            return
        mode = rng.choice(("variation", "variation", "variation", "parent", "parent", "none"))
        parent = Product(self.next_id(), "variable", seeded.title, "", "", now, now)
        _draw_stock(parent, mode == "parent", rng)
        self.products[parent.id] = parent
        for seed_variant in seeded.variants:
            own = seed_variant.rng("woocommerce")
            variation = Product(self.next_id(), "variation",
                                f"{seeded.title} - {seed_variant.option}", seed_variant.sku,
                                seed_variant.price, now, now, parent_id=parent.id,
                                option=seed_variant.option)
            _draw_stock(variation, mode == "variation" and own.random() < 0.9, own)
            parent.variations.append(variation.id)
            self.products[variation.id] = variation

    # --- reading as WooCommerce does ------------------------------------------------------

    def parent_of(self, product: Product) -> Product | None:
        """A variation's parent product (None for a product)."""
        return self.products.get(product.parent_id) if product.parent_id else None

    def manage_stock(self, product: Product) -> bool | str:
        """`manage_stock` as the API shows it: True, False, or "parent" for a variation whose
        parent manages its stock."""
        if product.manage_stock:
            return True
        parent = self.parent_of(product)
        if product.type == "variation" and parent is not None and parent.manage_stock:
            return "parent"
        return False

    def stock_owner(self, product: Product) -> Product | None:
        """The product whose stock this one sells from (itself, its parent), or None."""
        managed = self.manage_stock(product)
        if managed == "parent":
            return self.parent_of(product)
        return product if managed else None

    def stock_quantity(self, product: Product) -> int | None:
        """The quantity the API shows (the parent's for a parent-managed variation)."""
        owner = self.stock_owner(product)
        return None if owner is None else owner.stock_quantity

    def backorders(self, product: Product) -> str:
        """The backorder setting the API shows (the parent's for a parent-managed one)."""
        owner = self.stock_owner(product)
        return owner.backorders if owner is not None else product.backorders

    def stock_status(self, product: Product) -> str:
        """`instock`, `outofstock` or `onbackorder`, from stock when it is managed."""
        owner = self.stock_owner(product)
        if owner is None:
            return product.stock_status
        if (owner.stock_quantity or 0) > 0:
            return "instock"
        return "onbackorder" if owner.backorders != "no" else "outofstock"

    def by_sku(self, sku: str) -> Product | None:
        """The product or variation with this SKU (SKUs are unique in WooCommerce)."""
        return next((p for p in self.products.values() if sku and p.sku == sku), None)

    def sellable(self) -> list[Product]:
        """Simple products and variations: what carries a SKU and stock."""
        return [p for p in self.products.values() if p.type in ("simple", "variation")]

    # --- changes -------------------------------------------------------------------------

    def move_stock(self, product: Product, delta: int) -> Product | None:
        """Add `delta` to the stock this product sells from (as wc_update_product_stock does:
        the owner is saved, so its modification date moves). Returns the owner, or None
        when the stock is not managed."""
        owner = self.stock_owner(product)
        if owner is None:
            return None
        new = (owner.stock_quantity or 0) + delta
        if abs(new) > MAX_QUANTITY:
            raise ValueError(f"stock must stay within ±{MAX_QUANTITY}")
        owner.stock_quantity = new
        owner.modified = self.now()
        return owner

    def touch(self, product: Product) -> None:
        """Record a save of `product` (its modification date moves)."""
        product.modified = self.now()


def _draw_stock(product: Product, managed: bool, rng: Any) -> None:
    product.manage_stock = managed
    product.backorders = rng.choice(("no",) * 8 + ("notify", "yes")) if managed else "no"
    product.stock_quantity = rng.randrange(0, 60) if managed else None
    if not managed:
        product.stock_status = rng.choice(("instock", "instock", "instock", "outofstock"))
