"""After-sale actions, exactly once: the bound row, its lease, its outcome and its reason.

Every fulfilment, cancellation and refund that crosses between the store and a channel is an
`aftersale_action` row keyed by (order binding, kind, external id), inserted with ON CONFLICT
DO NOTHING before any platform is called: a duplicate webhook, a poll racing it or a retried
message finds the row and adds nothing. A worker leases the row in a short committed
statement, calls the platform with no transaction open and records the outcome in a second
one; the platform's write is itself idempotent (the plugin looks before it writes), so a
lost answer ends with one effect. Failures carry a reason code and a fix hint, and are
retried like order failures: transient ones by time, the others on a merchant's retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from shelfsync.core.errors import (
    AuthError,
    BadRequest,
    HookNotImplemented,
    NotFound,
    ShelfsyncError,
)
from shelfsync.core.models import AftersaleAction, utcnow
from shelfsync.core.sync.context import backoff, insert_for

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
LEASE_TTL = timedelta(minutes=2)
#: The external id of the one cancellation each way an order can have.
CANCEL = "cancel"


class Kind(StrEnum):
    """What an action carries, and which way."""

    FULFILLMENT = "fulfillment"  # a store shipment's tracking → the channel
    CANCEL_STORE = "cancel_store"  # the channel's cancellation → the store order
    CANCEL_CHANNEL = "cancel_channel"  # the store's cancellation → the channel order
    REFUND = "refund"  # a channel return or refund → a store refund
    CANCEL_REQUEST = "cancel_request"  # a buyer's request the seller must answer: listed


class ActionState(StrEnum):
    """Where an action stands (`aftersale_action.status`)."""

    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: Shown to the merchant, never acted on by us (a buyer's cancellation request).
    LISTED = "listed"


class AfterReason(StrEnum):
    """Why an action failed or was skipped; each has a fix hint."""

    CARRIER_NOT_MAPPED = "carrier_not_mapped"
    CHANNEL_REFUSED = "channel_refused"
    STORE_REFUSED = "store_refused"
    API_ERROR = "api_error"
    NEEDS_REAUTH = "needs_reauth"
    NOT_SUPPORTED = "not_supported"
    LINES_NOT_MATCHED = "lines_not_matched"
    FULFILLED_BY_CHANNEL = "fulfilled_by_channel"
    ORDER_NOT_FOUND = "order_not_found"
    AWAITING_SELLER = "awaiting_seller"


HINTS: dict[AfterReason, str] = {
    AfterReason.CARRIER_NOT_MAPPED: "Map the store's carrier to one of the shop's shipping "
                                    "providers (`shelfsync carriers list --channel C`, then "
                                    "`shelfsync channel settings C --carrier NAME=ID`), then "
                                    "`shelfsync orders retry`.",
    AfterReason.CHANNEL_REFUSED: "TikTok refused it (see why); settle the order on TikTok "
                                 "Seller Center, or fix the cause and `shelfsync orders retry`.",
    AfterReason.STORE_REFUSED: "The store refused it (see why); settle the order in the store, "
                               "or fix the cause and `shelfsync orders retry`.",
    AfterReason.API_ERROR: "Nothing to do: the API failed and it is retried automatically.",
    AfterReason.NEEDS_REAUTH: "Reconnect the store (or the shop), then `shelfsync orders "
                              "retry`.",
    AfterReason.NOT_SUPPORTED: "The platform's plugin cannot do this through its API: do it "
                               "by hand on the platform.",
    AfterReason.LINES_NOT_MATCHED: "The shipped SKUs match no unshipped line of the TikTok "
                                   "order (a SKU link changed?); ship those lines on TikTok "
                                   "Seller Center.",
    AfterReason.FULFILLED_BY_CHANNEL: "Nothing to do: TikTok ships this order itself (FBT).",
    AfterReason.ORDER_NOT_FOUND: "The order is gone on the platform; nothing more can be "
                                 "sent for it.",
    AfterReason.AWAITING_SELLER: "The buyer asked to cancel: approve or reject the request on "
                                 "TikTok Seller Center (Shelfsync never approves it for you).",
}


class AfterRefusal(Exception):
    """An action that cannot be done as it stands: a reason code, a detail, retry or not."""

    def __init__(self, reason: AfterReason, detail: str, retry: bool = False) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.retry = reason, detail, retry


def _table():  # type: ignore[no-untyped-def]
    return AftersaleAction.__table__  # type: ignore[attr-defined]


def record_action(session: Session, *, binding_id: int, channel_id: int, kind: Kind,
                  external_id: str, payload: dict[str, Any],
                  status: ActionState = ActionState.WAITING,
                  reason: AfterReason | None = None) -> int | None:
    """Bind one action to its order in the caller's transaction; its id when new, None when
    it was already recorded (a duplicate: nothing is added)."""
    now = utcnow()
    values: dict[str, Any] = {
        "binding_id": binding_id, "channel_id": channel_id, "kind": kind.value,
        "external_id": external_id, "status": status.value, "payload": payload,
        "attempts": 0, "created_at": now, "updated_at": now,
    }
    if reason is not None:
        values.update(failure_reason_code=reason.value, fix_hint=HINTS[reason])
    inserted = session.execute(insert_for(session, AftersaleAction).values(**values)
                               .on_conflict_do_nothing(
                                   index_elements=["binding_id", "kind", "external_id"])
                               .returning(_table().c.id)).scalar_one_or_none()
    return int(inserted) if inserted is not None else None


def actions_of(session: Session, binding_id: int, kind: Kind | None = None
               ) -> list[AftersaleAction]:
    """An order's actions, oldest first."""
    query = select(AftersaleAction).where(AftersaleAction.binding_id == binding_id)
    if kind is not None:
        query = query.where(AftersaleAction.kind == kind.value)
    return list(session.execute(query.order_by(AftersaleAction.id)).scalars())


def lease_action(session: Session, action_id: int, owner: str, now: datetime,
                 *, force: bool = False) -> bool:
    """Take a waiting (or failed and due, or `force`d) free action for `owner`; the caller
    commits at once."""
    table = _table()
    due = or_(table.c.status == ActionState.WAITING.value,
              and_(table.c.status == ActionState.FAILED.value,
                   or_(table.c.retry_at <= now, force)))
    free = or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now,
               table.c.lease_owner == owner)
    result = session.execute(update(table).where(table.c.id == action_id, due, free).values(
        lease_owner=owner, lease_expires_at=now + LEASE_TTL, attempts=table.c.attempts + 1))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def settle(session: Session, action_id: int, state: ActionState, **values: Any) -> None:
    """Record an action's outcome and free its lease (the caller commits)."""
    session.execute(update(_table()).where(_table().c.id == action_id).values(
        status=state.value, lease_owner=None, lease_expires_at=None, updated_at=utcnow(),
        **values))



def classify(exc: BaseException, refused: AfterReason) -> AfterRefusal:
    """A platform's error as a reason: `refused` for a refusal (BadRequest), re-auth for an
    AuthError, not supported for a missing hook; retryable errors retry."""
    if isinstance(exc, AfterRefusal):
        return exc
    if isinstance(exc, HookNotImplemented):
        return AfterRefusal(AfterReason.NOT_SUPPORTED, str(exc))
    if isinstance(exc, AuthError):
        return AfterRefusal(AfterReason.NEEDS_REAUTH, str(exc))
    if isinstance(exc, NotFound):
        return AfterRefusal(AfterReason.ORDER_NOT_FOUND, str(exc))
    if isinstance(exc, BadRequest) or (isinstance(exc, ShelfsyncError) and not exc.retryable):
        return AfterRefusal(refused, str(exc))
    if not isinstance(exc, ShelfsyncError):
        log.warning("after-sale attempt failed unexpectedly", exc_info=exc)
    return AfterRefusal(AfterReason.API_ERROR, str(exc) or type(exc).__name__, retry=True)


@dataclass(frozen=True)
class ActionOutcome:
    """What one attempt did with one action."""

    action_id: int
    binding_id: int
    kind: str
    state: str
    reason: str | None = None
    detail: str = ""
    attempted: bool = True


def fail(session: Session, action: AftersaleAction, refusal: AfterRefusal,
         now: datetime) -> ActionOutcome:
    """Record a failure with its reason and hint (retry time when transient); commits."""
    assert action.id is not None
    retry_at = now + backoff(action.attempts) if refusal.retry else None
    settle(session, action.id, ActionState.FAILED, failure_reason_code=refusal.reason.value,
           fix_hint=f"{HINTS[refusal.reason]} ({refusal.detail[:500]})", retry_at=retry_at)
    session.commit()
    return ActionOutcome(action.id, action.binding_id, action.kind, ActionState.FAILED.value,
                         refusal.reason.value, refusal.detail)


def done(session: Session, action: AftersaleAction, result_ref: str = "",
         detail: str = "") -> ActionOutcome:
    """Record success; commits."""
    assert action.id is not None
    settle(session, action.id, ActionState.DONE, result_ref=result_ref or None,
           failure_reason_code=None, fix_hint=None, retry_at=None)
    session.commit()
    return ActionOutcome(action.id, action.binding_id, action.kind, ActionState.DONE.value,
                         detail=detail)


def due_actions(session: Session, now: datetime, *, binding_ids: list[int] | None = None,
                channel_ids: list[int] | None = None, limit: int = 500) -> list[int]:
    """Actions an attempt may move: waiting, or failed and due; not leased by a live worker."""
    table = _table()
    query = select(table.c.id).where(
        or_(table.c.status == ActionState.WAITING.value,
            and_(table.c.status == ActionState.FAILED.value, table.c.retry_at <= now)),
        or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now),
    ).order_by(table.c.id).limit(limit)
    if binding_ids is not None:
        query = query.where(table.c.binding_id.in_(binding_ids))
    if channel_ids is not None:
        query = query.where(table.c.channel_id.in_(channel_ids))
    return [int(i) for i in session.execute(query).scalars()]


def failed_actions(session: Session, binding_ids: list[int]) -> list[int]:
    """The failed actions of these orders (a merchant's retry takes them all)."""
    if not binding_ids:
        return []
    return [int(i) for i in session.execute(select(_table().c.id).where(
        _table().c.binding_id.in_(binding_ids),
        _table().c.status == ActionState.FAILED.value).order_by(_table().c.id)).scalars()]
