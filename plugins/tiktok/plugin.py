"""TikTok Shop hook implementations: a sales channel of many shops behind one app.

Core calls these only for TikTok connections (routing by platform), so no hook checks the
platform. HTTP, signing, retries, pacing and token refresh live in client.py; JSON ↔ types in
mapping.py; which warehouse a SKU's quantity goes to in warehouses.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

import click

from shelfsync.core.errors import (
    AuthError,
    BadResponse,
    NotFound,
    PluginError,
    WebhookSignatureError,
)
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.plugins import add_fake_command
from shelfsync.core.types import (
    CHANNEL_MAXIMUM,
    AccountInfo,
    AuthorizedShop,
    Capabilities,
    ChannelOrder,
    Connection,
    InventoryUpdate,
    Listing,
    Location,
    OrderPage,
    PassScope,
    PlatformInfo,
    PushOutcome,
    PushResult,
    Role,
    WebhookEvent,
)
from shelfsync.plugins.tiktok import mapping, settings, subscriptions, warehouses
from shelfsync.plugins.tiktok.aftersale import (  # noqa: F401  hookimpls, registered here
    shelfsync_fetch_returns,
    shelfsync_fetch_shipping_providers,
    shelfsync_push_cancellation,
    shelfsync_push_fulfillment,
)
from shelfsync.plugins.tiktok.client import DEFAULT_BASE_URL, PLATFORM, TikTokClient
from shelfsync.plugins.tiktok.signing import sign_webhook, signatures_match

SHOPS_PATH = "/authorization/202309/shops"
WAREHOUSES_PATH = "/logistics/202309/warehouses"
ORDERS_PATH = "/order/202309/orders/search"
ORDER_DETAIL_PATH = "/order/202309/orders"
INVENTORY_PATH = "/product/202309/products/{product_id}/inventory/update"
#: `settings["product_search_version"]` switches the version (e.g. to "202309") without a
#: code change.
PRODUCT_SEARCH_PATH = "/product/{version}/products/search"
#: TikTok ids are digit strings; anything else must not be spliced into a signed path.
_PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

INFO = PlatformInfo(
    name=PLATFORM,
    title="TikTok Shop",
    role=Role.CHANNEL,
    capabilities=Capabilities(
        has_locations=True, max_quantity=CHANNEL_MAXIMUM, webhooks=True, multi_shop=True
    ),
    credential_fields=settings.CREDENTIAL_FIELDS,
    version="202309",
    default_base_url=DEFAULT_BASE_URL,
    setting_fields=settings.SETTING_FIELDS,
)


# --- registration -------------------------------------------------------------------------


@hookimpl
def shelfsync_platform_info() -> PlatformInfo:
    """TikTok Shop: a channel with warehouses, several shops per app, max 99,999."""
    return INFO


@hookimpl
def shelfsync_fake_factory() -> tuple[str, Callable[..., Any]]:
    """`("tiktok", TikTokFake)`; imported here so loading the plugin never loads the fake."""
    from shelfsync.plugins.tiktok.fake import TikTokFake

    return PLATFORM, TikTokFake


@hookimpl
def shelfsync_register_commands(cli: click.Group) -> None:
    """Add `shelfsync fake tiktok` under the core `fake` group."""
    add_fake_command(cli, PLATFORM, "shelfsync.plugins.tiktok.commands:fake_command")


# --- connection ---------------------------------------------------------------------------


@hookimpl
def shelfsync_check_connection(connection: Connection) -> AccountInfo:
    """List the authorized shops: proves the app key, secret, signature and token work, and
    that the stored shop cipher (when there is one) belongs to this authorization. Names the
    cipher's shop (its id is the connection's `platform_id`) and the currency its market
    sells in; with no cipher, no one shop."""
    shops = _fetch_shops(connection)
    cipher = connection.credentials.get("shop_cipher", "")
    if not cipher:
        return AccountInfo(platform_id="")
    shop = next((shop for shop in shops if shop.cipher == cipher), None)
    if shop is None:
        raise AuthError(
            "tiktok: the shop cipher is not among the shops this token is authorized for",
            platform=PLATFORM,
        )
    return AccountInfo(platform_id=shop.id, name=shop.name, currency=shop.currency or None)


@hookimpl
def shelfsync_fetch_authorized_shops(connection: Connection) -> list[AuthorizedShop]:
    """`GET /authorization/202309/shops` (app-level: no shop cipher)."""
    return _fetch_shops(connection)


def _fetch_shops(connection: Connection) -> list[AuthorizedShop]:
    with TikTokClient(connection) as client:
        envelope = client.call("GET", SHOPS_PATH, shop_scoped=False)
    return mapping.parse_shops(envelope.data, envelope.request_id)


@hookimpl
def shelfsync_fetch_locations(connection: Connection) -> list[Location]:
    """The shop's sales warehouses; ENABLED ones are active, `is_default` is kept."""
    with TikTokClient(connection) as client:
        envelope = client.call("GET", WAREHOUSES_PATH)
    return mapping.parse_warehouses(envelope.data, envelope.request_id)


# --- listings and inventory ---------------------------------------------------------------


@hookimpl
def shelfsync_fetch_listings(connection: Connection) -> Iterator[list[Listing]]:
    """Every SKU of every product, page by page: one list per page of (up to 100) products,
    following `next_page_token`; the next page is asked for only when core wants it."""
    version = str(settings.PRODUCT_SEARCH_VERSION.read(connection.settings)
                  or settings.DEFAULT_PRODUCT_SEARCH_VERSION)
    body: dict[str, Any] = {}
    status = settings.LISTING_STATUS.read(connection.settings)
    if status:
        body["status"] = str(status)
    page_size = int(settings.PAGE_SIZE.read(connection.settings))
    with TikTokClient(connection) as client:
        for page in client.pages("POST", PRODUCT_SEARCH_PATH.format(version=version),
                                 page_size=page_size, body=body):
            yield mapping.parse_listings(page.data, page.request_id)


def _order_page_size(connection: Connection) -> int:
    """`order_page_size`, else a set `page_size`, else 50; read through the declared fields,
    so a stored value out of TikTok's 1–100 falls back instead of failing every read."""
    given = settings.ORDER_PAGE_SIZE.read(connection.settings)
    if given is None and connection.settings.get("page_size") not in (None, ""):
        given = settings.PAGE_SIZE.read(connection.settings)
    return int(given or 50)


def _invalid(update: InventoryUpdate) -> str | None:
    """Why an update cannot be sent, or None when it can."""
    quantity = update.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return f"quantity {quantity!r} is not an integer"
    if quantity < 0:
        return f"quantity {quantity} is negative"
    if quantity > CHANNEL_MAXIMUM:
        return f"quantity {quantity} is above TikTok's maximum of {CHANNEL_MAXIMUM}"
    if not _PRODUCT_ID.match(str(update.product_id or "")):
        return f"product id {update.product_id!r} is not a TikTok product id"
    if not update.sku_id:
        return "sku id is empty"
    return None


def _failed(update: InventoryUpdate, code: str, message: str,
            request_id: str | None = None, retryable: bool = False,
            kind: PushOutcome | None = None) -> PushResult:
    return PushResult(update.sku_id, ok=False, quantity=update.quantity, error_code=code,
                      error_message=message, request_id=request_id, retryable=retryable,
                      kind=kind)


@hookimpl
def shelfsync_push_inventory(
    connection: Connection, updates: Sequence[InventoryUpdate], scope: PassScope | None
) -> list[PushResult]:
    """One call per product carrying all of its SKUs and warehouses; results per update.

    Each SKU's quantity goes to the shop's default sales warehouse and every other warehouse
    the channel showed it in is set to 0 (see warehouses.py). Invalid quantities fail
    without a call. A SKU TikTok rejects (`data.errors`) fails alone (quarantine, or a stale
    target when the warehouse kept from earlier in the pass was refused). A product whose
    call failed after retries (throttled, 5xx, unreadable, refused) fails for its SKUs with
    the error's code and the others still go; only an `AuthError` stops the push, because
    every later call would be refused the same way.
    """
    results: list[PushResult | None] = [None] * len(updates)
    by_product: dict[str, dict[tuple[str, str | None], int]] = {}
    for index, update in enumerate(updates):
        reason = _invalid(update)
        if reason:
            results[index] = _failed(update, "invalid_quantity" if "quantity" in reason
                                     else "invalid_update", reason)
            continue
        slots = by_product.setdefault(update.product_id, {})
        key = (update.sku_id, update.warehouse_id or None)
        if key in slots:  # the later update of the same SKU and warehouse wins
            earlier = slots[key]
            results[earlier] = _failed(updates[earlier], "superseded",
                                       "a later update in the same push replaced this one")
        slots[key] = index
    with TikTokClient(connection) as client:
        target = warehouses.Target(lambda: _read_warehouses(client), scope, connection.id,
                                   connection.platform_id)

        if any(not updates[i].warehouse_id for slots in by_product.values()
               for i in slots.values()):
            target.prepare()

        def push(slots: dict[tuple[str, str | None], int], product_id: str) -> None:
            indexes = list(slots.values())
            _push_product(client, target, product_id, [updates[i] for i in indexes], indexes,
                          results)

        _in_flight(push, by_product, int(settings.PUSH_CONCURRENCY.read(connection.settings)))
    return [result for result in results if result is not None]


def _in_flight(push: Callable[[dict[tuple[str, str | None], int], str], None],
               by_product: dict[str, dict[tuple[str, str | None], int]], width: int) -> None:
    """Push each product, `width` at a time (the warehouses were read before: see
    `Target.prepare`). Each product's results land in their own slots. An AuthError stops
    what has not started and is raised: every later call would be refused the same way."""
    items = list(by_product.items())
    if width <= 1 or len(items) <= 1:
        for product_id, slots in items:
            push(slots, product_id)
        return
    with ThreadPoolExecutor(max_workers=min(width, len(items)),
                            thread_name_prefix="shelfsync-tiktok-push") as pool:
        futures = [pool.submit(push, slots, product_id) for product_id, slots in items]
        try:
            for future in futures:
                future.result()
        except AuthError:
            for future in futures:
                future.cancel()
            raise


def _read_warehouses(client: TikTokClient) -> list[Location]:
    envelope = client.call("GET", WAREHOUSES_PATH)
    return mapping.parse_warehouses(envelope.data, envelope.request_id)


def _push_product(client: TikTokClient, target: warehouses.Target, product_id: str,
                  updates: list[InventoryUpdate], indexes: list[int],
                  results: list[PushResult | None]) -> None:
    try:
        warehouse = None if all(u.warehouse_id for u in updates) else target.warehouse()
        spreads = [warehouses.spread(update, warehouse, target.active) for update in updates]
        rows = [replace(update, warehouse_id=w, quantity=q)
                for update, spread in zip(updates, spreads, strict=True)
                for w, q in spread.items()]
        envelope = client.call("POST", INVENTORY_PATH.format(product_id=product_id),
                               body=mapping.inventory_body(rows), partial_ok=True)
        failures = mapping.parse_inventory_errors(envelope.data, envelope.request_id)
    except AuthError:
        raise
    except PluginError as exc:
        code = exc.code or type(exc).__name__
        for index, update in zip(indexes, updates, strict=True):
            results[index] = _failed(update, code, exc.message, exc.request_id, exc.retryable)
        return
    for index, update, spread in zip(indexes, updates, spreads, strict=True):
        failure = next((failures[(update.sku_id, w)] for w in spread
                        if (update.sku_id, w) in failures), None)
        if failure is None:
            failure = failures.get((update.sku_id, None))
        if failure is None:
            failure = next((f for (sku, _), f in failures.items() if sku == update.sku_id), None)
        if failure is None:
            shown = {w: q for w, q in spread.items() if w}
            results[index] = PushResult(update.sku_id, ok=True, quantity=update.quantity,
                                        request_id=envelope.request_id, quantities=shown)
        else:
            kind = target.refused(failure[0]) if not update.warehouse_id else None
            results[index] = _failed(update, failure[0], failure[1], envelope.request_id,
                                     kind=kind)


# --- orders -------------------------------------------------------------------------------


@hookimpl
def shelfsync_fetch_orders(
    connection: Connection, updated_since: datetime | None, cursor: str | None
) -> OrderPage:
    """One page of orders updated at or after `updated_since`, oldest update first; each
    carries the connection's shop id (`platform_id`)."""
    query: dict[str, Any] = {
        "page_size": _order_page_size(connection),
        "sort_field": "update_time",
        "sort_order": "ASC",
    }
    if cursor:
        query["page_token"] = cursor
    body: dict[str, Any] = {}
    if updated_since is not None:
        body["update_time_ge"] = int(updated_since.timestamp())
    with TikTokClient(connection) as client:
        envelope = client.call("POST", ORDERS_PATH, query=query, body=body)
    orders, next_token = mapping.parse_orders(envelope.data, connection.platform_id,
                                              envelope.request_id)
    return OrderPage(tuple(orders), next_token)


@hookimpl
def shelfsync_fetch_order(connection: Connection, order_id: str) -> ChannelOrder:
    """One order by id (Get Order Detail, `ids=`), carrying the shop's id; `NotFound` when
    the shop answers without it."""
    with TikTokClient(connection) as client:
        envelope = client.call("GET", ORDER_DETAIL_PATH, query={"ids": order_id})
    orders, _ = mapping.parse_orders(envelope.data, connection.platform_id,
                                     envelope.request_id)
    for order in orders:
        if order.id == order_id:
            return order
    raise NotFound(f"tiktok: shop {connection.platform_id} has no order {order_id}",
                   platform=PLATFORM, request_id=envelope.request_id)


# --- webhooks -----------------------------------------------------------------------------


@hookimpl
def shelfsync_subscribe_webhooks(connection: Connection, address: str) -> list[str]:
    """Point the shop's order and deauthorization events at `address` (see subscriptions)."""
    with TikTokClient(connection) as client:
        return subscriptions.subscribe(client, address)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value


@hookimpl
def shelfsync_verify_webhook(
    connection: Connection, headers: Mapping[str, str], body: bytes
) -> WebhookEvent:
    """`Authorization` must be hex HMAC-SHA256(app_key + raw body, app_secret); checked in
    constant time before the body is parsed."""
    credentials = connection.credentials
    app_key = credentials.get("app_key", "")
    app_secret = credentials.get("app_secret", "")
    given = _header(headers, "Authorization")
    if not app_key or not app_secret:
        raise WebhookSignatureError("tiktok: the connection has no app key/secret to verify "
                                    "webhooks with", platform=PLATFORM)
    if not signatures_match(sign_webhook(app_key, app_secret, body), given):
        reason = "missing" if not given else "wrong"
        raise WebhookSignatureError(f"tiktok: webhook signature {reason}", platform=PLATFORM)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadResponse(f"tiktok: webhook body is not JSON: {exc}", platform=PLATFORM) from exc
    return mapping.parse_webhook(payload)
