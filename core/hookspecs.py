"""The plugin contract: one documented hookspec per capability.

Operation hooks are `firstresult`: the engine calls them with a `connection`, and only the
plugin whose platform is `connection.platform` answers; every other plugin returns `None`.
Callers always pass keyword arguments, so a hook may gain arguments later and an
implementation may accept fewer than the spec names (pluggy's rule).

Every hook is documented, with an example, in docs/plugin_hooks.md; tests/core/test_docs.py
fails when a hook is undocumented or its documented arguments drift from this file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
import pluggy

from shelfsync.core.types import (
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
    PlatformInfo,
    PushResult,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    WebhookEvent,
)

PROJECT = "shelfsync"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


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
def shelfsync_check_connection(connection: Connection) -> PlatformInfo | None:
    """Make one cheap live call proving the credentials work, before they are saved.

    Receives the connection. Returns the plugin's `PlatformInfo` on success, `None` when the
    connection is not this plugin's platform. firstresult. Raises `AuthError` when the
    credentials are refused, `TransientError`/`RateLimited`/`BadResponse` otherwise.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_authorized_shops(connection: Connection) -> list[AuthorizedShop] | None:
    """List the shops a channel app is authorized for (used to pick one when connecting).

    Receives the connection (app credentials). Returns the shops with their ids and ciphers,
    or `None` when not this plugin's platform. firstresult. Raises `AuthError`.
    """


# --- store side ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_fetch_locations(connection: Connection) -> list[Location] | None:
    """List the store's locations (or a channel's warehouses), with their active flag.

    Receives the connection. Returns every location, inactive ones included with
    `active=False`, or `None` when not this plugin's platform. firstresult. Raises
    `AuthError`, `RateLimited`, `TransientError`, `BadResponse`.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_stock_levels(
    connection: Connection, skus: Sequence[str] | None
) -> list[StockLevel] | None:
    """Read available stock per SKU per location.

    Receives the connection and the SKUs to read (`None` = the whole catalog). Returns one
    `StockLevel` per SKU and location that the store tracks; a SKU unknown to the store is
    simply absent. `None` when not this plugin's platform. firstresult. Raises `AuthError`,
    `RateLimited`, `TransientError`, `BadResponse`.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_backorder_policies(
    connection: Connection, skus: Sequence[str] | None
) -> list[BackorderPolicy] | None:
    """Read each SKU's "continue selling when out of stock" flag and whether it is tracked.

    Receives the connection and the SKUs (`None` = all). Returns one `BackorderPolicy` per
    known SKU, or `None` when not this plugin's platform. firstresult. Raises as
    `shelfsync_fetch_stock_levels`.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_catalog(connection: Connection) -> list[CatalogItem] | None:
    """Read the store's catalog: products, variants, SKU, price and currency.

    Receives the connection. Returns every variant, or `None` when not this plugin's
    platform. firstresult. Raises as `shelfsync_fetch_stock_levels`.
    """


@hookspec(firstresult=True)
def shelfsync_create_order(connection: Connection, order: ChannelOrder) -> StoreOrderRef | None:
    """Create the store order for a channel order, exactly once.

    Receives the connection and the channel order. Must be idempotent on `order.id`: when an
    order for it already exists in the store, returns its ref with `created=False` instead of
    creating a second one. Returns `None` when not this plugin's platform. firstresult.
    Raises `NotFound` for an unknown SKU, `BadRequest` for an order the store refuses,
    `AuthError`, `RateLimited`, `TransientError`.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_order_status(
    connection: Connection, order_ref: StoreOrderRef
) -> StoreOrderStatus | None:
    """Read a store order's fulfilment, cancellation and refund state.

    Receives the connection and the ref `shelfsync_create_order` returned. Returns its
    status, or `None` when not this plugin's platform. firstresult. Raises `NotFound`.
    """


# --- channel side -------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_fetch_listings(connection: Connection) -> list[Listing] | None:
    """Read every SKU the channel shop lists, with its `seller_sku` and current quantities.

    Receives the connection. Returns the listings, or `None` when not this plugin's platform.
    firstresult. Raises `AuthError`, `RateLimited`, `TransientError`, `BadResponse`.
    """


@hookspec(firstresult=True)
def shelfsync_push_inventory(
    connection: Connection, updates: Sequence[InventoryUpdate]
) -> list[PushResult] | None:
    """Set channel quantities, batched per product (one call per product and warehouse set).

    Receives the connection and the updates. Returns one `PushResult` per update: a SKU the
    channel rejects is a failed result with its code and message, never an exception for the
    whole batch. `None` when not this plugin's platform. firstresult. Raises `AuthError`,
    `RateLimited`, `TransientError` only when a whole call could not be made.
    Wrap it (`wrapper=True`) to observe or time pushes.
    """


@hookspec(firstresult=True)
def shelfsync_fetch_orders(
    connection: Connection,
    updated_since: datetime | None,
    cursor: str | None,
) -> OrderPage | None:
    """Read one page of orders changed since a time, continuing from a cursor.

    Receives the connection, the lower bound of the update window (`None` = all) and the
    cursor of the previous page (`None` = first page). Returns the page and the next cursor
    (`None` at the end), or `None` when not this plugin's platform. firstresult.
    """


@hookspec(firstresult=True)
def shelfsync_push_fulfillment(connection: Connection, fulfillment: Fulfillment) -> bool | None:
    """Send tracking for a channel order.

    Receives the connection and the fulfilment. Returns True when the channel accepted it,
    `None` when not this plugin's platform. firstresult. Raises `BadRequest`, `NotFound`.
    """


@hookspec(firstresult=True)
def shelfsync_push_cancellation(connection: Connection, order_id: str, reason: str) -> bool | None:
    """Cancel a channel order (the store cancelled it).

    Receives the connection, the channel order id and a reason. Returns True when accepted,
    `None` when not this plugin's platform. firstresult. Raises `BadRequest`, `NotFound`.
    """


# --- both sides ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_verify_webhook(
    connection: Connection, headers: Mapping[str, str], body: bytes
) -> WebhookEvent | None:
    """Check a webhook's signature in constant time, then parse it.

    Receives the connection it was addressed to, the request headers (case-insensitive
    mapping) and the raw body bytes. Returns the parsed event, or `None` when not this
    plugin's platform. firstresult. Raises `WebhookSignatureError` on a missing or wrong
    signature (nothing is parsed before the check), `BadResponse` on a body that cannot be
    parsed after a good signature.
    """


@hookspec(firstresult=True)
def shelfsync_subscribe_webhooks(connection: Connection, address: str) -> list[str] | None:
    """Make the platform send this connection's events to `address`.

    Receives the connection and `address`, our receiver's URL for that connection
    (`https://…/webhooks/<platform>/<connection id>`).

    Idempotent: subscriptions already sending to `address` are kept, missing ones created,
    so running it again (after a restart, a re-authorization) never duplicates deliveries.
    Returns the platform's names of the topics now sent to `address`, or `None` when not this
    plugin's platform. firstresult. Raises `AuthError`/`PermissionDenied` when the
    credentials may not manage webhooks, `BadRequest` when the platform refuses the address.
    """


# --- cross-cutting ------------------------------------------------------------------------


@hookspec(firstresult=True)
def shelfsync_adjust_decision(
    channel: Connection, sku: str, decision: Any, inputs: Mapping[str, Any]
) -> Any | None:
    """Adjust an inventory decision before it is pushed (e.g. a custom buffer rule).

    Receives the channel connection, the store SKU, the `rules.Decision` core computed and
    the inputs it came from. Returns a replacement `Decision`, or `None` to keep it.
    firstresult: the first plugin that answers wins. Raises nothing.
    """
