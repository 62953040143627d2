"""Make WooCommerce send product and order events to Shelfsync, through `/webhooks`.

Idempotent: the site's webhooks are listed (in the `edit` context, which shows their
secrets); for each topic one webhook to `address` is kept — made active and given the
connection's `webhook_secret` when it differs — missing ones are created (WooCommerce pings
each new one), and duplicates to the same address and topic are deleted.
"""

from __future__ import annotations

from typing import Any

from shelfsync.core.errors import ConfigurationError
from shelfsync.plugins.woocommerce.client import PLATFORM, WooClient

#: Stock moves with product saves and with orders (placed, cancelled, refunded).
TOPICS = ("product.created", "product.updated", "product.deleted", "order.created",
          "order.updated")
NAME = "Shelfsync ({topic})"


def subscribe(client: WooClient, address: str) -> list[str]:
    """The topics now delivered to `address`."""
    secret = client.connection.credentials.get("webhook_secret", "")
    if not secret:
        raise ConfigurationError(f"{PLATFORM}: set the webhook_secret credential first",
                                 code="missing_credentials")
    ours: dict[str, list[dict[str, Any]]] = {topic: [] for topic in TOPICS}
    for page in client.pages("webhooks", {"context": "edit", "orderby": "id",
                                          "order": "asc"}, page_size=100):
        for hook in page:
            if hook.get("delivery_url") == address and hook.get("topic") in ours:
                ours[str(hook["topic"])].append(hook)
    for topic in TOPICS:
        kept, *extra = ours[topic] or [None]
        if kept is None:
            client.request("POST", "webhooks", json={
                "name": NAME.format(topic=topic), "topic": topic, "delivery_url": address,
                "secret": secret, "status": "active"}, idempotent=False)
        elif kept.get("status") != "active" or kept.get("secret") != secret:
            client.request("PUT", f"webhooks/{int(kept['id'])}",
                           json={"status": "active", "secret": secret}, idempotent=True)
        for duplicate in extra:
            client.request("DELETE", f"webhooks/{int(duplicate['id'])}",
                           params={"force": "true"}, idempotent=True)
    return list(TOPICS)
