"""The WooCommerce plugin's hook implementations (store role).

Core calls these only for WooCommerce connections (routing by platform), so no hook checks
the platform. WooCommerce has no locations: every SKU's stock is at one location,
`"default"`. What a stock read and the flags read of the same pass share lives in the pass's
`PassScope` (see reads.PassReads). The fake and its CLI command are imported inside their
hooks, so loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.plugins import add_fake_command
from shelfsync.core.types import (
    AccountInfo,
    BackorderPolicy,
    Capabilities,
    CatalogItem,
    ChannelOrder,
    Connection,
    ContinueSelling,
    Location,
    PassScope,
    PlatformInfo,
    Role,
    StockChanges,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    WebhookEvent,
)
from shelfsync.plugins.woocommerce import mapping, orders, poll, settings, subscriptions, webhooks
from shelfsync.plugins.woocommerce.client import PLATFORM, WooClient
from shelfsync.plugins.woocommerce.reads import PassReads, read_skus, titled_pages

CURRENCY_SETTING = "settings/general/woocommerce_currency"

INFO = PlatformInfo(
    name=PLATFORM,
    title="WooCommerce",
    role=Role.STORE,
    capabilities=Capabilities(has_locations=False, continue_selling=ContinueSelling.FLAG),
    credential_fields=settings.CREDENTIAL_FIELDS,
    version="1",
    setting_fields=settings.SETTING_FIELDS,
)


# --- registration ---------------------------------------------------------------------------


@hookimpl
def shelfsync_platform_info() -> PlatformInfo:
    """WooCommerce is a store without locations, with backorders as continue-selling."""
    return INFO


@hookimpl
def shelfsync_fake_factory() -> tuple[str, Callable[..., Any]]:
    """The local fake of the wc/v3 REST API."""
    from shelfsync.plugins.woocommerce.fake import WooCommerceFake

    return PLATFORM, WooCommerceFake


@hookimpl
def shelfsync_register_commands(cli: click.Group) -> None:
    """Add `shelfsync fake woocommerce` under the core `fake` group."""
    add_fake_command(cli, PLATFORM, "shelfsync.plugins.woocommerce.commands:fake_command")


# --- reads ----------------------------------------------------------------------------------


@hookimpl
def shelfsync_check_connection(connection: Connection) -> AccountInfo:
    """Read the store currency: cheap, needs a valid key, and proves wc/v3 answers here. The
    site's URL is its id; the currency is the one its prices are in."""
    with WooClient(connection) as client:
        currency = mapping.currency(client.get(CURRENCY_SETTING))
    site = connection.base_url.rstrip("/")
    return AccountInfo(platform_id=site.split("://", 1)[-1], name=site, currency=currency)


@hookimpl
def shelfsync_fetch_locations(connection: Connection) -> list[Location]:
    """The one implicit location WooCommerce's stock sits at (no API call)."""
    return [Location(id=mapping.LOCATION_ID, name="Store stock", active=True, is_default=True)]


@hookimpl
def shelfsync_fetch_stock_levels(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[StockLevel] | Iterator[list[StockLevel]]:
    """Stock of every tracked SKU (its own or its parent's): the given SKUs' in one list, or
    the whole store's page by page."""
    if skus is None:
        return _whole_stock(connection)
    with WooClient(connection) as client:
        items = read_skus(client, skus)
    if scope is not None:
        reads = PassReads(scope)
        reads.asked(list(skus))
        reads.keep(items)
    observed = datetime.now(UTC)
    return [level for item in items if (level := mapping.stock_level(item, observed))]


def _whole_stock(connection: Connection) -> Iterator[list[StockLevel]]:
    with WooClient(connection) as client:
        for page in titled_pages(client):
            observed = datetime.now(UTC)
            yield [level for item, _ in page if (level := mapping.stock_level(item, observed))]


@hookimpl
def shelfsync_fetch_backorder_policies(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[BackorderPolicy] | Iterator[list[BackorderPolicy]]:
    """Backorders allowed, or an untracked item not marked out of stock, keeps selling."""
    if skus is None:
        return _whole_policies(connection)
    shared = PassReads(scope).take(list(skus)) if scope is not None else None
    if shared is not None:  # the pass's stock read of the same SKUs carried the flags
        return [mapping.backorder_policy(item) for item in shared]
    with WooClient(connection) as client:
        return [mapping.backorder_policy(item) for item in read_skus(client, skus)]


def _whole_policies(connection: Connection) -> Iterator[list[BackorderPolicy]]:
    with WooClient(connection) as client:
        for page in titled_pages(client):
            yield [mapping.backorder_policy(item) for item, _ in page]


@hookimpl
def shelfsync_fetch_catalog(connection: Connection) -> Iterator[list[CatalogItem]]:
    """Every simple product and variation with a SKU, its price and the store currency."""
    with WooClient(connection) as client:
        currency = mapping.currency(client.get(CURRENCY_SETTING))
        for page in titled_pages(client):
            yield [mapping.catalog_item(item, title, currency) for item, title in page]


@hookimpl
def shelfsync_poll_stock_changes(connection: Connection, cursor: str | None,
                                 scope: PassScope | None) -> StockChanges:
    """Products and orders modified since the cursor, as SKUs (see poll.py)."""
    with WooClient(connection) as client:
        return poll.poll(client, cursor)


# --- orders ---------------------------------------------------------------------------------


@hookimpl
def shelfsync_create_order(connection: Connection, order: ChannelOrder) -> StoreOrderRef:
    """Create the order once, its TikTok id in `meta_data` (see orders.py for the look-up)."""
    with WooClient(connection) as client:
        return orders.create_order(client, order)


@hookimpl
def shelfsync_fetch_order_status(connection: Connection,
                                 order_ref: StoreOrderRef) -> StoreOrderStatus:
    """Completed, cancelled, refunded, and tracking when Shipment Tracking recorded it."""
    with WooClient(connection) as client:
        return orders.order_status(client, order_ref)


@hookimpl
def shelfsync_cancel_store_order(connection: Connection, order_ref: StoreOrderRef, reason: str,
                                 restock: bool) -> StoreOrderStatus:
    """Cancel once. WooCommerce returns a cancelled order's units to stock by itself, so
    `restock=False` cannot be honoured through its API (docs/plugins/woocommerce.md)."""
    with WooClient(connection) as client:
        return orders.cancel(client, order_ref, reason)


# --- webhooks -------------------------------------------------------------------------------


@hookimpl
def shelfsync_subscribe_webhooks(connection: Connection, address: str) -> list[str]:
    """Product and order topics to `address`, signed with the `webhook_secret` credential."""
    with WooClient(connection) as client:
        return subscriptions.subscribe(client, address)


@hookimpl
def shelfsync_verify_webhook(connection: Connection, headers: Mapping[str, str],
                             body: bytes) -> WebhookEvent:
    """Check X-WC-Webhook-Signature over the raw body, then parse it by its shape."""
    return webhooks.verify_and_parse(connection.credentials.get("webhook_secret", ""),
                                     headers, body)
