"""Plain frozen dataclasses that cross the plugin boundary.

Plugins receive and return only these (and builtins), never SQLModel tables, so that a plugin
can be written, tested and certified without a database and core can change its storage freely.
Quantities are ints; money is a decimal string as the platforms send it, so nothing is lost to
float rounding on the way through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

#: The highest quantity a TikTok Shop SKU accepts, and the "continue selling" override.
CHANNEL_MAXIMUM = 99_999


class Role(StrEnum):
    """Which side of the sync a platform sits on."""

    STORE = "store"
    CHANNEL = "channel"


class ContinueSelling(StrEnum):
    """How a store platform expresses "continue selling when out of stock"."""

    #: The product carries a flag (Shopify CONTINUE, Magento backorders …); honoured, the
    #: channel shows the maximum and the threshold is overridden.
    FLAG = "flag"
    #: The platform has no such option (Amazon): the rule-adjusted real stock is synced.
    UNSUPPORTED = "unsupported"
    #: Backordered products report a stock of 0 (Wix): the flag is the only signal, and the
    #: override is what makes them sellable on the channel.
    REPORTED_AS_ZERO = "reported_as_zero"


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do; core reads these instead of testing platform names."""

    has_locations: bool = False
    continue_selling: ContinueSelling = ContinueSelling.FLAG
    max_quantity: int | None = None
    webhooks: bool = True
    multi_shop: bool = False


@dataclass(frozen=True)
class PlatformInfo:
    """A plugin's self-description: shown by `shelfsync plugins` and the connect forms."""

    name: str
    title: str
    role: Role
    capabilities: Capabilities
    credential_fields: tuple[str, ...]
    version: str = "0"
    default_base_url: str | None = None


@dataclass(frozen=True)
class Connection:
    """One connected store or shop, as every operation hook receives it.

    `credentials` are decrypted and must never be logged; they are kept out of `repr`.
    `settings` are plugin-specific options (API version, page size …).
    """

    platform: str
    base_url: str
    credentials: Mapping[str, str] = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Location:
    """A store location (or a channel warehouse)."""

    id: str
    name: str
    active: bool = True
    is_default: bool = False


@dataclass(frozen=True)
class StockLevel:
    """The available quantity of one SKU at one location, as the store reported it."""

    sku: str
    location_id: str
    available: int
    observed_at: datetime | None = None


@dataclass(frozen=True)
class BackorderPolicy:
    """Whether a SKU may be sold when out of stock (and whether stock is tracked at all)."""

    sku: str
    continue_selling: bool
    tracked: bool = True


@dataclass(frozen=True)
class CatalogItem:
    """One sellable variant of the store's catalog."""

    product_id: str
    variant_id: str
    sku: str
    title: str
    price: str | None = None
    currency: str | None = None
    inventory_item_id: str | None = None


@dataclass(frozen=True)
class Listing:
    """One SKU as a channel lists it; `seller_sku` is the store SKU it should link to."""

    product_id: str
    sku_id: str
    seller_sku: str
    status: str = ""
    title: str = ""
    quantities: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorizedShop:
    """A channel shop the app is authorized for (TikTok: id, name, cipher)."""

    id: str
    name: str
    region: str = ""
    cipher: str = ""


@dataclass(frozen=True)
class InventoryUpdate:
    """Set one channel SKU to a quantity, optionally at one warehouse."""

    product_id: str
    sku_id: str
    quantity: int
    warehouse_id: str | None = None
    seller_sku: str = ""


@dataclass(frozen=True)
class PushResult:
    """The outcome of one SKU of a push: per SKU, never all-or-nothing."""

    sku_id: str
    ok: bool
    quantity: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    #: A failure that may pass (throttled, 5xx, timeout): the engine tries the SKU again soon
    #: instead of quarantining it.
    retryable: bool = False


@dataclass(frozen=True)
class Money:
    """An amount as a decimal string with its currency."""

    amount: str
    currency: str


@dataclass(frozen=True)
class Address:
    """A recipient address, in the channel's own words."""

    name: str = ""
    phone: str = ""
    lines: tuple[str, ...] = ()
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""


@dataclass(frozen=True)
class OrderLine:
    """One line of a channel order."""

    line_id: str
    sku_id: str
    seller_sku: str
    quantity: int
    unit_price: Money | None = None
    product_id: str = ""
    title: str = ""


@dataclass(frozen=True)
class ChannelOrder:
    """An order placed on a sales channel, to be created once in the store."""

    id: str
    status: str
    lines: tuple[OrderLine, ...]
    total: Money | None = None
    recipient: Address | None = None
    buyer_email: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    shop_id: str = ""


@dataclass(frozen=True)
class OrderPage:
    """One page of changed orders and the cursor to continue from."""

    orders: tuple[ChannelOrder, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class StoreOrderRef:
    """The store order created for a channel order; `created` is False when it existed."""

    id: str
    name: str = ""
    created: bool = True


@dataclass(frozen=True)
class StoreOrderStatus:
    """What the store says of an order: fulfilment and tracking, cancellation, refunds."""

    id: str
    fulfilled: bool = False
    cancelled: bool = False
    refunded: bool = False
    tracking_number: str = ""
    carrier: str = ""


@dataclass(frozen=True)
class Fulfillment:
    """Tracking to push to a channel for one of its orders."""

    order_id: str
    tracking_number: str
    carrier: str
    line_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookEvent:
    """A verified, parsed webhook.

    `dedup_key` is the platform's delivery id (Shopify's webhook id, TikTok's notification id)
    so a replay can be recognised; `skus`/`inventory_item_ids` say what changed when the
    payload tells; `shop_id` routes a channel event sent to the app's one address.
    `access_revoked` says the merchant withdrew the app's access (an uninstall, a
    deauthorization): the connection is marked "needs re-auth" at once rather than at the
    next refused call.
    """

    platform: str
    topic: str
    dedup_key: str
    payload: Mapping[str, Any]
    occurred_at: datetime | None = None
    shop_id: str = ""
    skus: tuple[str, ...] = ()
    inventory_item_ids: tuple[str, ...] = ()
    order_id: str = ""
    access_revoked: bool = False
