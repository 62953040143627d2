"""Shopify webhook payloads and signing, as the fake sends them.

Payloads are Shopify's REST-style JSON (webhooks were never moved to GraphQL shapes): e.g.
`inventory_levels/update` is `{inventory_item_id, location_id, available, updated_at,
admin_graphql_api_id}` with numeric ids. Headers follow
https://shopify.dev/docs/apps/build/webhooks/verify-deliveries: `X-Shopify-Hmac-Sha256` is the
base64 HMAC-SHA256 of the raw body keyed with the app's client secret; `X-Shopify-Webhook-Id`
is unique per delivery while `X-Shopify-Event-Id` names the event, shared by every delivery of
it (neither is signed, so Shelfsync's receiver de-duplicates on the body instead).
`app/uninstalled` carries the shop object (`shop_payload`), `myshopify_domain` included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from shelfsync.plugins.shopify.fake_store import (
    InventoryItem,
    Level,
    Order,
    Product,
    Variant,
    gid,
)


def topic_name(enum_value: str) -> str:
    """`INVENTORY_LEVELS_UPDATE` -> `inventory_levels/update` (the header form of a topic)."""
    resource, _, action = enum_value.lower().rpartition("_")
    return f"{resource}/{action}"


def sign(secret: str, body: bytes) -> str:
    """Shopify's `X-Shopify-Hmac-Sha256` value for a raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def rest_time() -> str:
    """A REST-style timestamp with an explicit offset, as webhook payloads carry."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def headers(
    *, topic: str, body: bytes, shop: str, api_version: str, secret: str, event_id: str
) -> dict[str, str]:
    """The headers of one delivery (a fresh webhook id each call)."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "X-Shopify-Event-Id": event_id,
    }


def level_payload(level: Level) -> dict[str, Any]:
    """`inventory_levels/update`."""
    return {
        "inventory_item_id": level.item.num,
        "location_id": level.location.num,
        "available": level.quantities["available"],
        "updated_at": rest_time(),
        "admin_graphql_api_id": (
            f"gid://shopify/InventoryLevel/{level.location.num}?inventory_item_id={level.item.num}"
        ),
    }


def item_payload(item: InventoryItem) -> dict[str, Any]:
    """`inventory_items/update`."""
    now = rest_time()
    return {
        "id": item.num,
        "sku": item.variant.sku if item.variant else None,
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": now,
        "requires_shipping": True,
        "cost": None,
        "country_code_of_origin": None,
        "province_code_of_origin": None,
        "harmonized_system_code": None,
        "tracked": item.tracked,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": gid("InventoryItem", item.num),
    }


def _variant_payload(variant: Variant) -> dict[str, Any]:
    return {
        "id": variant.num,
        "product_id": variant.product.num,
        "title": variant.title,
        "price": variant.price,
        "sku": variant.sku,
        "position": variant.position,
        "inventory_policy": variant.policy.lower(),
        "compare_at_price": None,
        "option1": variant.title,
        "option2": None,
        "option3": None,
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": rest_time(),
        "taxable": True,
        "barcode": None,
        "inventory_item_id": variant.item.num,
        "inventory_quantity": sum(
            lv.quantities["available"] for lv in variant.item.levels.values() if lv.location.active
        ),
        "admin_graphql_api_id": gid("ProductVariant", variant.num),
    }


def product_payload(product: Product) -> dict[str, Any]:
    """`products/update`."""
    return {
        "id": product.num,
        "title": product.title,
        "body_html": "",
        "vendor": "Shelfsync Demo",
        "product_type": "",
        "created_at": "2025-01-01T00:00:00+00:00",
        "handle": product.handle,
        "updated_at": rest_time(),
        "published_at": "2025-01-01T00:00:00+00:00",
        "template_suffix": None,
        "published_scope": "global",
        "tags": "",
        "status": product.status.lower(),
        "admin_graphql_api_id": gid("Product", product.num),
        "variants": [_variant_payload(v) for v in product.variants],
        "options": [
            {
                "id": product.num,
                "product_id": product.num,
                "name": "Option",
                "position": 1,
                "values": [v.title for v in product.variants],
            }
        ],
        "images": [],
        "image": None,
        "variant_gids": [
            {"admin_graphql_api_id": gid("ProductVariant", v.num), "updated_at": rest_time()}
            for v in product.variants
        ],
    }


def shop_payload(shop: str, num: int = 1, name: str = "Shelfsync Demo") -> dict[str, Any]:
    """`app/uninstalled`: the shop object (REST `Shop`), trimmed to its identifying fields."""
    return {
        "id": num,
        "name": name,
        "email": f"owner@{shop}",
        "domain": shop,
        "myshopify_domain": shop,
        "country_code": "US",
        "currency": "USD",
        "iana_timezone": "America/New_York",
        "plan_name": "basic",
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": rest_time(),
    }


def fulfillment_payload(order: Order, fulfillment: Any) -> dict[str, Any]:
    """`fulfillments/create`: the shipment, its order's id and its lines."""
    return {
        "id": fulfillment.num,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.num),
        "order_id": order.num,
        "name": fulfillment.name,
        "status": fulfillment.status.lower(),
        "tracking_company": fulfillment.tracking[0][0] if fulfillment.tracking else None,
        "tracking_number": fulfillment.tracking[0][1] if fulfillment.tracking else None,
        "created_at": rest_time(),
        "updated_at": rest_time(),
        "line_items": [{"id": li.num, "sku": li.sku, "quantity": q}
                       for li, q in fulfillment.lines],
    }


def order_payload(order: Order) -> dict[str, Any]:
    """`orders/create`, trimmed to what a connector reads."""
    return {
        "id": order.num,
        "admin_graphql_api_id": gid("Order", order.num),
        "name": order.name,
        "order_number": order.number,
        "email": order.email,
        "note": order.note,
        "tags": ", ".join(order.tags),
        "note_attributes": [{"name": k, "value": v} for k, v in order.custom_attributes],
        "currency": order.currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": ({"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}
                               .get(_fulfilment_status(order))),
        "fulfillments": [
            {
                "id": f.num,
                "name": f.name,
                "status": f.status.lower(),
                "tracking_company": f.tracking[0][0] if f.tracking else None,
                "tracking_number": f.tracking[0][1] if f.tracking else None,
                "tracking_numbers": [number for _, number, _ in f.tracking if number],
                "admin_graphql_api_id": gid("Fulfillment", f.num),
            }
            for f in order.fulfillments
        ],
        "source_identifier": order.source_identifier,
        "source_name": order.source_name,
        "test": order.test,
        "total_price": order.total(),
        "created_at": rest_time(),
        "updated_at": rest_time(),
        "line_items": [
            {
                "id": li.num,
                "admin_graphql_api_id": gid("LineItem", li.num),
                "variant_id": li.variant.num if li.variant else None,
                "product_id": li.variant.product.num if li.variant else None,
                "sku": li.sku,
                "title": li.title,
                "variant_title": li.variant_title,
                "quantity": li.quantity,
                "price": li.price,
            }
            for li in order.line_items
        ],
    }


def _fulfilment_status(order: Order) -> str:
    from shelfsync.plugins.shopify.fake_aftersale import fulfilment_status

    return fulfilment_status(order)
