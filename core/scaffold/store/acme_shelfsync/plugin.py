"""Shelfsync hooks for acme (a store): each hook calls the client and the mapping.

TODO: capabilities and fields of the real platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import click
from acme_shelfsync import mapping
from acme_shelfsync.client import PAGE_SIZE, PLATFORM, AcmeClient

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
    FieldSpec,
    Location,
    PlatformInfo,
    Role,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    WebhookEvent,
)


@hookimpl
def shelfsync_platform_info() -> PlatformInfo:
    return PlatformInfo(
        name=PLATFORM, title="Acme", role=Role.STORE,
        capabilities=Capabilities(has_locations=True),
        credential_fields=(FieldSpec("api_token", "API token", secret=True, required=True),
                           FieldSpec("webhook_secret", "Webhook secret", secret=True,
                                     required=True)),
        setting_fields=(PAGE_SIZE,))


@hookimpl
def shelfsync_fake_factory() -> tuple[str, Callable[..., Any]]:
    from acme_shelfsync.fake import AcmeFake

    return PLATFORM, AcmeFake


@hookimpl
def shelfsync_register_commands(cli: click.Group) -> None:
    add_fake_command(cli, PLATFORM, "acme_shelfsync.commands:fake_command")


@hookimpl
def shelfsync_check_connection(connection: Connection) -> AccountInfo:
    with AcmeClient(connection) as client:
        shop = client.shop()
    return AccountInfo(platform_id=mapping.field(shop, "id", str),
                       name=mapping.field(shop, "name", str))


@hookimpl
def shelfsync_fetch_locations(connection: Connection) -> list[Location]:
    with AcmeClient(connection) as client:
        return [mapping.location(row) for row in client.locations()]


# A whole-catalog read (`skus=None`) yields pages, one list per API page, so the engine records
# a page before the next is read and memory does not grow with the catalog; a read of given
# SKUs (a webhook's) answers one list.


def _stock_pages(connection: Connection, skus: Sequence[str] | None) -> Iterator[list[StockLevel]]:
    with AcmeClient(connection) as client:
        active = {loc.id for loc in map(mapping.location, client.locations()) if loc.active}
        wanted = None if skus is None else set(skus)
        for page in client.stock(skus):
            levels = [mapping.stock_level(row) for row in page]
            # Stock at an inactive location cannot be sold: it is not reported.
            yield [level for level in levels if level.location_id in active
                   and (wanted is None or level.sku in wanted)]


@hookimpl
def shelfsync_fetch_stock_levels(connection: Connection, skus: Sequence[str] | None
                                 ) -> list[StockLevel] | Iterator[list[StockLevel]]:
    if skus is None:
        return _stock_pages(connection, None)
    if not skus:
        return []
    return [level for page in _stock_pages(connection, skus) for level in page]


def _policy_pages(connection: Connection) -> Iterator[list[BackorderPolicy]]:
    with AcmeClient(connection) as client:
        for page in client.products():
            yield [mapping.backorder_policy(v) for product in page
                   for v in mapping.field(product, "variants", list)]


@hookimpl
def shelfsync_fetch_backorder_policies(connection: Connection, skus: Sequence[str] | None
                                       ) -> list[BackorderPolicy] | Iterator[list[BackorderPolicy]]:
    if skus is None:
        return _policy_pages(connection)
    wanted = set(skus)
    return [p for page in _policy_pages(connection) for p in page if p.sku in wanted]


@hookimpl
def shelfsync_fetch_catalog(connection: Connection) -> Iterator[list[CatalogItem]]:
    with AcmeClient(connection) as client:
        for page in client.products():
            yield [item for product in page for item in mapping.catalog_items(product)]


@hookimpl
def shelfsync_create_order(connection: Connection, order: ChannelOrder) -> StoreOrderRef:
    with AcmeClient(connection) as client:
        row, created = client.create_order(order.id, mapping.order_body(order))
    return mapping.order_ref(row, created)


@hookimpl
def shelfsync_fetch_order_status(connection: Connection,
                                 order_ref: StoreOrderRef) -> StoreOrderStatus:
    with AcmeClient(connection) as client:
        return mapping.order_status(client.order(order_ref.id))


@hookimpl
def shelfsync_verify_webhook(connection: Connection, headers: Mapping[str, str],
                             body: bytes) -> WebhookEvent:
    # TODO: the real platform's signature scheme. Checked over the raw body, before parsing.
    lowered = {k.lower(): v for k, v in headers.items()}
    expected = hmac.new(connection.credentials["webhook_secret"].encode(), body,
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, lowered.get("x-acme-signature", "")):
        raise WebhookSignatureError(f"{PLATFORM}: bad signature", platform=PLATFORM)
    payload = json.loads(body)
    return WebhookEvent(platform=PLATFORM, topic=lowered.get("x-acme-event", ""),
                        dedup_key=str(payload.get("id", "")), payload=payload)
