"""WooCommerce webhook deliveries, as WC_Webhook sends them.

- The body is the resource as the REST API prints it (`product.updated` carries the product,
  or the variation read through `/products/{id}`; `order.created` the order).
- `X-WC-Webhook-Signature` is base64(HMAC-SHA256(raw body, webhook secret))
  (WC_Webhook::generate_signature), with the other `X-WC-Webhook-*` headers: `Source` (the
  site's home URL), `Topic`, `Resource`, `Event`, `ID`, `Delivery-ID`.
- Creating an active webhook through the API sends a ping (WC_Webhook::deliver_ping): a
  form body `webhook_id=N`, no signature, no `X-WC-Webhook-*` headers, which the receiver
  must answer 200.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

USER_AGENT = "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)"


def sign(secret: str, body: bytes) -> str:
    """The `X-WC-Webhook-Signature` value for a raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def encode(payload: dict[str, Any]) -> bytes:
    """The body as WooCommerce sends it (wp_json_encode: compact, `/` escaped)."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode("utf-8")


def headers(*, source: str, topic: str, webhook_id: int, delivery_id: int, secret: str,
            body: bytes) -> dict[str, str]:
    """The headers of one delivery."""
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(secret, body),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": str(delivery_id),
    }


def ping(webhook_id: int) -> tuple[dict[str, str], bytes]:
    """The ping sent when a webhook is created: unsigned, a form body."""
    return ({"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
            f"webhook_id={webhook_id}".encode("ascii"))
