"""The Shopify plugin's hook implementations (store role).

Core calls these only for Shopify connections (routing by platform), so no hook checks the
platform. What a stock read and the flags read of the same pass share lives in the pass's
`PassScope` (see reads.PassReads), never in module state. The fake and its CLI command are
imported inside their hooks, so loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import click

from shelfsync.core.errors import (
    NotFound,
)
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.plugins import add_fake_command
from shelfsync.core.rest import create_once
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
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    WebhookEvent,
)
from shelfsync.plugins.shopify import (
    aftersale,
    bulk_reads,
    mapping,
    queries,
    settings,
    subscriptions,
    webhooks,
)
from shelfsync.plugins.shopify.aftersale import (  # noqa: F401  hookimpls, registered here
    shelfsync_cancel_store_order,
    shelfsync_refund_store_order,
)
from shelfsync.plugins.shopify.client import PLATFORM, ShopifyClient
from shelfsync.plugins.shopify.reads import (
    SKU_CHUNK,
    PassReads,
    page_size,
    read_locations,
    read_stock_levels,
    read_variants,
    stock_level_pages,
    variant_pages,
)
from shelfsync.plugins.shopify.reads import _sku_search as sku_search  # the same quoting

ORDER_TAG_PREFIX = "tiktok-order:"
ORDER_ATTRIBUTE = "tiktok_order_id"

INFO = PlatformInfo(
    name=PLATFORM,
    title="Shopify",
    role=Role.STORE,
    capabilities=Capabilities(has_locations=True, continue_selling=ContinueSelling.FLAG),
    credential_fields=settings.CREDENTIAL_FIELDS,
    version="1",
    setting_fields=settings.SETTING_FIELDS,
)


# --- registration ---------------------------------------------------------------------------


@hookimpl
def shelfsync_platform_info() -> PlatformInfo:
    """Shopify is a store with locations and a per-variant continue-selling flag."""
    return INFO


@hookimpl
def shelfsync_fake_factory() -> tuple[str, Callable[..., Any]]:
    """The local fake of the Admin GraphQL API."""
    from shelfsync.plugins.shopify.fake import ShopifyFake

    return PLATFORM, ShopifyFake


@hookimpl
def shelfsync_register_commands(cli: click.Group) -> None:
    """Add `shelfsync fake shopify` under the core `fake` group."""
    add_fake_command(cli, PLATFORM, "shelfsync.plugins.shopify.commands:fake_command")


# --- reads ----------------------------------------------------------------------------------


@hookimpl
def shelfsync_check_connection(connection: Connection) -> AccountInfo:
    """Read the shop: the cheapest call that proves the token works, names the shop (its
    myshopify domain is the store's own id) and says the currency it prices in."""
    with ShopifyClient(connection) as client:
        data = client.query(queries.SHOP)
    return replace(mapping.shop_account(data), currency=mapping.shop_currency(data))


@hookimpl
def shelfsync_fetch_locations(connection: Connection) -> list[Location]:
    """Every location, inactive ones included with `active=False`, active ones first."""
    with ShopifyClient(connection) as client:
        return read_locations(client)


@hookimpl
def shelfsync_fetch_stock_levels(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[StockLevel] | Iterator[list[StockLevel]]:
    """Available stock per tracked SKU at each active location: the given SKUs' in one
    list, or the whole shop's page by page (one list per page of variants).

    A SKU-scoped read within a pass lends the variants it saw (they carry the flags) to the
    pass's flags read, through the scope, and lists the locations at most once a minute
    (kept in the connection's cache core hands in with the scope).
    """
    cap = settings.LEVELS_PER_ITEM.read(connection.settings)
    if skus is None:
        if bulk_reads.enabled(connection):
            return bulk_reads.whole_stock(
                connection, scope,
                lambda client: stock_level_pages(client, page_size(connection), cap))
        return _whole_stock(connection, cap)
    with ShopifyClient(connection) as client:
        if scope is None:
            return read_stock_levels(client, skus, page_size(connection), cap)
        read: list[mapping.VariantStock] = []
        reads = PassReads(scope)
        levels = read_stock_levels(client, skus, page_size(connection),
                                   cap, reads.locations(client), read)
        reads.keep_variants(skus, read)
        return levels


def _whole_stock(connection: Connection, cap: int | None) -> Iterator[list[StockLevel]]:
    with ShopifyClient(connection) as client:
        yield from stock_level_pages(client, page_size(connection), cap)


@hookimpl
def shelfsync_fetch_backorder_policies(
    connection: Connection, skus: Sequence[str] | None, scope: PassScope | None
) -> list[BackorderPolicy] | Iterator[list[BackorderPolicy]]:
    """CONTINUE, or an untracked item, means the variant keeps selling when out of stock.
    The given SKUs' in one list, or the whole shop's page by page."""
    if skus is None:
        if bulk_reads.enabled(connection):
            return bulk_reads.whole_policies(
                connection, scope, lambda client: _policy_pages(client, connection))
        return _whole_policies(connection)
    shared = PassReads(scope).take_variants(skus) if scope is not None else None
    if shared is not None:  # the pass's stock read of the same SKUs carried the flags
        return [mapping.backorder_policy(variant) for variant in shared if variant.sku]
    with ShopifyClient(connection) as client:
        return [
            mapping.backorder_policy(variant)
            for variant in read_variants(client, queries.BACKORDER_POLICIES, {}, skus,
                                         page_size(connection))
            if variant.sku
        ]


def _whole_policies(connection: Connection) -> Iterator[list[BackorderPolicy]]:
    with ShopifyClient(connection) as client:
        yield from _policy_pages(client, connection)


def _policy_pages(client: ShopifyClient, connection: Connection
                  ) -> Iterator[list[BackorderPolicy]]:
    for page in variant_pages(client, queries.BACKORDER_POLICIES, {}, page_size(connection)):
        yield [mapping.backorder_policy(variant) for variant in page if variant.sku]


@hookimpl
def shelfsync_fetch_catalog(connection: Connection, scope: PassScope | None
                            ) -> Iterator[list[CatalogItem]]:
    """Every variant with its product, SKU, price and the shop's currency, page by page."""
    if bulk_reads.enabled(connection):
        return bulk_reads.whole_catalog(
            connection, scope,
            lambda client, currency: _catalog_pages(client, connection, currency))
    return _paged_catalog(connection)


def _paged_catalog(connection: Connection) -> Iterator[list[CatalogItem]]:
    with ShopifyClient(connection) as client:
        currency = mapping.shop_currency(client.query(queries.SHOP))
        yield from _catalog_pages(client, connection, currency)


def _catalog_pages(client: ShopifyClient, connection: Connection, currency: str
                   ) -> Iterator[list[CatalogItem]]:
    for page in client.paginate(queries.CATALOG, {"query": None}, "productVariants",
                                page_size=page_size(connection)):
        yield [mapping.to_catalog_item(node, currency) for node in page]


# --- orders ---------------------------------------------------------------------------------


def _tagged(data: Mapping[str, Any], order_id: str) -> StoreOrderRef | None:
    tag = f"{ORDER_TAG_PREFIX}{order_id}"
    page = mapping.obj(data.get("orders"), "orders")
    nodes = [mapping.obj(n, "orders.nodes[]") for n in mapping.items(page.get("nodes"),
                                                                       "orders.nodes")]
    return mapping.find_tagged_order(nodes, tag, ORDER_ATTRIBUTE, order_id)


def _existing_order(client: ShopifyClient, order_id: str) -> StoreOrderRef | None:
    tag = f"{ORDER_TAG_PREFIX}{order_id}"
    return _tagged(client.query(queries.ORDERS_BY_TAG, {"query": f'tag:"{tag}"'}), order_id)


def _lookup(client: ShopifyClient, order: ChannelOrder
            ) -> tuple[StoreOrderRef | None, dict[str, str]]:
    """The order already carrying the TikTok id, if any, and SKU → variant id of its lines:
    one request for an order of up to `SKU_CHUNK` SKUs (more: the variants are read apart)."""
    skus = list(dict.fromkeys(line.seller_sku for line in order.lines if line.seller_sku))
    tag = f"{ORDER_TAG_PREFIX}{order.id}"
    data = client.query(queries.ORDER_LOOKUP, {
        "query": f'tag:"{tag}"', "first": min(250, max(1, len(skus) * 2)),
        "variants": sku_search(skus[:SKU_CHUNK]) if skus else None})
    existing = _tagged(data, order.id)
    page = mapping.obj(data.get("productVariants"), "productVariants")
    more = mapping.obj(page.get("pageInfo"), "productVariants.pageInfo").get("hasNextPage")
    if existing is not None or not skus:
        return existing, {}
    if more or len(skus) > SKU_CHUNK:
        found = read_variants(client, queries.BACKORDER_POLICIES, {}, skus, None)
    else:
        found = (mapping.to_variant_stock(mapping.obj(node, "productVariants.nodes[]"))
                 for node in mapping.items(page.get("nodes"), "productVariants.nodes"))
    return None, {v.sku: v.variant_id for v in found if v.sku in skus}


@hookimpl
def shelfsync_create_order(connection: Connection, order: ChannelOrder) -> StoreOrderRef:
    """Create the order once: look for the channel order's tag before every attempt (the
    first look-up also reads the lines' variants, in the same request)."""
    with ShopifyClient(connection) as client:
        existing, variants = _lookup(client, order)
        if existing is not None:
            return existing
        skus = [line.seller_sku for line in order.lines]
        missing = sorted({sku for sku in skus if sku not in variants})
        if missing:
            raise NotFound(f"shopify: no variant with SKU {', '.join(map(repr, missing))}",
                           platform=PLATFORM)
        variables = {
            "order": mapping.order_input(order, variants, f"{ORDER_TAG_PREFIX}{order.id}",
                                         ORDER_ATTRIBUTE),
            # TikTok already sold the units: take them off stock even past zero.
            "options": {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY", "sendReceipt": False},
        }
        # Looked up again before every retry (the first look-up is `_lookup` above): a failed
        # attempt may have landed (a lost answer).
        ref, _ = create_once(
            lambda: _existing_order(client, order.id),
            lambda: mapping.created_order(
                client.mutate(queries.ORDER_CREATE, variables, "orderCreate")),
            client.policy, platform=PLATFORM, sleep=client.sleep, looked_up=True,
        )
        return ref


@hookimpl
def shelfsync_fetch_order_status(
    connection: Connection, order_ref: StoreOrderRef
) -> StoreOrderStatus:
    """Fulfilment, cancellation and refund state of a store order."""
    with ShopifyClient(connection) as client:
        data = client.query(queries.ORDER_STATUS, {"id": order_ref.id})
        status = mapping.to_order_status(data, order_ref.id)
        if not mapping.has_shipped(data) and not status.cancelled:
            return status
        # Each shipment with its lines and tracking (core sends each once), the cancel reason.
        shipped, reason = aftersale.shipments(
            client.query(aftersale.ORDER_SHIPMENTS, {"id": order_ref.id}), order_ref.id)
        latest = next((f for f in reversed(shipped) if f.tracking_number), None)
        return replace(status, fulfillments=shipped, cancel_reason=reason,
                       tracking_number=latest.tracking_number if latest else "",
                       carrier=latest.carrier if latest else "")


# --- webhooks -------------------------------------------------------------------------------


@hookimpl
def shelfsync_subscribe_webhooks(connection: Connection, address: str) -> list[str]:
    """Subscribe `address` to stock, item, product and uninstall events (see subscriptions)."""
    with ShopifyClient(connection) as client:
        return subscriptions.subscribe(client, address)


@hookimpl
def shelfsync_verify_webhook(
    connection: Connection, headers: Mapping[str, str], body: bytes
) -> WebhookEvent:
    """Check X-Shopify-Hmac-Sha256 over the raw body, then parse by the topic's shape (see
    `webhooks`: the signature covers the body only, so the body decides the effect)."""
    return webhooks.verify_and_parse(connection.credentials.get("client_secret", ""),
                                     headers, body)
