"""Cancellations both ways, once each, and buyer requests listed for the seller.

- The channel cancelled an order whose store order exists (its webhook or the order poll):
  `note_channel_cancellation` binds one store cancellation, and `cancel_in_store` calls the
  store's cancel hook with the channel's restock setting. An order cancelled before it
  reached the store is only recorded (the order engine skips it).
- The store cancelled (its webhook or the order-status poll, see fulfilment.py):
  `cancel_on_channel` asks the channel to cancel with the store's reason word, which the
  channel plugin maps to one of its own reasons; a refusal (already shipped, past the window)
  is a failure naming it.
- A buyer's cancellation request that the seller must answer is listed on the order, never
  approved here: `note_cancel_request` follows it until TikTok settles it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from shelfsync.core.models import AftersaleAction, ChannelConnection, OrderBinding, utcnow
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.aftersale import (
    CANCEL,
    ActionOutcome,
    ActionState,
    AfterReason,
    Clock,
    Kind,
    classify,
    done,
    fail,
    record_action,
)
from shelfsync.core.sync.context import channel_connection, settings_of, store_connection, store_of
from shelfsync.core.sync.fulfilment import store_ref
from shelfsync.core.types import StoreOrderStatus

#: TikTok's cancellation states (Search Cancellations, CANCELLATION_STATUS_CHANGE).
REQUEST_PENDING = "CANCELLATION_REQUEST_PENDING"
REQUEST_SETTLED = {"CANCELLATION_REQUEST_SUCCESS": ActionState.DONE,
                   "CANCELLATION_REQUEST_COMPLETE": ActionState.DONE,
                   "CANCELLATION_REQUEST_CANCEL": ActionState.SKIPPED}
DEFAULT_REASON = "Cancelled on TikTok"


def note_channel_cancellation(session: Session, binding_id: int, channel_id: int,
                              reason: str = "") -> int | None:
    """Bind the store cancellation of a created order the channel cancelled (in the caller's
    transaction), when the channel's cancellation sync is on; its id when new."""
    if not settings_of(session, channel_id).cancellation_sync:
        return None
    if session.execute(select(AftersaleAction.id).where(
            AftersaleAction.binding_id == binding_id,
            AftersaleAction.kind == Kind.CANCEL_CHANNEL.value)).first() is not None:
        return None  # the store cancelled first and we cancelled on the channel: not back
    return record_action(session, binding_id=binding_id, channel_id=channel_id,
                         kind=Kind.CANCEL_STORE, external_id=CANCEL,
                         payload={"reason": reason or DEFAULT_REASON})


def note_cancel_request(session: Session, channel_id: int, order_id: str, cancel_id: str,
                        status: str) -> int | None:
    """List a buyer's pending cancellation request on its order (never approved here), and
    settle the listing once TikTok settled the request; the order's binding id, or None when
    the order is not known yet (the order poll brings it)."""
    binding_id = session.execute(select(OrderBinding.id).where(
        OrderBinding.channel_id == channel_id,
        OrderBinding.channel_order_id == order_id)).scalar_one_or_none()
    if binding_id is None or not cancel_id:
        return None
    if status == REQUEST_PENDING:
        record_action(session, binding_id=binding_id, channel_id=channel_id,
                      kind=Kind.CANCEL_REQUEST, external_id=cancel_id,
                      payload={"cancel_status": status}, status=ActionState.LISTED,
                      reason=AfterReason.AWAITING_SELLER)
    elif status in REQUEST_SETTLED:
        table = AftersaleAction.__table__  # type: ignore[attr-defined]
        session.execute(update(table).where(
            table.c.binding_id == binding_id, table.c.kind == Kind.CANCEL_REQUEST.value,
            table.c.external_id == cancel_id, table.c.status == ActionState.LISTED.value,
        ).values(status=REQUEST_SETTLED[status].value, payload={"cancel_status": status},
                 fix_hint=None, updated_at=utcnow()))
    return int(binding_id)


def cancel_in_store(session: Session, pm: ShelfsyncPluginManager, action: AftersaleAction,
                    binding: OrderBinding, *, clock: Clock = utcnow) -> ActionOutcome:
    """Cancel the store order of a leased store cancellation, restocking per the channel's
    setting; records the outcome."""
    now: datetime = clock()
    channel = session.get(ChannelConnection, binding.channel_id)
    assert channel is not None
    restock = bool(settings_of(session, binding.channel_id).restock)
    connection = store_connection(store_of(session, channel.organization_id))
    reason = str((action.payload or {}).get("reason") or DEFAULT_REASON)
    ref = store_ref(binding)
    session.commit()  # nothing open while the store is called
    try:
        status: StoreOrderStatus = pm.call(connection, "shelfsync_cancel_store_order",
                                           order_ref=ref, reason=reason, restock=restock)
    except Exception as exc:
        session.rollback()
        return fail(session, action, classify(exc, AfterReason.STORE_REFUSED), now)
    return done(session, action, result_ref=status.id, detail=f"restock={restock}")


def cancel_on_channel(session: Session, pm: ShelfsyncPluginManager, action: AftersaleAction,
                      binding: OrderBinding, *, clock: Clock = utcnow) -> ActionOutcome:
    """Cancel the channel order of a leased channel cancellation; records the outcome."""
    now: datetime = clock()
    channel = session.get(ChannelConnection, binding.channel_id)
    assert channel is not None
    connection = channel_connection(channel)
    reason = str((action.payload or {}).get("reason") or "OTHER")
    order_id = binding.channel_order_id
    session.commit()
    try:
        pm.call(connection, "shelfsync_push_cancellation", order_id=order_id, reason=reason)
    except Exception as exc:
        session.rollback()
        return fail(session, action, classify(exc, AfterReason.CHANNEL_REFUSED), now)
    return done(session, action)
