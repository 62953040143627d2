"""Shelfsync hooks for acme (a channel): each hook calls the client and the mapping.

TODO: capabilities and fields of the real platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from acme_shelfsync import mapping
from acme_shelfsync.client import PAGE_SIZE, PLATFORM, AcmeClient

from shelfsync.core.errors import PluginError, WebhookSignatureError
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.plugins import add_fake_command
from shelfsync.core.types import (
    AccountInfo,
    Capabilities,
    Connection,
    FieldSpec,
    Fulfillment,
    InventoryUpdate,
    Listing,
    OrderPage,
    PlatformInfo,
    PushOutcome,
    PushResult,
    Role,
    WebhookEvent,
)


@hookimpl
def shelfsync_platform_info() -> PlatformInfo:
    return PlatformInfo(
        name=PLATFORM, title="Acme", role=Role.CHANNEL, capabilities=Capabilities(),
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
def shelfsync_fetch_listings(connection: Connection) -> Iterator[list[Listing]]:
    """The shop's listings, one list per API page (a whole-catalog read yields pages)."""
    with AcmeClient(connection) as client:
        for page in client.listings():
            yield [mapping.listing(row) for row in page]


@hookimpl
def shelfsync_push_inventory(connection: Connection,
                             updates: Sequence[InventoryUpdate]) -> list[PushResult]:
    with AcmeClient(connection) as client:
        try:
            rows = client.update_inventory([mapping.update_body(u) for u in updates])
        except PluginError as exc:
            # The whole batch failed: one result per update saying what core should do.
            kind = PushOutcome.RETRY if exc.retryable else PushOutcome.QUARANTINE
            return [PushResult(sku_id=u.sku_id, ok=False, error_code=type(exc).__name__,
                               retryable=exc.retryable, kind=kind) for u in updates]
    # TODO: map the platform's rejection codes to `PushOutcome` kinds in mapping.push_result.
    return [mapping.push_result(row) for row in rows]


@hookimpl
def shelfsync_fetch_orders(connection: Connection, updated_since: datetime | None,
                           cursor: str | None) -> OrderPage:
    # TODO: filter by `updated_since` when the real API can.
    with AcmeClient(connection) as client:
        rows, next_cursor = client.orders(cursor)
    return OrderPage(orders=tuple(mapping.order(row) for row in rows), next_cursor=next_cursor)


@hookimpl
def shelfsync_push_fulfillment(connection: Connection, fulfillment: Fulfillment) -> bool:
    with AcmeClient(connection) as client:
        return client.order_action(fulfillment.order_id, "ship", {
            "tracking_number": fulfillment.tracking_number, "carrier": fulfillment.carrier})


@hookimpl
def shelfsync_push_cancellation(connection: Connection, order_id: str, reason: str) -> bool:
    with AcmeClient(connection) as client:
        return client.order_action(order_id, "cancel", {"reason": reason})


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
