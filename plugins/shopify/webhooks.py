"""Shopify webhook verification and parsing: what the signed body proves decides the effect.

`X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body keyed with the app's client
secret (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries). It covers the body
and nothing else: `X-Shopify-Topic`, `X-Shopify-Webhook-Id`, `X-Shopify-Event-Id`,
`X-Shopify-Triggered-At` and `X-Shopify-Shop-Domain` can be rewritten by anyone who captured
one delivery. So:

- the topic header only says which shape to expect: a body that does not have the shape of
  its topic (an `inventory_levels/update` body sent as `app/uninstalled`) is refused;
- the delivery is recognised by a digest of the signed body (with its topic), not by the
  webhook id: a captured body replayed under a fresh id is still the same delivery (every
  body we act on carries its resource's id and `updated_at`, so two real changes never share
  a digest);
- the time of a change is the body's `updated_at`, which must name its time zone; the
  unsigned `X-Shopify-Triggered-At` is read only for topics whose body has no timestamp of
  the event (and for `app/uninstalled`, whose shop object's `updated_at` is the shop's last
  edit), and is refused, never guessed, without a time zone;
- `app/uninstalled` names its shop in the signed body (`myshopify_domain`), which must agree
  with the header; the receiver still confirms it with a live call before marking anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shelfsync.core.errors import BadResponse, ConfigurationError, WebhookSignatureError
from shelfsync.core.types import WebhookEvent
from shelfsync.plugins.shopify.mapping import GID_PREFIX

PLATFORM = "shopify"
#: Sent when the merchant uninstalls the app: its access token stops working at once.
APP_UNINSTALLED = "app/uninstalled"

Parsed = tuple[tuple[str, ...], tuple[str, ...], datetime | None]


def _bad(message: str) -> BadResponse:
    return BadResponse(f"shopify: webhook {message}", platform=PLATFORM)


def _id(payload: Mapping[str, Any], name: str, topic: str) -> int:
    """A positive integer id the body must carry for its topic."""
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad(f"body does not fit topic {topic}: {name} is not a positive integer")
    return value


def _gid(kind: str, value: int) -> str:
    return f"{GID_PREFIX}{kind}/{value}"


def aware_time(value: Any, where: str) -> datetime:
    """An ISO 8601 time with its offset; a time without a time zone is refused, not guessed."""
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{where} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad(f"{where} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _bad(f"{where} has no time zone")
    return moment


def _updated_at(payload: Mapping[str, Any], topic: str) -> datetime:
    if "updated_at" not in payload:
        raise _bad(f"body does not fit topic {topic}: no updated_at")
    return aware_time(payload["updated_at"], "updated_at")


def _inventory_level(topic: str, payload: Mapping[str, Any]) -> Parsed:
    item = _id(payload, "inventory_item_id", topic)
    _id(payload, "location_id", topic)
    available = payload.get("available")
    if available is not None and (isinstance(available, bool) or not isinstance(available, int)):
        raise _bad(f"body does not fit topic {topic}: available is not an integer")
    return (), (_gid("InventoryItem", item),), _updated_at(payload, topic)


def _inventory_item(topic: str, payload: Mapping[str, Any]) -> Parsed:
    item = _id(payload, "id", topic)
    sku = payload.get("sku")
    if sku is not None and not isinstance(sku, str):
        raise _bad(f"body does not fit topic {topic}: sku is not text")
    skus = (sku.strip(),) if sku and sku.strip() else ()
    return skus, (_gid("InventoryItem", item),), _updated_at(payload, topic)


def _product(topic: str, payload: Mapping[str, Any]) -> Parsed:
    _id(payload, "id", topic)
    variants = payload.get("variants")
    if not isinstance(variants, list) or not variants:
        raise _bad(f"body does not fit topic {topic}: no variants")
    skus: list[str] = []
    items: list[str] = []
    for variant in variants:
        if not isinstance(variant, dict):
            raise _bad(f"body does not fit topic {topic}: a variant is not an object")
        items.append(_gid("InventoryItem", _id(variant, "inventory_item_id", topic)))
        sku = variant.get("sku")
        if isinstance(sku, str) and sku.strip():
            skus.append(sku.strip())
    return (tuple(dict.fromkeys(skus)), tuple(dict.fromkeys(items)),
            _updated_at(payload, topic))


#: Topics with an effect, and the body shape each must have.
SHAPES: dict[str, Callable[[str, Mapping[str, Any]], Parsed]] = {
    "inventory_levels/update": _inventory_level,
    "inventory_items/update": _inventory_item,
    "products/update": _product,
}


#: Order topics with an effect (an after-sale check of the order), and the shapes they need.
ORDER_TOPICS = frozenset({"orders/updated", "orders/cancelled", "orders/fulfilled",
                          "orders/partially_fulfilled"})
SHIPMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update", "refunds/create"})


def _order_id(topic: str, payload: Mapping[str, Any]) -> str:
    """The order an order, fulfilment or refund event is about, as its GraphQL id ("" for
    other topics): the signed body names it (`id` of an order, `order_id` otherwise)."""
    if topic in ORDER_TOPICS:
        return _gid("Order", _id(payload, "id", topic))
    if topic in SHIPMENT_TOPICS:
        return _gid("Order", _id(payload, "order_id", topic))
    return ""


def _header_time(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get("x-shopify-triggered-at", "").strip()
    return aware_time(value, "X-Shopify-Triggered-At") if value else None


def _uninstalled_shop(payload: Mapping[str, Any], header_domain: str) -> str:
    """The shop the signed body names; a header naming another shop is a forgery."""
    _id(payload, "id", APP_UNINSTALLED)
    domain = payload.get("myshopify_domain")
    if not isinstance(domain, str) or not domain.strip().lower().endswith(".myshopify.com"):
        raise _bad(f"body does not fit topic {APP_UNINSTALLED}: no myshopify_domain")
    domain = domain.strip().lower()
    if header_domain and header_domain != domain:
        raise _bad("X-Shopify-Shop-Domain does not match the body's myshopify_domain")
    return domain


def _check_signature(connection_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    if not connection_secret:
        raise ConfigurationError("shopify: no client secret configured to verify webhooks",
                                 platform=PLATFORM)
    signature = headers.get("x-shopify-hmac-sha256", "").strip()
    if not signature:
        raise WebhookSignatureError("shopify: webhook has no X-Shopify-Hmac-Sha256 header",
                                    platform=PLATFORM)
    expected = base64.b64encode(hmac.new(connection_secret.encode(), body,
                                         hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise WebhookSignatureError("shopify: webhook signature does not match",
                                    platform=PLATFORM)


def body_key(topic: str, body: bytes) -> str:
    """The delivery's identity: a digest of the signed body under its topic. A fresh webhook
    id does not make a replay new; the topic is in the key so that a copy sent ahead under a
    topic with no effect cannot use up the real delivery's key."""
    return "sha256:" + hashlib.sha256(topic.encode("utf-8", "replace") + b"\n" + body).hexdigest()


def verify_and_parse(secret: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Check the signature over the raw body before reading anything, then parse by shape."""
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    _check_signature(secret, lowered, body)
    topic = lowered.get("x-shopify-topic", "").strip()
    domain = lowered.get("x-shopify-shop-domain", "").strip().lower()
    if not topic or not domain:
        raise _bad("lacks X-Shopify-Topic or X-Shopify-Shop-Domain")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise _bad("body is not a JSON object")
    skus: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    if topic in SHAPES:
        skus, items, occurred_at = SHAPES[topic](topic, payload)
    elif topic == APP_UNINSTALLED:
        # The shop object's `updated_at` is the shop's last edit, not the uninstall: a real
        # uninstall of a shop untouched for months must not look stale. It is confirmed live.
        occurred_at = _header_time(lowered)
    else:  # no effect here (orders): the body's time when it has one
        occurred_at = (aware_time(payload["updated_at"], "updated_at")
                       if payload.get("updated_at") is not None else _header_time(lowered))
    if topic == APP_UNINSTALLED:
        domain = _uninstalled_shop(payload, domain)
    return WebhookEvent(
        order_id=_order_id(topic, payload),
        platform=PLATFORM,
        topic=topic,
        dedup_key=body_key(topic, body),
        payload=payload,
        occurred_at=occurred_at,
        shop_id=domain,
        skus=skus,
        inventory_item_ids=items,
        access_revoked=topic == APP_UNINSTALLED,
    )
