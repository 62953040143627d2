"""Plain frozen dataclasses that cross the plugin boundary.

Plugins receive and return only these (and builtins), never SQLModel tables, so that a plugin
can be written, tested and certified without a database and core can change its storage freely.
Quantities are ints; money is a decimal string as the platforms send it, so nothing is lost to
float rounding on the way through.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shelfsync.core.connection_cache import ConnectionCache, FreshView

log = logging.getLogger(__name__)

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


class FieldKind(StrEnum):
    """What a declared credential or setting holds; decides how typed text is parsed."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"
    URL = "url"


#: Whole numbers and decimals as ASCII digits only: `int("٣")` is 3, and "nan", "inf" or
#: "1e300" are floats, none of which a merchant means.
_INT_TEXT = re.compile(r"-?[0-9]{1,18}")
_FLOAT_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TRUE, _FALSE = frozenset({"on", "true", "yes", "1"}), frozenset({"off", "false", "no", "0"})
MAX_TEXT_LENGTH = 2000


@dataclass(frozen=True)
class FieldSpec:
    """One credential or setting a plugin declares: the CLI validates it, the UI renders it.

    `parse` is the one place typed text becomes a value, so a setting is checked the same way
    when it is saved and when a sync reads it (`read` falls back to `default`).
    """

    name: str
    label: str = ""
    kind: FieldKind = FieldKind.STR
    secret: bool = False
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    #: A regular expression the whole text must match, for text that goes into a URL path or
    #: a header (an API version): a value like "../x" must never reach a request.
    pattern: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FieldKind(self.kind))
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").capitalize())

    def _shown(self, raw: object) -> str:
        return "" if self.secret else f", got {str(raw)[:40]!r}"

    def parse(self, raw: object) -> Any:
        """The typed value of `raw` (text as typed, or a stored value); `ValueError` saying
        why otherwise, never quoting a secret."""
        if self.kind is FieldKind.BOOL:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError(f"must be on or off{self._shown(raw)}")
        if self.kind in (FieldKind.INT, FieldKind.FLOAT):
            return self._number(raw)
        if not isinstance(raw, str):
            raise ValueError(f"must be text{self._shown(raw)}")
        text = raw if self.secret else raw.strip()
        if _CONTROL.search(text):
            raise ValueError("must not contain control characters (line breaks, tabs …)")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(f"must be at most {MAX_TEXT_LENGTH} characters")
        if self.kind is FieldKind.CHOICE and text not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}{self._shown(raw)}")
        if self.kind is FieldKind.URL and (
            not re.match(r"https?://[^\s/]+", text) or " " in text
        ):
            raise ValueError(f"must be an http(s) URL{self._shown(raw)}")
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise ValueError(f"must look like {self.help or self.pattern}{self._shown(raw)}")
        return text

    def _number(self, raw: object) -> int | float:
        whole = self.kind is FieldKind.INT
        wanted = "a whole number" if whole else "a number"
        value: int | float
        if isinstance(raw, bool):
            raise ValueError(f"must be {wanted}{self._shown(raw)}")
        if isinstance(raw, int) or (isinstance(raw, float) and not whole):
            value = raw
        elif isinstance(raw, str) and (_INT_TEXT if whole else _FLOAT_TEXT).fullmatch(raw.strip()):
            value = int(raw.strip()) if whole else float(raw.strip())
        else:
            raise ValueError(f"must be {wanted} written in digits 0-9{self._shown(raw)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be {wanted}{self._shown(raw)}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}{self._shown(raw)}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}{self._shown(raw)}")
        return value

    def read(self, values: Mapping[str, Any]) -> Any:
        """The field's value in stored `values`, or `default` when missing or unusable: a bad
        stored setting must not stop every sync (`shelfsync status` reports it)."""
        raw = values.get(self.name)
        if raw is None or raw == "":
            return self.default
        try:
            return self.parse(raw)
        except ValueError as exc:
            log.warning("setting %s %s; using the default %r", self.name, exc, self.default)
            return self.default


def as_field_specs(declared: tuple[FieldSpec | str, ...], *, credentials: bool) -> tuple[
        FieldSpec, ...]:
    """Declared fields as FieldSpecs: a plugin written before FieldSpec declares credential
    names as plain strings, which become required secret text fields."""
    return tuple(
        field if isinstance(field, FieldSpec)
        else FieldSpec(field, secret=credentials, required=credentials)
        for field in declared
    )


#: Settings core itself reads for every connection (request timeout, retries), whatever the
#: platform; a plugin's own declaration of one of these names takes precedence.
CONNECTION_SETTING_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("timeout", "Request timeout (seconds)", FieldKind.FLOAT, default=30.0,
              minimum=0.1, maximum=300),
    FieldSpec("retry_attempts", "Attempts per call", FieldKind.INT, default=6,
              minimum=1, maximum=20),
    FieldSpec("retry_backoff", "First retry delay (seconds)", FieldKind.FLOAT, default=0.5,
              minimum=0, maximum=60),
    FieldSpec("retry_max_backoff", "Longest retry delay (seconds)", FieldKind.FLOAT,
              default=30.0, minimum=0, maximum=600),
)


@dataclass(frozen=True)
class PlatformInfo:
    """A plugin's self-description: shown by `shelfsync plugins` and the connect forms.

    `credential_fields` and `setting_fields` may be given as names (older plugins); they are
    kept as FieldSpecs.
    """

    name: str
    title: str
    role: Role
    capabilities: Capabilities
    credential_fields: tuple[FieldSpec, ...]
    version: str = "0"
    default_base_url: str | None = None
    setting_fields: tuple[FieldSpec, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "credential_fields",
                           as_field_specs(tuple(self.credential_fields), credentials=True))
        object.__setattr__(self, "setting_fields",
                           as_field_specs(tuple(self.setting_fields), credentials=False))

    @property
    def credential_names(self) -> tuple[str, ...]:
        """The declared credential field names, in order."""
        return tuple(field.name for field in self.credential_fields)

    def setting_specs(self) -> dict[str, FieldSpec]:
        """Every setting a connection of this platform takes: core's, then the plugin's."""
        fields = {field.name: field for field in CONNECTION_SETTING_FIELDS}
        fields.update((field.name, field) for field in self.setting_fields)
        return fields


#: Called by a plugin with the credentials it refreshed (only the changed keys, e.g. a new
#: access and refresh token); core merges and stores them in its own short transaction.
CredentialsCallback = Callable[[Mapping[str, str]], None]


@dataclass(frozen=True)
class Connection:
    """One connected store or shop, as every operation hook receives it.

    `credentials` are decrypted and must never be logged; they are kept out of `repr`.
    `settings` are plugin-specific options (API version, page size …). `platform_id` is the
    platform's own id of the store or shop (Shopify's myshopify domain, TikTok's shop id),
    recorded when it was connected ("" when not known yet). A plugin that refreshes the
    credentials hands the new values to `on_credentials_refreshed` (when set): core persists
    them; no database object ever crosses the boundary.
    """

    platform: str
    base_url: str
    credentials: Mapping[str, str] = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    timeout: float = 30.0
    platform_id: str = ""
    on_credentials_refreshed: CredentialsCallback | None = field(
        default=None, repr=False, compare=False)


@dataclass(frozen=True)
class AccountInfo:
    """What a connection check learnt: the platform's own id of the store or shop and the
    name it shows (Shopify: the myshopify domain and the shop's name).

    `currency` is the ISO 4217 code the store prices in (or the shop sells in) when the
    check read it anyway (Shopify's `shop { currencyCode }`); None when it did not. Core
    compares a store's and a shop's currencies when a shop is connected, and asks for an
    exchange rate when they differ.
    """

    platform_id: str
    name: str = ""
    currency: str | None = None


class PassScope:
    """Scratch space for one engine pass, created by core and dropped after it.

    What a plugin shares between two hooks of one pass (the variants a stock read saw, the
    warehouse a push chose) lives here, keyed by the plugin's own name, instead of in module
    state that would outlive the pass and leak between connections. Thread-safe: a pass may
    push to several channels from worker threads (each channel's pass has its own scope).

    What is worth keeping longer than the pass (a shop's locations or default warehouse) goes
    in `cache`: the connection's `ConnectionCache`, which core keeps between passes, each
    entry with the TTL the plugin gives it (`cache.put(key, value, ttl)`, `cache.get(key)`,
    `cache.drop(key)` when the platform refuses what it held). A scope made without one
    (a call outside any engine pass) gets an empty cache of its own; a reconciliation's scope
    sees only what it put itself (it reads the platform afresh, and keeps what it read for the
    passes after it).
    """

    def __init__(self, cache: ConnectionCache | FreshView | None = None) -> None:
        self._lock = threading.Lock()
        self._spaces: dict[str, dict[Any, Any]] = {}
        self.cache: ConnectionCache | FreshView = (
            cache if cache is not None else ConnectionCache())

    def space(self, owner: str) -> dict[Any, Any]:
        """The dict `owner` (a plugin's platform name) keeps its pass data in."""
        with self._lock:
            return self._spaces.setdefault(owner, {})


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
    """A channel shop the app is authorized for (TikTok: id, name, market region, cipher).

    `currency` is the ISO 4217 code the shop sells in ("" when the plugin does not know it):
    core compares it with the store's when the shop is connected and asks for an exchange
    rate when they differ, instead of letting the first order fail on it.
    """

    id: str
    name: str
    region: str = ""
    cipher: str = ""
    currency: str = ""


@dataclass(frozen=True)
class InventoryUpdate:
    """Set one channel SKU to a total quantity.

    Core sends one quantity per SKU; how it spreads over the shop's warehouses is the
    plugin's choice. `shown` is what the channel showed for the SKU per location at its last
    read or push, in the plugin's own keys (`Listing.quantities`, `PushResult.quantities`), so
    the plugin can clear the locations it is not pushing to. `warehouse_id` pins one warehouse
    (a plugin author's test, say); core leaves it None.
    """

    product_id: str
    sku_id: str
    quantity: int
    warehouse_id: str | None = None
    seller_sku: str = ""
    shown: Mapping[str, int] = field(default_factory=dict)


class PushOutcome(StrEnum):
    """What core does with one pushed SKU; the plugin decides, core never reads error text."""

    #: The channel has the quantity.
    DONE = "done"
    #: A failure that may pass (throttled, 5xx, timeout): tried again soon.
    RETRY = "retry"
    #: The channel refused this SKU at this quantity: left alone for a while.
    QUARANTINE = "quarantine"
    #: The plugin pushed to a target it had kept from earlier in the pass (a warehouse) that
    #: no longer holds; it has dropped it, and the SKU is tried again soon.
    STALE_TARGET = "stale_target"


@dataclass(frozen=True)
class PushResult:
    """The outcome of one SKU of a push: per SKU, never all-or-nothing.

    `kind` is what core acts on; when left out it follows `ok` and `retryable` (done, retry,
    or quarantine), so `ok`/`retryable` stay true to it either way.
    """

    sku_id: str
    ok: bool
    quantity: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    #: A failure that may pass (throttled, 5xx, timeout): the engine tries the SKU again soon
    #: instead of quarantining it.
    retryable: bool = False
    kind: PushOutcome | None = None
    #: What the channel now shows for the SKU per location, in the plugin's own keys (the
    #: warehouses it set), when it knows; core keeps it and hands it back as
    #: `InventoryUpdate.shown`.
    quantities: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind is None:
            kind = (PushOutcome.DONE if self.ok else
                    PushOutcome.RETRY if self.retryable else PushOutcome.QUARANTINE)
            object.__setattr__(self, "kind", kind)
        elif (self.kind is PushOutcome.DONE) != self.ok:
            raise ValueError(f"a push result of kind {self.kind} cannot have ok={self.ok}")
        elif self.kind in (PushOutcome.RETRY, PushOutcome.STALE_TARGET):
            object.__setattr__(self, "retryable", True)


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
    #: The channel's own id of each unit, when it counts units as line items (TikTok): what
    #: a partial shipment or a return names. Empty: `line_id` stands for all `quantity`.
    unit_line_ids: tuple[str, ...] = ()


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
    #: The shop's name, shown on the store order so a merchant sees where it was sold.
    shop_name: str = ""
    buyer_name: str = ""
    #: What the channel charged for shipping, the tax it reports and the discounts it gave
    #: (seller and platform together), each in the order's currency.
    shipping_fee: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    #: The channel ships it itself (TikTok's FULFILLMENT_BY_TIKTOK): no tracking is ever
    #: pushed back for it.
    fulfilled_by_channel: bool = False
    #: Why the channel cancelled it, in the channel's words (shown on the store order).
    cancel_reason: str = ""


@dataclass(frozen=True)
class OrderPage:
    """One page of changed orders and the cursor to continue from."""

    orders: tuple[ChannelOrder, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class StockChanges:
    """What one poll of a store without stock webhooks found (`shelfsync_poll_stock_changes`).

    `skus` are the store SKUs whose available stock or sellability may have changed since the
    cursor the poll was given: a superset is fine (core re-reads them and pushes only what
    differs), a missed SKU is not. `cursor` is the plugin's own opaque text, stored by core
    and handed back on the next poll, so a poll resumes where the last one stopped even after
    a restart. `observed_at` is when the platform was read (a SKU's pending time; a newer
    webhook or poll always wins). `more` asks core to poll again at once (the plugin stopped
    early to bound one call's work).
    """

    skus: tuple[str, ...]
    cursor: str
    observed_at: datetime
    more: bool = False


@dataclass(frozen=True)
class StoreOrderRef:
    """The store order created for a channel order; `created` is False when it existed."""

    id: str
    name: str = ""
    created: bool = True


@dataclass(frozen=True)
class FulfilledLine:
    """Units of one store SKU a store fulfilment shipped."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class StoreFulfillment:
    """One shipment the store made for an order: its own id (what makes a push exactly
    once), tracking number, the carrier's name as the store shows it, and what it shipped."""

    id: str
    tracking_number: str
    carrier: str
    lines: tuple[FulfilledLine, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class StoreOrderStatus:
    """What the store says of an order: fulfilment and tracking, cancellation, refunds.

    `fulfillments` lists every successful shipment (a store that reports none leaves it
    empty); `cancel_reason` is the store's own reason word when it was cancelled.
    """

    id: str
    fulfilled: bool = False
    cancelled: bool = False
    refunded: bool = False
    tracking_number: str = ""
    carrier: str = ""
    fulfillments: tuple[StoreFulfillment, ...] = ()
    cancel_reason: str = ""


@dataclass(frozen=True)
class Fulfillment:
    """Tracking to push to a channel for one of its orders.

    `line_ids` are the channel's line items this shipment carries (all of the order's when
    empty); `shipping_provider_id` the channel's provider the store's `carrier` maps to;
    `fulfillment_id` the store's shipment id (a plugin may use it as an idempotency key).
    """

    order_id: str
    tracking_number: str
    carrier: str
    line_ids: tuple[str, ...] = ()
    shipping_provider_id: str = ""
    fulfillment_id: str = ""


@dataclass(frozen=True)
class ShippingProvider:
    """A carrier a channel shop can ship with, under one of its delivery options."""

    id: str
    name: str
    delivery_option_id: str = ""
    delivery_option_name: str = ""


@dataclass(frozen=True)
class ReturnLine:
    """One channel line item a return or refund covers."""

    line_id: str
    sku_id: str = ""
    seller_sku: str = ""
    refund: Money | None = None


@dataclass(frozen=True)
class ChannelReturn:
    """A return or refund on a channel order, as the channel reports it.

    `completed` says the money went back to the buyer (the store refund is due then, once per
    `id`); `restock` whether the units come back to the seller (a refund-only return leaves
    them with the buyer).
    """

    id: str
    order_id: str
    status: str
    completed: bool
    lines: tuple[ReturnLine, ...]
    refund_total: Money | None = None
    return_type: str = ""
    restock: bool = True
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ReturnPage:
    """One page of a channel's returns and the cursor to continue from."""

    returns: tuple[ChannelReturn, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class StoreRefund:
    """A refund to make on a store order, once per `id` (the channel's return id).

    `lines` are store SKU → units refunded; `amount` the money in the store's currency
    (None: the lines' own prices); `restock` whether those units go back to stock.
    """

    id: str
    lines: tuple[FulfilledLine, ...]
    amount: Money | None = None
    restock: bool = False
    note: str = ""


@dataclass(frozen=True)
class StoreRefundResult:
    """The store's refund for a `StoreRefund`; `created` is False when it already existed."""

    id: str
    amount: Money | None = None
    created: bool = True


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
