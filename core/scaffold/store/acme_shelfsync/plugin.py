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


@hookimpl
def shelfsync_fetch_stock_levels(connection: Connection,
                                 skus: Sequence[str] | None) -> list[StockLevel]:
    if skus is not None and not skus:
        return []
    with AcmeClient(connection) as client:
        active = {loc.id for loc in map(mapping.location, client.locations()) if loc.active}
        levels = [mapping.stock_level(row) for page in client.stock(skus) for row in page]
    wanted = None if skus is None else set(skus)
    # Stock at an inactive location cannot be sold: it is not reported.
    return [level for level in levels if level.location_id in active
            and (wanted is None or level.sku in wanted)]


def _variants(client: AcmeClient) -> Iterator[Any]:
    for page in client.products():
        for product in page:
            yield from mapping.field(product, "variants", list)


@hookimpl
def shelfsync_fetch_backorder_policies(connection: Connection,
                                       skus: Sequence[str] | None) -> list[BackorderPolicy]:
    with AcmeClient(connection) as client:
        policies = [mapping.backorder_policy(v) for v in _variants(client)]
    return [p for p in policies if skus is None or p.sku in skus]


@hookimpl
def shelfsync_fetch_catalog(connection: Connection) -> list[CatalogItem]:
    with AcmeClient(connection) as client:
        return [item for page in client.products() for product in page
                for item in mapping.catalog_items(product)]


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
