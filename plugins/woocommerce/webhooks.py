"""Verify and parse WooCommerce webhooks.

`X-WC-Webhook-Signature` is base64(HMAC-SHA256(raw body, the webhook's secret)); it is
compared in constant time before anything of the body is read. The signature covers the
body only, so the body decides the effect: an order (it has `line_items`) names the SKUs of
its lines; a product or variation names its SKU and, as inventory item ids, its own id, its
parent's and its variations' (a parent that manages its variations' stock reaches every one
of them through the catalog's stock-owner ids). The topic header only labels the event.

The ping WooCommerce sends when a webhook is created (WC_Webhook::deliver_ping) carries no
signature: a form body `webhook_id=N` and no `X-WC-Webhook-*` header. It is answered as an
event that names nothing (core records it and answers 200, which WooCommerce requires
before it delivers anything); any other unsigned body is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from shelfsync.core.errors import BadResponse, WebhookSignatureError
from shelfsync.core.types import WebhookEvent
from shelfsync.plugins.woocommerce.mapping import parse_gmt

PLATFORM = "woocommerce"
SIGNATURE = "x-wc-webhook-signature"
PING_TOPIC = "webhook.ping"
_PING = re.compile(rb"webhook_id=([0-9]{1,18})")
_TOPIC = re.compile(r"(product|order)\.[a-z_]{1,30}")


def sign(secret: str, body: bytes) -> str:
    """The signature WooCommerce sends for `body`."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
                            ).decode("ascii")


_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#039;", "'"),
             ("&#39;", "'"), ("&amp;", "&"))


def specialchars_decode(text: str) -> str:
    """WordPress's wp_specialchars_decode(…, ENT_QUOTES) for the entities it decodes."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def verify_and_parse(secret: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """The verified event; `WebhookSignatureError` for a missing or wrong signature."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    given = lowered.get(SIGNATURE)
    if given is None:
        ping = _PING.fullmatch(body)
        if ping and not any(k.startswith("x-wc-webhook-") for k in lowered):
            # One dedup key for every ping: an unsigned body anyone can send must not grow
            # the receipts table (a repeat is answered 200 as a duplicate, which suffices).
            return WebhookEvent(platform=PLATFORM, topic=PING_TOPIC, dedup_key=PING_TOPIC,
                                payload={"webhook_id": int(ping.group(1))})
        raise WebhookSignatureError(f"{PLATFORM}: the webhook has no {SIGNATURE} header",
                                    platform=PLATFORM)
    if not secret:
        raise WebhookSignatureError(f"{PLATFORM}: no webhook_secret is set for this store",
                                    platform=PLATFORM)
    received = given.strip().encode("utf-8", "replace")
    # WooCommerce keys the HMAC with wp_specialchars_decode($secret, ENT_QUOTES): a secret
    # holding `&amp;`, `&quot;`, `&#039;`, `&lt;` or `&gt;` signs with the decoded text.
    keys = dict.fromkeys((secret, specialchars_decode(secret)))
    if not any([hmac.compare_digest(sign(key, body).encode("ascii"), received)
                for key in keys]):
        raise WebhookSignatureError(f"{PLATFORM}: the webhook signature does not match",
                                    platform=PLATFORM)
    return parse(body, lowered.get("x-wc-webhook-topic", ""))


def parse(body: bytes, topic_header: str) -> WebhookEvent:
    """A verified body as an event (by its shape; the topic header only labels it)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadResponse(f"{PLATFORM}: the webhook body is not JSON",
                          platform=PLATFORM) from None
    if not isinstance(payload, dict):
        raise BadResponse(f"{PLATFORM}: the webhook body is not an object", platform=PLATFORM)
    dedup = "sha256:" + hashlib.sha256(body).hexdigest()
    occurred = _date(payload.get("date_modified_gmt"))
    if "line_items" in payload:
        resource = "order"
        lines = payload["line_items"]
        if not isinstance(lines, list):
            raise BadResponse(f"{PLATFORM}: the order's line_items is not a list",
                              platform=PLATFORM)
        skus = tuple(dict.fromkeys(str(line["sku"]).strip() for line in lines
                                   if isinstance(line, dict) and line.get("sku")))
        ids = tuple(dict.fromkeys(
            str(line[key]) for line in lines if isinstance(line, dict)
            for key in ("product_id", "variation_id") if _positive(line.get(key))))
        order_id = str(payload.get("id", "")) if _positive(payload.get("id")) else ""
    else:
        resource = "product"
        sku = payload.get("sku")
        skus = (sku.strip(),) if isinstance(sku, str) and sku.strip() else ()
        related = [payload.get("id"), payload.get("parent_id")]
        variations = payload.get("variations")
        if isinstance(variations, list):
            related += variations
        ids = tuple(dict.fromkeys(str(i) for i in related if _positive(i)))
        order_id = ""
    topic = topic_header if _TOPIC.fullmatch(topic_header) and \
        topic_header.startswith(resource + ".") else f"{resource}.updated"
    return WebhookEvent(platform=PLATFORM, topic=topic, dedup_key=dedup, payload=payload,
                        occurred_at=occurred, skus=skus, inventory_item_ids=ids,
                        order_id=order_id)


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _date(value: Any) -> Any:
    try:
        return parse_gmt(value)
    except BadResponse:
        return None
