"""The Magento 2 plugin's hook implementations (store role).

Core calls these only for Magento connections (routing by platform). Magento Open Source
sends no webhooks, so changes are found by `shelfsync_poll_stock_changes` every
`poll_seconds`, and `shelfsync_verify_webhook` refuses everything addressed to a Magento
connection. The fake and its CLI command are imported inside their hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import click

from shelfsync.core.errors import WebhookSignatureError
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
from shelfsync.plugins.magento import orders, poll, reads, settings
from shelfsync.plugins.magento.client import PLATFORM, MagentoClient

INFO = PlatformInfo(
    name=PLATFORM,
    title="Magento 2 / Adobe Commerce",
    role=Role.STORE,
    capabilities=Capabilities(has_locations=True, continue_selling=ContinueSelling.FLAG,
                              webhooks=False),
    credential_fields=settings.CREDENTIAL_FIELDS,
    version="1",
    setting_fields=settings.SETTING_FIELDS,
)


@hookimpl
def shelfsync_platform_info() -> PlatformInfo:
    """Magento is a store with MSI sources, backorders, and no webhooks."""
    return INFO


@hookimpl
def shelfsync_fake_factory() -> tuple[str, Callable[..., Any]]:
    """The local fake of the admin REST API."""
    from shelfsync.plugins.magento.fake import MagentoFake

    return PLATFORM, MagentoFake


@hookimpl
def shelfsync_register_commands(cli: click.Group) -> None:
    """Add `shelfsync fake magento` under the core `fake` group."""
    add_fake_command(cli, PLATFORM, "shelfsync.plugins.magento.commands:fake_command")


@hookimpl
def shelfsync_check_connection(connection: Connection) -> AccountInfo:
    """Read the store view's configuration: proves the token (its ACL includes stores),
    names the installation by its secure base URL and store code, and says the base
    currency the store view prices in."""
    with MagentoClient(connection) as client:
        currency, config = reads.store_currency(client)
    base = str(config.get("secure_base_url") or config.get("base_url") or connection.base_url)
    return AccountInfo(platform_id=f"{base.rstrip('/')}#{client.store_code}",
                       name=f"{base.rstrip('/')} ({client.store_code})", currency=currency)


@hookimpl
def shelfsync_fetch_locations(connection: Connection, scope: PassScope | None
                              ) -> list[Location]:
    """MSI sources (active when enabled and linked to the stock), or the legacy stock."""
    with MagentoClient(connection) as client:
        return reads.read_locations(client, scope)


@hookimpl
def shelfsync_fetch_stock_levels(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[StockLevel] | Iterator[list[StockLevel]]:
    """Per-source levels plus the stock's reservations (see `reads`): the given SKUs' in one
    list, or the whole store's page by page."""
    if skus is None:
        return _whole_stock(connection, scope)
    with MagentoClient(connection) as client:
        return reads.stock_for(client, skus, scope)


def _whole_stock(connection: Connection, scope: PassScope | None
                 ) -> Iterator[list[StockLevel]]:
    with MagentoClient(connection) as client:
        yield from reads.stock_pages(client, scope)


@hookimpl
def shelfsync_fetch_backorder_policies(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[BackorderPolicy] | Iterator[list[BackorderPolicy]]:
    """Effective backorders / manage stock of each sellable product."""
    if skus is None:
        return _whole_policies(connection)
    with MagentoClient(connection) as client:
        return reads.policies_for(client, skus)


def _whole_policies(connection: Connection) -> Iterator[list[BackorderPolicy]]:
    with MagentoClient(connection) as client:
        yield from reads.policy_pages(client)


@hookimpl
def shelfsync_fetch_catalog(connection: Connection) -> Iterator[list[CatalogItem]]:
    """Simple and virtual products (configurable children under their parent), page by
    page, priced in the store's base currency."""
    with MagentoClient(connection) as client:
        yield from reads.catalog_pages(client)


@hookimpl
def shelfsync_poll_stock_changes(connection: Connection, cursor: str | None,
                                 scope: PassScope | None) -> StockChanges:
    """SKUs whose stock or flags may have changed since `cursor` (see `poll`)."""
    with MagentoClient(connection) as client:
        return poll.poll(client, cursor, scope)


@hookimpl
def shelfsync_create_order(connection: Connection, order: ChannelOrder) -> StoreOrderRef:
    """Place the order once through the guest checkout (see `orders`)."""
    with MagentoClient(connection) as client:
        return orders.create_order(client, order)


@hookimpl
def shelfsync_fetch_order_status(connection: Connection, order_ref: StoreOrderRef
                                 ) -> StoreOrderStatus:
    """Shipped, cancelled and refunded state of a store order."""
    with MagentoClient(connection) as client:
        return orders.order_status(client, order_ref)


@hookimpl
def shelfsync_cancel_store_order(connection: Connection, order_ref: StoreOrderRef,
                                 reason: str, restock: bool) -> StoreOrderStatus:
    """Cancel the order (Magento always returns its units to stock on cancel)."""
    with MagentoClient(connection) as client:
        return orders.cancel_order(client, order_ref)


@hookimpl
def shelfsync_verify_webhook(connection: Connection, headers: Mapping[str, str],
                             body: bytes) -> WebhookEvent:
    """Magento sends no webhooks: whatever arrives for a Magento connection is refused."""
    raise WebhookSignatureError("magento: Magento sends no webhooks; changes are found by "
                                "polling", platform=PLATFORM)
