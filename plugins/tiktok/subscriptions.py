"""Webhook subscriptions of one shop (`/event/202309/webhooks`).

TikTok keeps one address per shop and event type: `PUT` with `{address, event_type}` sets it
(replacing the previous address), `GET` lists them as `{webhooks: [{event_type, address,
create_time, update_time}], total_count}`. Only event types whose address differs are set,
so running it twice makes no write. The deliveries are signed with the app secret and carry
the `shop_id`, which is how the receiver routes them.
"""

from __future__ import annotations

from shelfsync.core.errors import BadResponse
from shelfsync.plugins.tiktok.client import PLATFORM, TikTokClient

WEBHOOKS_PATH = "/event/202309/webhooks"

#: The events Shelfsync acts on: orders (recorded for order sync) and the seller withdrawing
#: the app's authorization (the channel is marked "needs re-auth" at once).
EVENT_TYPES = ("ORDER_STATUS_CHANGE", "SELLER_DEAUTHORIZATION", "CANCELLATION_STATUS_CHANGE",
               "RETURN_STATUS_CHANGE")


def _current_addresses(client: TikTokClient) -> dict[str, str]:
    """Event type → the address it is sent to now."""
    envelope = client.call("GET", WEBHOOKS_PATH)
    hooks = envelope.data.get("webhooks") or []
    if not isinstance(hooks, list):
        raise BadResponse("tiktok: data.webhooks is not a list", platform=PLATFORM,
                          request_id=envelope.request_id)
    return {
        str(hook.get("event_type")): str(hook.get("address"))
        for hook in hooks
        if isinstance(hook, dict)
    }


def subscribe(client: TikTokClient, address: str) -> list[str]:
    """Point every event type of `EVENT_TYPES` at `address`; return them."""
    current = _current_addresses(client)
    for event_type in EVENT_TYPES:
        if current.get(event_type) != address:
            client.call("PUT", WEBHOOKS_PATH, body={"address": address, "event_type": event_type})
    return list(EVENT_TYPES)
