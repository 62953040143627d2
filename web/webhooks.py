"""Webhook receivers: `POST /webhooks/<platform>/<connection id>`.

A receiver does as little as it safely can and answers within milliseconds (platforms retry,
then give up on, slow endpoints): find the connection, verify the signature through the
plugin (before anything of the body is parsed), record the delivery id so a replay is
recognised, enqueue, answer 200. The work happens in the workers.

- Unknown connection, or one of another platform: 404, nothing recorded or enqueued.
- Bad or missing signature: 401, nothing recorded or enqueued.
- A delivery already recorded (a platform's retry or a replay): 200, nothing enqueued.
- Store events: the SKUs are recorded pending with the receipt, in one transaction committed
  before the 200 (`syncing.accept_store_event`); then `sync_pending(organization)` is asked
  for. A broker that is down is logged and the answer is still 200: the work is recorded, and
  the scheduler's sweeper sends the message once the broker is back.
- Channel (TikTok) events: an app has one webhook address for all its shops, so the event is
  routed by its `shop_id` to the channel(s) holding that shop, each verified with its own
  credentials. Order events are recorded only for now: order sync is a later issue.
- An event saying the merchant withdrew our access (an uninstall, a deauthorization) marks
  the connection "needs re-auth" at once; `shelfsync reconnect` restores it.

Not protected by CSRF, on purpose: platforms cannot send a token, and the signature is the
authentication. When the UI adds CSRF protection, exempt this blueprint (`csrf.exempt(bp)`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, request
from sqlmodel import Session, select
from werkzeug.exceptions import HTTPException

from shelfsync.core import tasks
from shelfsync.core.errors import BadResponse, ConfigurationError, WebhookSignatureError
from shelfsync.core.models import (
    ChannelConnection,
    StoreConnection,
    record_webhook_receipt,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services import syncing
from shelfsync.core.sync import inventory
from shelfsync.core.types import Role, WebhookEvent
from shelfsync.web.app import engine_of, plugin_manager_of

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

Answer = tuple[dict[str, Any], int]


class Refused(Exception):
    """A webhook answered with an error status; nothing was recorded or enqueued."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _verify(pm: ShelfsyncPluginManager, row: StoreConnection | ChannelConnection,
            headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """The plugin's verified, parsed event; Refused with the right status otherwise."""
    try:
        event = pm.call(row.as_connection(), "shelfsync_verify_webhook",
                        headers=headers, body=body)
    except WebhookSignatureError as exc:
        raise Refused(401, str(exc)) from None
    except BadResponse as exc:
        raise Refused(400, str(exc)) from None
    except ConfigurationError as exc:
        log.error("cannot verify %s webhooks for connection %s: %s", row.platform, row.id, exc)
        raise Refused(500, "this connection cannot verify webhooks: see the server log") from None
    if not isinstance(event, WebhookEvent):
        raise Refused(404, f"no plugin verifies {row.platform} webhooks")
    return event


def _revoked(session: Session, row: StoreConnection | ChannelConnection,
             event: WebhookEvent) -> None:
    """The platform says the merchant withdrew our access: flag it now, so status and the
    UI ask for a re-authorization before the next sync finds out the hard way."""
    kind = "store" if isinstance(row, StoreConnection) else "channel"
    log.warning("%s %s: access revoked by the platform (%s)", kind, row.id, event.topic)
    inventory.mark_needs_reauth(session, kind, int(row.id or 0),
                                f"{row.platform} says access was revoked ({event.topic}); "
                                "reconnect with new credentials")


def _store_event(session: Session, store: StoreConnection, event: WebhookEvent) -> Answer:
    if not record_webhook_receipt(session, platform=store.platform, connection_id=int(store.id),
                                  dedup_key=event.dedup_key, topic=event.topic):
        return {"status": "duplicate"}, 200
    if event.access_revoked:
        _revoked(session, store, event)
        session.commit()
        return {"status": "access revoked"}, 200
    skus = list(inventory.skus_for_event(session, int(store.id), event))
    # Outbox: the SKUs are recorded pending in this transaction, committed before the 200;
    # the message that asks for their sync is sent after, and a broker that refuses it is
    # logged, not fatal (the scheduler's sweeper sends it again).
    syncing.accept_store_event(session, store, skus, event.occurred_at or utcnow())
    session.commit()
    if skus:
        tasks.request_sync(store.organization_id)
    return {"status": "accepted", "skus": len(skus)}, 200


def _channel_event(session: Session, pm: ShelfsyncPluginManager, addressed: ChannelConnection,
                   event: WebhookEvent, headers: Mapping[str, str], body: bytes) -> Answer:
    targets = session.exec(
        select(ChannelConnection).where(ChannelConnection.platform == addressed.platform,
                                        ChannelConnection.shop_id == event.shop_id)
    ).all() if event.shop_id else [addressed]
    recorded = 0
    for target in targets:
        if target.id != addressed.id:
            try:
                _verify(pm, target, headers, body)
            except Refused as exc:
                log.warning("webhook for shop %s does not verify with channel %s: %s",
                            event.shop_id, target.id, exc.message)
                continue
        if record_webhook_receipt(session, platform=target.platform,
                                  connection_id=int(target.id), dedup_key=event.dedup_key,
                                  topic=event.topic):
            recorded += 1
            if event.access_revoked:
                _revoked(session, target, event)
    session.commit()
    if not targets:
        return {"status": "ignored", "reason": f"no channel holds shop {event.shop_id}"}, 200
    return {"status": "recorded" if recorded else "duplicate", "channels": recorded}, 200


@bp.post("/<platform>/<int:connection_id>")
def receive(platform: str, connection_id: int) -> Answer:
    """Verify, deduplicate and enqueue one webhook delivery."""
    pm = plugin_manager_of(current_app)
    info = pm.platforms().get(platform)
    if info is None:
        return {"error": f"no plugin for platform {platform!r}"}, 404
    body = request.get_data(cache=False)
    headers = request.headers
    model = StoreConnection if info.role == Role.STORE else ChannelConnection
    with Session(engine_of(current_app), expire_on_commit=False) as session:
        row = session.get(model, connection_id)
        if row is None or row.platform != platform:
            return {"error": f"no {platform} {info.role.value} connection {connection_id}"}, 404
        try:
            event = _verify(pm, row, headers, body)
        except Refused as exc:
            return {"error": exc.message}, exc.status
        if isinstance(row, StoreConnection):
            return _store_event(session, row, event)
        return _channel_event(session, pm, row, event, headers, body)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Answer | HTTPException:
    """Anything else (broker down, database unreachable): 503 so the platform retries."""
    if isinstance(exc, HTTPException):
        return exc  # 413 for an oversized body and the like keep their own status
    log.exception("webhook could not be accepted")
    return {"error": "temporarily unable to accept webhooks; retry later"}, 503
