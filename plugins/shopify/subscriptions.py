"""Webhook subscriptions: the store tells Shelfsync when stock or products change.

An app's subscriptions are made through the Admin API (`webhookSubscriptionCreate`), and
deliveries are then signed with the app's client secret, which is what the plugin verifies.
(Webhooks a merchant adds by hand under Settings → Notifications are signed with another key.)

Creating a subscription that already exists for the same topic and address is refused by
Shopify ("Address for this topic has already been taken"), so the existing ones are read
first and only the missing ones created: running it twice is harmless.
"""

from __future__ import annotations

from typing import Any

from shelfsync.core.errors import BadResponse
from shelfsync.plugins.shopify.client import PLATFORM, ShopifyClient

#: What a sync needs to hear about, as `WebhookSubscriptionTopic` values; the headers of the
#: deliveries carry them as `inventory_levels/update` and so on.
TOPICS = (
    "INVENTORY_LEVELS_UPDATE",  # stock changed at a location
    "INVENTORY_ITEMS_UPDATE",  # tracking switched on or off
    "PRODUCTS_UPDATE",  # a variant's SKU or inventory policy changed
    "APP_UNINSTALLED",  # our token is dead: mark the store "needs re-auth"
    "ORDERS_UPDATED",  # an order shipped (tracking goes to the channel) or was refunded
    "ORDERS_CANCELLED",  # an order was cancelled (the channel's order is cancelled too)
)

EXISTING = """
query ExistingSubscriptions($address: URL, $topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 100, callbackUrl: $address, topics: $topics) {
    nodes {
      topic
      endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }
    }
  }
}
"""

CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $input: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $input) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""


def _subscribed_topics(client: ShopifyClient, address: str) -> set[str]:
    """The topics already sent to `address` (filtered by Shopify, checked again here)."""
    data = client.query(EXISTING, {"address": address, "topics": list(TOPICS)})
    connection = data.get("webhookSubscriptions")
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    if not isinstance(nodes, list):
        raise BadResponse("shopify: webhookSubscriptions has no nodes list", platform=PLATFORM)
    topics = set()
    for node in nodes:
        endpoint: Any = node.get("endpoint") if isinstance(node, dict) else None
        if isinstance(endpoint, dict) and endpoint.get("callbackUrl") == address:
            topics.add(str(node.get("topic")))
    return topics


def subscribe(client: ShopifyClient, address: str) -> list[str]:
    """Create the missing subscriptions of `TOPICS` to `address`; return all of them."""
    missing = [topic for topic in TOPICS if topic not in _subscribed_topics(client, address)]
    for topic in missing:
        client.mutate(CREATE, {"topic": topic,
                               "input": {"callbackUrl": address, "format": "JSON"}},
                      "webhookSubscriptionCreate")
    return list(TOPICS)
