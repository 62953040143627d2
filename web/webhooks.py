"""Webhook receivers: `POST /webhooks/<platform>/<connection id>`.

A receiver does as little as it safely can and answers within milliseconds (platforms retry,
then give up on, slow endpoints): find the connection, verify the signature through the
plugin (before anything of the body is parsed), recognise a replay by what the signature
covers, record the work, answer 200. The work happens in the workers.

- An unknown connection, another platform's, an id out of range and a bad or missing
  signature all get the same 401 (connection ids are not enumerable); the log says which.
  A signed body that does not fit its topic, or a time without a time zone: 400.
- A delivery already recorded (a platform's retry or a replay): 200, nothing enqueued.
- Store events: the SKUs are recorded pending with the receipt, in one transaction committed
  before the 200 (`syncing.accept_store_event`); then `sync_pending(organization)` is asked
  for. A broker that is down is logged and the answer is still 200: the work is recorded, and
  the scheduler's sweeper sends the message once the broker is back.
- Channel (TikTok) events: an app has one webhook address for all its shops, so the event is
  routed by its signed `shop_id` to the channel holding that shop in the organization
  addressed, verified with that channel's own credentials. An ORDER_STATUS_CHANGE is
  recorded as the shop's order (`services.orders.accept_order_event`) with the receipt, and
  `handle_order` is sent after the commit.
- An event saying the merchant withdrew our access (an uninstall, a deauthorization) is
  confirmed with a live call before the connection is marked "needs re-auth";
  `shelfsync reconnect` restores it. docs/security.md says what each signature covers.

Not protected by CSRF, on purpose: platforms cannot send a token, and the signature is the
authentication. When the UI adds CSRF protection, exempt this blueprint (`csrf.exempt(bp)`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select
from werkzeug.exceptions import HTTPException

from shelfsync.core import tasks
from shelfsync.core.db import describe_database_error, is_outage
from shelfsync.core.errors import BadResponse, ConfigurationError, WebhookSignatureError
from shelfsync.core.models import (
    ChannelConnection,
    StoreConnection,
    record_webhook_receipt,
    utcnow,
)
from shelfsync.core.models_sync import WEBHOOK_REPLAY_WINDOW, webhook_receipt_exists
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services import aftersale as aftersale_service
from shelfsync.core.services import orders as order_service
from shelfsync.core.services import syncing
from shelfsync.core.sqlite_gate import writes_first
from shelfsync.core.sync import inventory
from shelfsync.core.types import Role, WebhookEvent
from shelfsync.web.app import engine_of, plugin_manager_of
from shelfsync.web.webhook_guard import (
    Revocation,
    Row,
    claimed_shop_mismatch,
    confirm_revoked,
    connection_id,
    read_body,
    too_old,
)

log = logging.getLogger(__name__)

#: Whether this app is in a database outage (said once when it starts and once when it ends).
OUTAGE_KEY = "shelfsync.webhooks.outage"

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

Answer = tuple[dict[str, Any], int]
#: What every refusal a stranger could provoke looks like: nothing tells a connection that
#: exists from one that does not.
NOT_ACCEPTED = "webhook not accepted"
_WARNED = "shelfsync.webhooks.warned"


class Refused(Exception):
    """A webhook answered with an error status; nothing was recorded or enqueued.

    `reason` goes to the log only; the answer is the uniform 401 unless `status` says the
    sender proved it holds the secret (a signed body that is bad is a 400 naming why).
    """

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def answer(self) -> Answer:
        """The body and status the sender sees."""
        if self.status == 401:
            return {"error": NOT_ACCEPTED}, 401
        return {"error": self.reason}, self.status


def _verify(pm: ShelfsyncPluginManager, row: Row, headers: Mapping[str, str],
            body: bytes) -> WebhookEvent:
    """The plugin's verified, parsed event; Refused otherwise."""
    try:
        event = pm.call(row.as_connection(), "shelfsync_verify_webhook",
                        headers=headers, body=body)
    except WebhookSignatureError as exc:
        raise Refused(f"{row.platform} connection {row.id}: {exc}") from None
    except BadResponse as exc:
        raise Refused(str(exc), 400) from None
    except ConfigurationError as exc:
        log.error("cannot verify %s webhooks for connection %s: %s", row.platform, row.id, exc)
        raise Refused(f"{row.platform} connection {row.id} cannot verify webhooks") from None
    if not isinstance(event, WebhookEvent):
        raise Refused(f"no plugin verifies {row.platform} webhooks")
    return event


def _revoked(session: Session, row: Row, event: WebhookEvent) -> None:
    """The platform says, and a live call confirmed, that the merchant withdrew our access:
    flag it now, so status and the UI ask for a re-authorization before the next sync."""
    kind = "store" if isinstance(row, StoreConnection) else "channel"
    log.warning("%s %s: access revoked by the platform (%s)", kind, row.id, event.topic)
    inventory.mark_needs_reauth(session, kind, int(row.id or 0),
                                f"{row.platform} says access was revoked ({event.topic}); "
                                "reconnect with new credentials")


def _unconfirmed_revocation(session: Session, pm: ShelfsyncPluginManager, row: Row,
                            event: WebhookEvent) -> Answer | None:
    """None when a live call confirms the revocation (go on and record it); otherwise the
    answer: a duplicate, an ignored lie (recorded, so its replays cost no live call), or 503
    so the platform retries when the platform could not be asked."""
    if webhook_receipt_exists(session, platform=row.platform, connection_id=int(row.id or 0),
                              dedup_key=event.dedup_key):
        return {"status": "duplicate"}, 200
    session.commit()  # no transaction stays open across the live call
    verdict = confirm_revoked(pm, row)
    if verdict is Revocation.CONFIRMED:
        return None
    if verdict is Revocation.UNKNOWN:
        return {"error": "cannot confirm this event now; retry later"}, 503
    log.warning("%s connection %s: ignored %s, the credentials still work", row.platform,
                row.id, event.topic)
    record_webhook_receipt(session, platform=row.platform, connection_id=int(row.id or 0),
                           dedup_key=event.dedup_key, topic=event.topic)
    session.commit()
    return {"status": "ignored"}, 200


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
    # A shipment or cancellation of one of our orders: its status is read by the check.
    checks = aftersale_service.accept_store_event(session, store, event)
    session.commit()
    if skus:
        tasks.request_sync(store.organization_id)
    for binding_id in checks:
        tasks.request_aftersale("store", binding_id)
    return {"status": "accepted", "skus": len(skus)}, 200


def _channel_targets(session: Session, addressed: ChannelConnection,
                     event: WebhookEvent) -> list[ChannelConnection]:
    """The channels of the addressed channel's organization holding the event's shop (the
    addressed one alone when none is named). Each shop is subscribed to its own channel's
    address, so an event naming another organization's shop is never routed there."""
    if not event.shop_id:
        return [addressed]
    return list(session.exec(
        select(ChannelConnection).where(
            ChannelConnection.platform == addressed.platform,
            ChannelConnection.organization_id == addressed.organization_id,
            ChannelConnection.shop_id == event.shop_id,
        )
    ).all())


def _channel_event(session: Session, pm: ShelfsyncPluginManager, addressed: ChannelConnection,
                   event: WebhookEvent, headers: Mapping[str, str], body: bytes) -> Answer:
    targets = []
    answer: Answer | None = None
    for target in _channel_targets(session, addressed, event):
        if target.id != addressed.id:
            # Its own credentials must verify the signature: TikTok's covers the app key, so
            # a channel of another app (even one sharing the secret) gets nothing.
            try:
                _verify(pm, target, headers, body)
            except Refused as exc:
                log.warning("webhook for shop %s does not verify with channel %s: %s",
                            event.shop_id, target.id, exc.reason)
                continue
        if event.access_revoked:
            answer = _unconfirmed_revocation(session, pm, target, event)
            if answer is not None:
                if answer[1] >= 500:
                    session.commit()
                    return answer
                continue
        targets.append(target)
    recorded = 0
    orders_recorded: list[int] = []
    returns: list[int] = []
    for target in targets:
        if record_webhook_receipt(session, platform=target.platform,
                                  connection_id=int(target.id), dedup_key=event.dedup_key,
                                  topic=event.topic):
            recorded += 1
            if event.access_revoked:
                _revoked(session, target, event)
            # An order's status change: recorded with the receipt, before the 200 (a lost
            # message is found by the channel's next poll).
            binding_id = order_service.accept_order_event(session, target, event)
            if binding_id is not None:
                orders_recorded.append(binding_id)
            # A cancellation request is listed now; a return's order is read after the 200.
            returns.extend(aftersale_service.accept_channel_event(session, target, event))
    session.commit()
    for binding_id in orders_recorded:
        tasks.request_order(binding_id)
    for binding_id in returns:
        tasks.request_aftersale("returns", binding_id)
    if not targets and answer is not None:
        return answer  # every holder's answer was a duplicate or an ignored lie
    if not targets:
        return {"status": "ignored", "reason": f"no channel holds shop {event.shop_id}"}, 200
    return {"status": "recorded" if recorded else "duplicate", "channels": recorded}, 200


def _receive(platform: str, ident: str, headers: Mapping[str, str], body: bytes) -> Answer:
    pm = plugin_manager_of(current_app)
    info = pm.platforms().get(platform)
    if info is None:
        raise Refused("no plugin for this platform")
    number = connection_id(ident)
    if number is None:
        raise Refused("the path names no possible connection id")
    model = StoreConnection if info.role == Role.STORE else ChannelConnection
    # The platform waits for this answer: our SQLite writes go before the workers' (a no-op
    # on PostgreSQL, whose writers do not queue for one lock).
    with writes_first(), Session(engine_of(current_app), expire_on_commit=False) as session:
        row = session.get(model, number)
        if row is None or row.platform != platform:
            raise Refused(f"no {platform} {info.role.value} connection {number}")
        event = _verify(pm, row, headers, body)
        now = utcnow()
        if too_old(event, now, WEBHOOK_REPLAY_WINDOW):
            log.info("%s connection %s: %r from %s is older than the replay window; ignored",
                     platform, number, event.topic, event.occurred_at)
            return {"status": "stale"}, 200
        if event.occurred_at is not None and event.occurred_at > now:
            event = replace(event, occurred_at=now)  # a clock ahead never outranks later news
        if isinstance(row, StoreConnection):
            mismatch = claimed_shop_mismatch(row, event,
                                             current_app.extensions.setdefault(_WARNED, set()))
            if mismatch:
                raise Refused(f"store {number}: {mismatch}")
            if event.access_revoked:
                early = _unconfirmed_revocation(session, pm, row, event)
                if early is not None:
                    return early
            return _store_event(session, row, event)
        return _channel_event(session, pm, row, event, headers, body)


@bp.post("/<platform>/<ident>")
def receive(platform: str, ident: str) -> Answer:
    """Verify, deduplicate and enqueue one webhook delivery."""
    body = read_body(request, int(current_app.config["MAX_CONTENT_LENGTH"]))
    try:
        return _receive(platform, ident, request.headers, body)
    except Refused as exc:
        log.warning("webhook to /webhooks/%r/%r refused (%s): %s", platform[:40], ident[:40],
                    exc.status, exc.reason)
        return exc.answer()


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Answer | HTTPException:
    """Anything else (broker down, database unreachable): 503 so the platform retries.

    A database outage is one warning line when it starts and one when it ends, not a
    traceback per delivery: a platform retrying a burst of webhooks against a dead database
    would otherwise flood the log.
    """
    if isinstance(exc, HTTPException):
        return exc  # 413 for an oversized body and the like keep their own status
    if isinstance(exc, SQLAlchemyError) and is_outage(exc):
        if not current_app.extensions.get(OUTAGE_KEY):
            current_app.extensions[OUTAGE_KEY] = True
            log.warning("webhook receiver: %s; answering 503 until it is back",
                        describe_database_error(exc))
    else:
        log.exception("webhook could not be accepted")
    return {"error": "temporarily unable to accept webhooks; retry later"}, 503


@bp.after_request
def _outage_over(response: Response) -> Response:
    """Say once that the database is back, when a delivery is answered after an outage."""
    if response.status_code < 500 and current_app.extensions.get(OUTAGE_KEY):
        current_app.extensions[OUTAGE_KEY] = False
        log.warning("webhook receiver: the database is reachable again")
    return response
