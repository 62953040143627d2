"""State of the TikTok Shop fake: shops, warehouses, products, SKUs, orders and tokens.

Everything is derived from `seed`, so two fakes built with the same arguments hold the same
ids, tokens and quantities. Every shop lists the store's SKUs (`seed_catalog`) as its
`seller_sku`s, under its own product and SKU ids, the way one merchant's several TikTok shops
list the same goods.

Deliberate gaps (when `gaps` is on and there are at least 5 products), so linking problems can
be tested; for shop number `i` (0-based) and `P` products:

- the last variant of product index `(3*i + 2) % P` is not listed in that shop at all (with a
  single variant, the whole product is missing);
- product index `(3*i + 4) % P` is listed with status `SELLER_DEACTIVATED` (not live: its
  SKUs refuse inventory updates).

When `multi_warehouse` is on, the SKUs of every product whose index ends in 9 (10th, 20th …)
are stocked in both sales warehouses, so an inventory update must name the warehouse.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shelfsync.core.testing.catalog import seed_catalog

SALES_WAREHOUSE = "SALES_WAREHOUSE"
RETURN_WAREHOUSE = "RETURN_WAREHOUSE"
LIVE_STATUS = "ACTIVATE"
PRODUCT_STATUSES = (
    "DRAFT",
    "PENDING",
    "FAILED",
    "ACTIVATE",
    "SELLER_DEACTIVATED",
    "PLATFORM_DEACTIVATED",
    "FREEZE",
    "DELETED",
)
# Seeded timestamps sit in the past and never depend on the wall clock, for determinism.
BASE_TIME = 1_700_000_000

# (region, currency, VAT divisor for the tax-exclusive price, country name)
_REGIONS = (
    ("GB", "GBP", "1.20", "United Kingdom"),
    ("US", "USD", "1", "United States"),
    ("DE", "EUR", "1.19", "Germany"),
    ("FR", "EUR", "1.20", "France"),
    ("ES", "EUR", "1.21", "Spain"),
    ("IT", "EUR", "1.22", "Italy"),
)


def numeric_id(prefix: str, length: int, *parts: object) -> str:
    """A deterministic numeric-looking id of `length` digits starting with `prefix`."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    digits = str(int.from_bytes(digest, "big")).zfill(length)
    return prefix + digits[-(length - len(prefix)) :]


def opaque_token(prefix: str, *parts: object, size: int = 40) -> str:
    """A deterministic token shaped like TikTok's (`ROW_…`, URL-safe base64)."""
    digest = hashlib.sha512(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:size]


@dataclass
class Warehouse:
    """One warehouse of a shop."""

    id: str
    name: str
    type: str
    is_default: bool
    effect_status: str = "ENABLED"

    def to_api(self, region: str, country: str) -> dict[str, Any]:
        """The `warehouses[]` entry of Get Warehouse List."""
        return {
            "id": self.id,
            "name": self.name,
            "effect_status": self.effect_status,
            "type": self.type,
            "sub_type": "DOMESTIC_WAREHOUSE",
            "is_default": self.is_default,
            "address": {
                "region": country,
                "state": "",
                "city": "Fakeville",
                "distict": "",  # sic: TikTok's own spelling of the field
                "town": "",
                "contact_person": "Warehouse Manager",
                "postal_code": "00001",
                "full_address": f"1 {self.name} Road, Fakeville",
                "region_code": region,
                "phone_number": "+0000000000",
            },
        }


@dataclass
class Sku:
    """One SKU; quantities are kept per warehouse id (insertion order = listing order)."""

    id: str
    seller_sku: str
    product_id: str
    option: str
    price: str
    available: dict[str, int]
    committed: dict[str, int] = field(default_factory=dict)


@dataclass
class Product:
    """One product listed in a shop."""

    id: str
    title: str
    status: str
    create_time: int
    update_time: int
    skus: list[Sku]


@dataclass
class Tokens:
    """A shop's authorization: access token with an expiry, refresh token."""

    access_token: str
    access_expires: int
    refresh_token: str
    refresh_expires: int
    generation: int = 0


@dataclass
class OrderLine:
    """One unit bought: TikTok has no quantity field, each unit is its own line item."""

    id: str
    sku: Sku
    product_name: str
    warehouse_id: str
    #: Set when the seller ships the line (Mark Package As Shipped).
    package_id: str = ""
    tracking: str = ""
    provider: str = ""


@dataclass
class Order:
    """A buyer order in a shop."""

    id: str
    number: int
    status: str
    create_time: int
    update_time: int
    paid_time: int | None
    lines: list[OrderLine]
    warehouse_id: str
    buyer: dict[str, str]
    is_on_hold_order: bool = False
    #: When an ON_HOLD order's free-cancellation window ends (TikTok: one hour after payment)
    #: and it moves to AWAITING_SHIPMENT on its own.
    hold_until: int | None = None
    cancel_time: int | None = None
    collection_time: int | None = None
    delivery_time: int | None = None
    # "reserved" while stock is committed, then "shipped" or "released" (cancelled).
    stock_state: str = "reserved"
    fulfillment_type: str = "FULFILLMENT_BY_SELLER"
    #: package id → {line_ids, tracking, provider_id, provider, create_time, status}.
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancellations: list[dict[str, Any]] = field(default_factory=list)
    returns: list[dict[str, Any]] = field(default_factory=list)
    cancel_reason: str = ""
    cancel_initiator: str = ""


@dataclass
class Shop:
    """One authorized shop with its own tokens, cipher, warehouses, listings and orders."""

    index: int
    id: str
    name: str
    region: str
    currency: str
    vat_divisor: str
    country: str
    cipher: str
    code: str
    open_id: str
    tokens: Tokens
    warehouses: list[Warehouse]
    products: dict[str, Product]
    product_order: list[str]
    skus: dict[str, Sku]
    by_seller_sku: dict[str, Sku]
    orders: dict[str, Order] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Bumped by every change a product search can see (a product's status or update time).
    revision: int = 0
    #: One product search's matching ids, for the revision they were computed at.
    _search: tuple[Any, list[str]] | None = field(default=None, repr=False)

    def product_changed(self) -> None:
        """Call after changing a product's status or update time: searches look again."""
        self.revision += 1

    def matching_ids(self, key: Any, compute: Callable[[], list[str]]) -> list[str]:
        """The ids of a search's matching products, in order: computed once per search
        filter and revision, so paging through a big shop costs a page a page, not a scan
        of the whole shop (a 1,000,000-SKU read was quadratic in the fake)."""
        if self._search is None or self._search[0] != (key, self.revision):
            self._search = ((key, self.revision), compute())
        return self._search[1]

    @property
    def default_warehouse(self) -> Warehouse:
        """The default sales warehouse."""
        return next(w for w in self.warehouses if w.is_default and w.type == SALES_WAREHOUSE)

    def warehouse(self, warehouse_id: str) -> Warehouse | None:
        """The warehouse with this id, if the shop has it."""
        return next((w for w in self.warehouses if w.id == warehouse_id), None)

    def to_api(self) -> dict[str, Any]:
        """The `shops[]` entry of Get Authorized Shops."""
        return {
            "id": self.id,
            "name": self.name,
            "region": self.region,
            "seller_type": "LOCAL",
            "cipher": self.cipher,
            "code": self.code,
        }


def new_tokens(seed: int, shop_index: int, generation: int, now: int, ttl: int) -> Tokens:
    """The tokens of one authorization generation (0 at seeding, +1 per refresh)."""
    return Tokens(
        access_token=opaque_token("ROW_", seed, shop_index, "access", generation),
        access_expires=now + ttl,
        refresh_token=opaque_token("ROW_", seed, shop_index, "refresh"),
        refresh_expires=now + 365 * 86_400,
        generation=generation,
    )


def _gap_indexes(shop_index: int, products: int, gaps: bool) -> tuple[int, int]:
    if not gaps or products < 5:
        return -1, -1
    return (3 * shop_index + 2) % products, (3 * shop_index + 4) % products


def build_shop(
    seed: int,
    index: int,
    catalog: list[Any],
    *,
    now: int,
    token_ttl: int,
    gaps: bool,
    multi_warehouse: bool,
) -> Shop:
    """One seeded shop (see the module docstring for its deliberate gaps)."""
    region, currency, vat, country = _REGIONS[index % len(_REGIONS)]
    warehouses = [
        Warehouse(numeric_id("7", 19, seed, index, "wh", 0), f"Main warehouse {index + 1}",
                  SALES_WAREHOUSE, True),
        Warehouse(numeric_id("7", 19, seed, index, "wh", 1), f"Second warehouse {index + 1}",
                  SALES_WAREHOUSE, False),
        Warehouse(numeric_id("7", 19, seed, index, "wh", 2), f"Returns {index + 1}",
                  RETURN_WAREHOUSE, True),
    ]
    missing_sku_product, inactive_product = _gap_indexes(index, len(catalog), gaps)
    products: dict[str, Product] = {}
    skus: dict[str, Sku] = {}
    for seeded in catalog:
        variants = list(seeded.variants)
        if seeded.index == missing_sku_product:
            variants = variants[:-1]
        if not variants:
            continue
        product_id = numeric_id("17", 19, seed, index, "product", seeded.index)
        items = []
        for variant in variants:
            rng = variant.rng(f"tiktok:{index}")
            stock = {warehouses[0].id: rng.randint(0, 100)}
            if multi_warehouse and seeded.index % 10 == 9:
                stock[warehouses[1].id] = rng.randint(0, 50)
            sku = Sku(
                id=numeric_id("17", 19, seed, index, "sku", variant.sku),
                seller_sku=variant.sku,
                product_id=product_id,
                option=variant.option,
                price=variant.price,
                available=stock,
                committed=dict.fromkeys(stock, 0),
            )
            items.append(sku)
            skus[sku.id] = sku
        created = BASE_TIME + seeded.index * 3_600
        status = "SELLER_DEACTIVATED" if seeded.index == inactive_product else LIVE_STATUS
        products[product_id] = Product(product_id, seeded.title, status, created, created, items)
    return Shop(
        index=index,
        id=numeric_id("749", 19, seed, "shop", index),
        name=f"Fake TikTok Shop {index + 1}",
        region=region,
        currency=currency,
        vat_divisor=vat,
        country=country,
        cipher=opaque_token("ROW_", seed, index, "cipher", size=28),
        code=region + numeric_id("", 8, seed, index, "code"),
        open_id=opaque_token("", seed, index, "open_id", size=48),
        tokens=new_tokens(seed, index, 0, now, token_ttl),
        warehouses=warehouses,
        products=products,
        product_order=sorted(products),
        skus=skus,
        by_seller_sku={s.seller_sku: s for s in skus.values()},
    )


def build_shops(
    seed: int,
    shops: int,
    products: int,
    variants: int,
    *,
    now: int,
    token_ttl: int,
    gaps: bool = True,
    multi_warehouse: bool = True,
) -> list[Shop]:
    """All seeded shops of the fake."""
    if shops < 1:
        raise ValueError("shops must be >= 1")
    catalog = seed_catalog(seed, products, variants)
    return [
        build_shop(seed, i, catalog, now=now, token_ttl=token_ttl, gaps=gaps,
                   multi_warehouse=multi_warehouse)
        for i in range(shops)
    ]
