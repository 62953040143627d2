"""The receiver's checks that do not depend on a platform: the body's size, the connection id,
the shop a delivery claims, its age, and the live confirmation of a revoked access.

Kept apart from `webhooks` (the routes and the flow) so each check is small and testable.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from shelfsync.core.errors import AuthError
from shelfsync.core.models import ChannelConnection, StoreConnection
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import WebhookEvent

log = logging.getLogger(__name__)

#: Connection ids are `INTEGER` columns (signed 32-bit on PostgreSQL): a larger number names
#: no connection, and must not reach the database (it overflows there, or in the driver).
MAX_CONNECTION_ID = 2**31 - 1
_CHUNK = 64 * 1024
#: Seconds the live confirmation of a revoked access may take (platforms wait about 5 s).
CONFIRM_TIMEOUT = 4.0

Row = StoreConnection | ChannelConnection


def read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most `limit` bytes: 413 for a larger one, declared or chunked.

    A declared `Content-Length` over the limit is refused by werkzeug. A chunked body has no
    length: werkzeug's capped stream would stop at the limit and hand back the prefix (whose
    signature could then be checked), so the input is read here and one byte too many
    refuses it.
    """
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return request.get_data(cache=False)
    stream = request.environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while True:
        part = stream.read(min(_CHUNK, limit + 1 - size))
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > limit:
            raise RequestEntityTooLarge(f"a webhook body may be at most {limit} bytes")
        parts.append(part)


def connection_id(text: str) -> int | None:
    """The id in the path, or None when it cannot name a connection (not digits, too big)."""
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_CONNECTION_ID else None


def claimed_shop_mismatch(row: Row, event: WebhookEvent, warned: set[tuple[str, int]]
                          ) -> str | None:
    """Why the shop the delivery names is not the connection's, or None when it is.

    A store is compared by its `store_id` (Shopify's myshopify domain). When a store was
    connected without one, the check is skipped and said once per connection and process.
    """
    if not isinstance(row, StoreConnection) or not event.shop_id:
        return None
    expected = (row.store_id or "").strip().lower()
    if not expected:
        key = (row.platform, int(row.id or 0))
        if key not in warned:
            warned.add(key)
            log.warning("store %s has no recorded store id: its webhooks' shop is not checked "
                        "(reconnect it to record one)", row.id)
        return None
    if event.shop_id.strip().lower() != expected:
        return f"the delivery names shop {event.shop_id[:100]!r}, the connection {expected!r}"
    return None


def too_old(event: WebhookEvent, now: datetime, window: timedelta) -> bool:
    """Older than the replay window: its receipt may already be pruned, so it is not acted on
    (a real change that old has been repaired by reconciliation since)."""
    return event.occurred_at is not None and event.occurred_at < now - window


class Revocation(enum.Enum):
    """What a live call says about a webhook claiming our access was withdrawn."""

    CONFIRMED = "confirmed"  # the platform refuses our credentials
    REFUTED = "refuted"  # the credentials still work: the webhook is not true (now)
    UNKNOWN = "unknown"  # the call failed otherwise: ask the platform to retry


def confirm_revoked(pm: ShelfsyncPluginManager, row: Row) -> Revocation:
    """One cheap live call (`shelfsync_check_connection`) with the connection's credentials.

    Only a refusal of the credentials (`AuthError`, `PermissionDenied`) confirms. Called with
    no transaction open: it is a network call. Undecryptable credentials prove nothing either.
    """
    try:
        connection = row.as_connection(timeout=CONFIRM_TIMEOUT)
        # One attempt: the platform waits for our answer, and its own retry is the retry.
        connection = replace(connection, settings={**connection.settings, "retry_attempts": 1})
        pm.call(connection, "shelfsync_check_connection")
    except AuthError:
        return Revocation.CONFIRMED
    except Exception as exc:  # any other failure proves nothing either way
        log.warning("%s connection %s: cannot confirm a revoked access now (%s)",
                    row.platform, row.id, type(exc).__name__)
        return Revocation.UNKNOWN
    return Revocation.REFUTED
