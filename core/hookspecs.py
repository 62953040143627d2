"""The plugin contract: one documented hookspec per capability.

Operation hooks (`OPERATION_HOOKS`) are called by core only on the plugin registered for the
connection's platform (`ShelfsyncPluginManager.call`, through pluggy's `subset_hook_caller`):
an implementation carries no "not my platform" guard and always answers or raises — never
`None`. A plugin lacking a hook its role requires (`REQUIRED_HOOKS`) is reported by
`shelfsync plugins`, and calling it raises `HookNotImplemented`, a configuration error that
is never retried. Callers always pass keyword arguments, so a hook may gain arguments later
and an implementation may accept fewer than the spec names (pluggy's rule).

Whole-catalog reads (`shelfsync_fetch_stock_levels` and `shelfsync_fetch_backorder_policies`
with `skus=None`, `shelfsync_fetch_catalog`, `shelfsync_fetch_listings`) return an iterable
of pages, each page a `list` of the hook's type — best a generator that fetches a page only
when core asks for it. Core stores each page, in a transaction of its own, before it asks
for the next, so a worker's memory holds one page whatever the catalog's size; an answer or
page of another shape is a `PluginContractError`. A SKU-scoped read answers one list.

Every hook is documented, with an example, in docs/plugin_hooks.md; tests/core/test_docs.py
fails when a hook is undocumented or its documented arguments drift from this file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
import pluggy

from shelfsync.core.types import (
    AccountInfo,
    AuthorizedShop,
    BackorderPolicy,
    CatalogItem,
    ChannelOrder,
    Connection,
    Fulfillment,
    InventoryUpdate,
    Listing,
    Location,
    OrderPage,
    PassScope,
    PlatformInfo,
    PushResult,
    ReturnPage,
    Role,
    ShippingProvider,
    StockChanges,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    StoreRefund,
    StoreRefundResult,
    WebhookEvent,
)

PROJECT = "shelfsync"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The hooks core calls for one connection, on its platform's plugin only (`pm.call`).
OPERATION_HOOKS = frozenset({
    "shelfsync_check_connection",
    "shelfsync_fetch_authorized_shops",
    "shelfsync_fetch_locations",
    "shelfsync_fetch_stock_levels",
    "shelfsync_fetch_backorder_policies",
    "shelfsync_fetch_catalog",
    "shelfsync_create_order",
    "shelfsync_fetch_order_status",
    "shelfsync_fetch_listings",
    "shelfsync_push_inventory",
    "shelfsync_fetch_orders",
    "shelfsync_push_fulfillment",
    "shelfsync_push_cancellation",
    "shelfsync_verify_webhook",
    "shelfsync_subscribe_webhooks",
    "shelfsync_poll_stock_changes",
    "shelfsync_cancel_store_order",
    "shelfsync_fetch_order",
    "shelfsync_refund_store_order",
    "shelfsync_fetch_shipping_providers",
    "shelfsync_fetch_returns",
})

#: What a platform of each role must implement for the engine to serve it. The others are
#: optional: core falls back (no webhooks → reconciliation repairs drift) or reports
#: `HookNotImplemented` for that feature only. `shelfsync plugins` lists what is missing.
REQUIRED_HOOKS: dict[Role, tuple[str, ...]] = {
    Role.STORE: (
        "shelfsync_check_connection",
        "shelfsync_fetch_locations",
        "shelfsync_fetch_stock_levels",
        "shelfsync_fetch_backorder_policies",
        "shelfsync_fetch_catalog",
        "shelfsync_create_order",
        "shelfsync_fetch_order_status",
        "shelfsync_verify_webhook",
    ),
    Role.CHANNEL: (
        "shelfsync_check_connection",
        "shelfsync_fetch_listings",
        "shelfsync_push_inventory",
        "shelfsync_fetch_orders",
        "shelfsync_verify_webhook",
    ),
}


# --- registration (collect-all) --------------------------------------------------------


@hookspec
def shelfsync_platform_info() -> PlatformInfo:
    """Describe the platform this plugin implements.

    Receives nothing. Returns a `PlatformInfo`: name, role (store or channel), capabilities
    and the credential field names the connect forms ask for. Collect-all: every plugin
    answers. Raises nothing.
    """


@hookspec
def shelfsync_fake_factory() -> tuple[str, Callable[..., Any]]:
    """Offer a factory for this plugin's local fake of its platform's API.

    Receives nothing. Returns `(platform_name, factory)` where `factory(**options)` builds a
    `shelfsync.core.testing.fakes.FakePlatform` (a WSGI app with `/_fake/` control endpoints
    and seeded data). Used by the contract kit, benchmarks and `shelfsync demo`.
    Collect-all. Raises nothing.
    """


@hookspec
def shelfsync_register_commands(cli: click.Group) -> None:
    """Add commands to the `shelfsync` CLI (e.g. `shelfsync fake <platform>`).

    Receives the root click group. Returns nothing. Collect-all. Raises nothing.
    """


# --- connection ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_check_connection(connection: Connection) -> AccountInfo:
    """Make one cheap live call proving the credentials work, before they are saved.

    Receives the connection. Returns an `AccountInfo`: the platform's own id of the store or
    shop (Shopify's myshopify domain, TikTok's shop id; "" when the credentials name no one
    shop) and its display name, which core records on the connection (`platform_id`).
    Raises `AuthError` when the credentials are refused,
    `TransientError`/`RateLimited`/`BadResponse` otherwise.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_authorized_shops(connection: Connection) -> list[AuthorizedShop]:
    """List the shops a channel app is authorized for (used to pick one when connecting).

    Receives the connection (app credentials). Returns the shops with their ids and ciphers.
    Raises `AuthError`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


# --- store side ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_fetch_locations(connection: Connection, scope: PassScope | None) -> list[Location]:
    """List the store's locations (or a channel's warehouses), with their active flag.

    Receives the connection and the pass's `PassScope` (`None` outside a pass), where a plugin
    may keep what another hook of the same pass can reuse. Returns every location, inactive
    ones included with `active=False`. Raises `AuthError`, `RateLimited`, `TransientError`,
    `BadResponse`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_stock_levels(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[StockLevel] | Iterable[list[StockLevel]]:
    """Read available stock per SKU per location.

    Receives the connection, the SKUs to read (`None` = the whole catalog) and the pass's
    `PassScope` (`None` outside a pass): what the read learns that the pass's later hooks can
    reuse (the backorder flags the same query carried, say) goes there, and what is worth
    keeping for the connection's later passes (its locations, say) in `scope.cache` with a
    TTL — never into module state. Returns one `StockLevel` per SKU and location that the
    store tracks; a SKU unknown to the store is simply absent. For given `skus`: one list.
    For `skus=None`: an iterable of pages (lists of `StockLevel`, e.g. a generator yielding
    one list per API page); core records each page before asking for the next, and forgets
    levels the store no longer reports only once the last page came. Raises `AuthError`,
    `RateLimited`, `TransientError`, `BadResponse` (from the call, or while iterating).
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_backorder_policies(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[BackorderPolicy] | Iterable[list[BackorderPolicy]]:
    """Read each SKU's "continue selling when out of stock" flag and whether it is tracked.

    Receives the connection, the SKUs (`None` = all) and the pass's `PassScope` (`None`
    outside a pass). Returns one `BackorderPolicy` per known SKU: one list for given `skus`,
    an iterable of pages (lists of `BackorderPolicy`) for `skus=None`. Raises as
    `shelfsync_fetch_stock_levels`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_catalog(
    connection: Connection, scope: PassScope | None
) -> Iterable[list[CatalogItem]]:
    """Read the store's catalog: products, variants, SKU, price and currency.

    Receives the connection and the pass's `PassScope` (`None` outside a pass). Returns every
    variant as an iterable of pages (lists of `CatalogItem`); core stores each page before
    asking for the next and removes the variants the read did not return only once it
    finished. Raises as `shelfsync_fetch_stock_levels`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_poll_stock_changes(
    connection: Connection, cursor: str | None, scope: PassScope | None
) -> StockChanges:
    """Find the SKUs whose stock changed since `cursor`, for a store that sends no webhooks.

    Optional, for stores whose stock moves without a webhook (Magento Open Source; stock a
    WooCommerce order moved). Core schedules it per store every `poll_seconds` (a store
    setting the plugin declares; default 60) and queues the answered SKUs exactly like a
    webhook's, so one pass reads and pushes them. Receives the connection, the cursor the
    previous poll answered (`None` on the first poll: take a baseline, and report what a
    cheap read can tell changed, possibly nothing) and the pass scope. Returns
    `StockChanges`; a poll that cannot finish raises (`RateLimited`, `TransientError`,
    `BadResponse`) and core keeps the old cursor, so nothing is skipped.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_create_order(connection: Connection, order: ChannelOrder) -> StoreOrderRef:
    """Create the store order for a channel order, exactly once.

    Receives the connection and the channel order. Returns the store order's ref. Must be
    idempotent on `order.id`: when an order for it already exists in the store, that order's
    ref comes back with `created=False` instead of a second order. Raises `NotFound` for an
    unknown SKU, `BadRequest` for an order the store refuses, `AuthError`, `RateLimited`,
    `TransientError`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_order_status(
    connection: Connection, order_ref: StoreOrderRef
) -> StoreOrderStatus:
    """Read a store order's fulfilment, cancellation and refund state.

    Receives the connection and the ref `shelfsync_create_order` returned. Returns its
    status. Raises `NotFound`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_cancel_store_order(
    connection: Connection, order_ref: StoreOrderRef, reason: str, restock: bool
) -> StoreOrderStatus:
    """Cancel a store order the channel's buyer or the channel cancelled.

    Optional (a store that cannot cancel through its API leaves it out; core then records the
    cancellation and says so). Receives the connection, the store order as `create_order`
    answered it, the channel's reason (text a merchant reads on the order) and whether the
    cancelled units go back to stock (the channel's setting). Idempotent: an order already
    cancelled answers its status without a second cancellation. Returns the order's status
    after the call. Raises `NotFound` for an unknown order, `BadRequest` when the store
    refuses (already fulfilled).
    Routed, firstresult: called on the connection's platform plugin only.
    """


# --- channel side -------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_fetch_listings(connection: Connection) -> Iterable[list[Listing]]:
    """Read every SKU the channel shop lists, with its `seller_sku` and current quantities.

    Receives the connection. Returns the listings as an iterable of pages (lists of
    `Listing`, e.g. a generator yielding one list per API page); core stores each page
    before asking for the next and forgets listings the read did not return only once it
    finished. Raises `AuthError`, `RateLimited`, `TransientError`, `BadResponse` (from the
    call, or while iterating).
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_push_inventory(
    connection: Connection, updates: Sequence[InventoryUpdate], scope: PassScope | None
) -> list[PushResult]:
    """Set channel quantities, batched per product (one call per product).

    Receives the connection, the updates (one total quantity per SKU; how it spreads over
    the shop's warehouses is the plugin's choice) and the pass's `PassScope` (`None` outside
    a pass), where the plugin may keep what the pass's later pushes reuse (the warehouse it
    chose). Returns one `PushResult` per update whose `kind` tells core what to do: done,
    retry soon, quarantine, or a stale target (retried soon). A SKU the channel rejects is a
    failed result, never an exception for the whole batch. Raises `AuthError`,
    `RateLimited`, `TransientError` only when a whole call could not be made.
    Wrap it (`wrapper=True`) to observe or time pushes.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_orders(
    connection: Connection,
    updated_since: datetime | None,
    cursor: str | None,
) -> OrderPage:
    """Read one page of orders changed since a time, continuing from a cursor.

    Receives the connection, the lower bound of the update window (`None` = all) and the
    cursor of the previous page (`None` = first page). Returns the page and the next cursor
    (`None` at the end); each order carries the shop's id (`connection.platform_id`).
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_order(connection: Connection, order_id: str) -> ChannelOrder:
    """Read one channel order by its id (a webhook named it).

    Optional: without it core reads the page of orders changed since the webhook's time and
    takes the named one from it (up to a page of orders parsed for one). Receives the
    connection and the channel's order id. Returns the order, carrying the shop's id
    (`connection.platform_id`). Raises `NotFound` when the channel has no such order for
    this shop.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_push_fulfillment(connection: Connection, fulfillment: Fulfillment) -> bool:
    """Send a store shipment's tracking for a channel order, exactly once.

    Optional (a channel that ships every order itself leaves it out). Receives the
    connection and the fulfilment: the channel order id, the line items it ships (all when
    empty), the tracking number, the store's carrier name and the channel shipping provider
    core mapped it to. Idempotent: lines already shipped with this tracking number answer
    True without a second shipment (a retry after a lost answer). Returns True when the
    channel has the tracking. Raises `BadRequest` when the channel refuses it for good (the
    lines were shipped with other tracking, the order is cancelled; the message says why),
    `NotFound` for an unknown order, `AuthError`, `RateLimited`, `TransientError`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_push_cancellation(connection: Connection, order_id: str, reason: str) -> bool:
    """Cancel a channel order because the store cancelled it, exactly once.

    Optional. Receives the connection, the channel order id and the store's reason word
    (Shopify's CUSTOMER, INVENTORY …), which the plugin maps to one of the channel's own
    cancel reasons. Idempotent: an order already cancelled answers True. Returns True when
    the channel cancelled it. Raises `BadRequest` when the channel refuses (already shipped,
    past the seller's window; the message says why), `NotFound`, `AuthError`, `RateLimited`,
    `TransientError`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_shipping_providers(connection: Connection) -> list[ShippingProvider]:
    """List the shipping providers the shop may ship its orders with.

    Optional (carrier mapping needs it). Receives the connection. Returns every provider of
    every delivery option of the shop's sales warehouses (TikTok: delivery options per
    warehouse, providers per option); a provider under two options appears once per option.
    An answer missing its list raises `BadResponse` (never "no providers"). Raises
    `AuthError`, `RateLimited`, `TransientError`, `BadResponse`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_returns(
    connection: Connection, order_id: str | None, updated_since: datetime | None,
    cursor: str | None,
) -> ReturnPage:
    """Read one page of the channel's returns and refunds.

    Optional. Receives the connection, one channel order id (`None`: every order's), the
    lower bound of the update window (`None` = all) and the cursor of the previous page.
    Returns the page (`ChannelReturn`s: completed or not, the lines and money refunded) and
    the next cursor (`None` at the end). Raises `AuthError`, `RateLimited`,
    `TransientError`, `BadResponse`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_refund_store_order(
    connection: Connection, order_ref: StoreOrderRef, refund: StoreRefund
) -> StoreRefundResult:
    """Refund units and money on a store order because the channel refunded the buyer.

    Optional (a store that cannot refund through its API leaves it out; core then records
    the refund for the merchant). Receives the connection, the store order as
    `create_order` answered it and the refund: its id (the channel's return id), store SKU →
    units, the amount in the store's currency and whether the units go back to stock.
    Returns the store's refund. Idempotent on `refund.id`: a refund already made for it
    answers with `created=False` instead of a second refund. Raises `NotFound` for an
    unknown order, `BadRequest` when the store refuses (more than what is left to refund),
    `AuthError`, `RateLimited`, `TransientError`.
    Routed, firstresult: called on the connection's platform plugin only.
    """


# --- both sides ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_verify_webhook(
    connection: Connection, headers: Mapping[str, str], body: bytes
) -> WebhookEvent:
    """Check a webhook's signature in constant time, then parse it.

    Receives the connection it was addressed to, the request headers (case-insensitive
    mapping) and the raw body bytes. Returns the parsed event. Raises
    `WebhookSignatureError` on a missing or wrong signature (nothing is parsed before the
    check), `BadResponse` on a body that cannot be
    parsed after a good signature.
    Routed, firstresult: called on the connection's platform plugin only.
    """


@hookspec(firstresult=True)
def shelfsync_subscribe_webhooks(connection: Connection, address: str) -> list[str]:
    """Make the platform send this connection's events to `address`.

    Receives the connection and `address`, our receiver's URL for that connection
    (`https://…/webhooks/<platform>/<connection id>`).

    Idempotent: subscriptions already sending to `address` are kept, missing ones created,
    so running it again (after a restart, a re-authorization) never duplicates deliveries.
    Returns the platform's names of the topics now sent to `address`. Raises
    `AuthError`/`PermissionDenied` when the credentials may not manage webhooks,
    `BadRequest` when the platform refuses the address.
    Routed, firstresult: called on the connection's platform plugin only.
    """


# --- cross-cutting ------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_adjust_decision(
    channel: Connection, sku: str, decision: Any, inputs: Mapping[str, Any]
) -> Any | None:
    """Adjust an inventory decision before it is pushed (e.g. a custom buffer rule).

    Receives the channel connection, the store SKU, the `rules.Decision` core computed and
    the inputs it came from. Returns a replacement `Decision`, or `None` to keep it.
    Cross-cutting, so called on every plugin (not routed by platform); firstresult: the
    first plugin that answers wins. Raises nothing.
    """
