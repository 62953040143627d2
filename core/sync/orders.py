"""Channel orders into the store, exactly once: intake, the leased binding, the store call.

An order arrives from a webhook (its id and status) or a poll page (the whole order); both go
through `accept_order`, one INSERT … ON CONFLICT on (channel, channel order id) whose newer
channel status wins, so duplicates and a webhook racing the poller make one row.

`create_in_store` leases the row (owner, expiry) in a short committed statement, decides
(UNPAID and ON_HOLD wait, a cancelled order is skipped, unlinked SKUs or a currency without a
rate fail with a reason), calls the store with no transaction open, and records the store
order in a second short transaction. The store plugin looks for an order carrying the channel
order id before every attempt, so a worker killed between the store's answer and the commit,
a 5xx after the order was made or a lost answer end with the one store order: the next
attempt finds it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from shelfsync.core.errors import AuthError, BadRequest, NotFound, ShelfsyncError
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelSettings,
    OrderBinding,
    SkuLink,
    StoreConnection,
    utcnow,
)
from shelfsync.core.models_ops import Prebuilt
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.cancellation import note_channel_cancellation
from shelfsync.core.sync.context import (
    backoff,
    settings_of,
    store_connection,
    store_of,
)
from shelfsync.core.sync.order_payload import order_from_payload, order_to_payload
from shelfsync.core.sync.pending import mark_pending
from shelfsync.core.types import ChannelOrder, Money, StoreOrderRef

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
#: Longer than one store call with its retries; short enough that a killed worker's order is
#: taken again soon.
LEASE_TTL = timedelta(minutes=2)


class OrderState(StrEnum):
    """Where an order stands (`order_binding.status`)."""

    WAITING = "waiting"
    CREATED = "created"
    FAILED = "failed"
    SKIPPED = "skipped"


class Reason(StrEnum):
    """Why an order is not (yet) in the store; each has a fix hint a merchant can act on."""

    SKU_NOT_LINKED = "sku_not_linked"
    SKU_MISSING_IN_STORE = "sku_missing_in_store"
    STORE_REFUSED = "store_refused"
    CURRENCY_MISMATCH = "currency_mismatch"
    STORE_API_ERROR = "store_api_error"
    NEEDS_REAUTH = "needs_reauth"
    CANCELLED_BEFORE_SYNC = "cancelled_before_sync"


HINTS: dict[Reason, str] = {
    Reason.SKU_NOT_LINKED: "Link these TikTok SKUs to store variants (`shelfsync link`), then "
                           "`shelfsync orders retry`.",
    Reason.SKU_MISSING_IN_STORE: "Create the SKU in the store (or fix the variant's SKU), "
                                 "then `shelfsync orders retry`.",
    Reason.STORE_REFUSED: "Fix what the store refused (stock, a required field) in the store, "
                          "then `shelfsync orders retry`.",
    Reason.CURRENCY_MISMATCH: "Set the channel's currency rate (`shelfsync channel settings C "
                              "--currency-rate R`), then `shelfsync orders retry`.",
    Reason.STORE_API_ERROR: "Nothing to do: the store's API failed and the order is retried "
                            "automatically.",
    Reason.NEEDS_REAUTH: "Reconnect the store (or the shop), then `shelfsync orders retry`.",
    Reason.CANCELLED_BEFORE_SYNC: "Nothing to do: the buyer cancelled before the order reached "
                                  "the store.",
}
#: TikTok statuses: never created while unpaid; the buyer's cancellation window waits.
UNPAID, ON_HOLD = "UNPAID", "ON_HOLD"
CANCELLED = frozenset({"CANCELLED", "CANCEL"})
#: An order's status changes in this order; a late, older webhook never undoes a newer one.
_RANK = {s: i for i, s in enumerate(("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT",
                                     "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT",
                                     "DELIVERED", "COMPLETED", "CANCEL", "CANCELLED"))}


# --- intake ----------------------------------------------------------------------------------


def _table():  # type: ignore[no-untyped-def]
    return OrderBinding.__table__  # type: ignore[attr-defined]


def _held_units(session: Session, channel_id: int, order: ChannelOrder) -> dict[str, int]:
    """Store SKU → units of the order's linked lines (unlinked lines hold nothing back)."""
    ids = sorted({line.sku_id for line in order.lines})
    links = dict(session.execute(select(SkuLink.sku_id, SkuLink.store_sku).where(
        SkuLink.channel_id == channel_id, SkuLink.sku_id.in_(ids))).all()) if ids else {}
    units: dict[str, int] = {}
    for line in order.lines:
        if line.sku_id in links:
            units[links[line.sku_id]] = units.get(links[line.sku_id], 0) + line.quantity
    return units


def accept_order(session: Session, channel_id: int, *, order_id: str, status: str,
                 updated_at: datetime | None, order: ChannelOrder | None = None) -> int:
    """Record an order (a webhook's id and status, or a poll's whole order) in the caller's
    transaction; returns the binding's id.

    INSERT … ON CONFLICT DO NOTHING, then the row is locked (PostgreSQL; SQLite's writer lock
    is already held) and moved on: racing intakes make one row. A created or skipped order
    keeps its state; otherwise the newer channel status wins (by update time, then, within
    TikTok's whole seconds, by its status order), and a whole order fills in a bare webhook's.
    """
    table = _table()
    values: dict[str, Any] = {
        "channel_id": channel_id, "channel_order_id": order_id, "channel_status": status,
        "channel_updated_at": updated_at, "status": OrderState.WAITING.value,
        "attempts": 0, "payload": {}, "created_at": utcnow(), "updated_at": utcnow(),
    }
    if order is not None:
        values["payload"] = order_to_payload(order)
        values["units"] = _held_units(session, channel_id, order)
    inserted = session.execute(_INTAKE(session), values).scalar_one_or_none()
    if inserted is not None:
        return int(inserted)
    found = session.execute(select(
        table.c.id, table.c.channel_status, table.c.channel_updated_at, table.c.payload,
        table.c.status).where(table.c.channel_id == channel_id,
                              table.c.channel_order_id == order_id).with_for_update()).one()
    if found.status == OrderState.CREATED.value:
        _created_moved_on(session, channel_id, found, status, updated_at, order)
        return int(found.id)
    if found.status not in (OrderState.WAITING.value, OrderState.FAILED.value):
        return int(found.id)
    changes: dict[str, Any] = {}
    if _is_newer(updated_at, status, found.channel_updated_at, found.channel_status):
        changes.update(channel_status=status, channel_updated_at=updated_at,
                       updated_at=utcnow())
        if order is not None:
            changes.update(payload=values["payload"], units=values["units"])
    elif order is not None and not found.payload:
        # A bare webhook's newer status stands; the order it named is now known whole.
        changes.update(payload=values["payload"], units=values["units"])
    if changes:
        session.execute(update(table).where(table.c.id == found.id).values(**changes))
    return int(found.id)


#: An order's first sighting; a later one finds the row (racing intakes make one row).
_INTAKE = Prebuilt(lambda insert_into: insert_into(OrderBinding).on_conflict_do_nothing(
    index_elements=["channel_id", "channel_order_id"]).returning(_table().c.id))


def _created_moved_on(session: Session, channel_id: int, found: Any, status: str,
                      updated_at: datetime | None, order: ChannelOrder | None) -> None:
    """A created order's newer channel status is kept (the after-sale engine reads it); a
    cancellation binds the store order's cancellation (once)."""
    if not _is_newer(updated_at, status, found.channel_updated_at, found.channel_status):
        return
    session.execute(update(_table()).where(_table().c.id == found.id).values(
        channel_status=status, channel_updated_at=updated_at, updated_at=utcnow()))
    if status.upper() in CANCELLED:
        reason = order.cancel_reason if order is not None else ""
        note_channel_cancellation(session, int(found.id), channel_id, reason)


def _is_newer(when: datetime | None, status: str, old_when: datetime | None,
              old_status: str | None) -> bool:
    if when is None or old_when is None:
        return when is not None or old_when is None
    if old_when.tzinfo is None:
        old_when = old_when.replace(tzinfo=when.tzinfo)
    if when != old_when:
        return when > old_when
    return _RANK.get(status.upper(), -1) >= _RANK.get((old_status or "").upper(), -1)


def held_skus(session: Session, binding_ids: list[int]) -> list[str]:
    """The store SKUs these orders hold (or held) back."""
    if not binding_ids:
        return []
    rows = session.execute(select(_table().c.units).where(_table().c.id.in_(binding_ids)))
    return sorted({sku for (units,) in rows for sku in (units or {})})


# --- one attempt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt did with one order."""

    binding_id: int
    channel_order_id: str
    state: str
    reason: str | None = None
    detail: str = ""
    store_order: StoreOrderRef | None = None
    #: False when another worker held the order, or it was not due.
    attempted: bool = True
    #: The order's organization, when attempted (its held-back units are re-synced).
    organization_id: int | None = None


class Refusal(Exception):
    """An order that cannot be created as it stands: a reason code and a detail."""

    def __init__(self, reason: Reason, detail: str, retry: bool = False) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.retry = reason, detail, retry


def lease_order(session: Session, binding_id: int, owner: str, now: datetime,
                *, force: bool = False) -> OrderBinding | None:
    """Take the order for `owner` until `now + LEASE_TTL` if it is waiting (or failed and due,
    or `force`: a merchant's retry) and free; the caller commits at once. Returns the leased
    row as it now stands (one UPDATE … RETURNING: no second read), None when not taken."""
    table = _table()
    due = or_(table.c.status == OrderState.WAITING.value,
              and_(table.c.status == OrderState.FAILED.value,
                   or_(table.c.retry_at <= now, force)))
    free = or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now,
               table.c.lease_owner == owner)
    statement = (update(OrderBinding).where(table.c.id == binding_id, due, free)
                 .values(lease_owner=owner, lease_expires_at=now + LEASE_TTL,
                         attempts=table.c.attempts + 1)
                 .returning(OrderBinding))
    return session.execute(statement, execution_options={
        "synchronize_session": False, "populate_existing": True}).scalar_one_or_none()


def _convert(amount: Money | None, store_currency: str, rate: Decimal) -> Money | None:
    """A channel amount in the store's currency: channel = store × rate, so store = channel /
    rate, to the cent."""
    if amount is None:
        return None
    if amount.currency in ("", store_currency):
        return Money(amount.amount, store_currency)
    try:
        value = (Decimal(amount.amount) / rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
    except (InvalidOperation, ZeroDivisionError) as exc:
        raise Refusal(Reason.CURRENCY_MISMATCH, f"cannot convert {amount.amount}") from exc
    return Money(f"{value}", store_currency)


def store_order_for(session: Session, binding: OrderBinding, order: ChannelOrder,
                    channel: ChannelConnection, *, store: StoreConnection | None = None,
                    settings: ChannelSettings | None = None) -> ChannelOrder:
    """The order the store receives: lines named by their linked store SKUs, amounts in the
    store's currency, the shop's name. `Refusal` when it cannot be made. `store` and
    `settings` spare reading them again when the caller has them."""
    ids = sorted({line.sku_id for line in order.lines})
    links = dict(session.execute(select(SkuLink.sku_id, SkuLink.store_sku).where(
        SkuLink.channel_id == binding.channel_id, SkuLink.sku_id.in_(ids))).all())
    unlinked = sorted({line.seller_sku or line.sku_id for line in order.lines
                       if line.sku_id not in links})
    if unlinked:
        raise Refusal(Reason.SKU_NOT_LINKED,
                      f"SKUs not linked to the store: {', '.join(unlinked)}")
    store = store if store is not None else store_of(session, channel.organization_id)
    currencies = set(session.execute(select(CatalogVariant.currency).where(
        CatalogVariant.store_connection_id == store.id,
        CatalogVariant.sku.in_(sorted(set(links.values()))))).scalars())
    store_currency = next((c for c in sorted(c for c in currencies if c)), "")
    shop_currency = next((m.currency for m in (order.total, *(li.unit_price for li in
                                                               order.lines)) if m), "")
    settings = settings if settings is not None else settings_of(session, binding.channel_id)
    rate = Decimal(str(settings.currency_rate or 1))
    if store_currency and shop_currency and store_currency != shop_currency and rate == 1:
        raise Refusal(Reason.CURRENCY_MISMATCH,
                      f"the shop sells in {shop_currency}, the store in {store_currency}, and "
                      f"the channel has no currency rate")
    target = store_currency or shop_currency
    lines = tuple(replace(line, seller_sku=links[line.sku_id],
                          unit_price=_convert(line.unit_price, target, rate))
                  for line in order.lines)
    return replace(order, lines=lines, shop_name=order.shop_name or channel.shop_name,
                   total=_convert(order.total, target, rate),
                   shipping_fee=_convert(order.shipping_fee, target, rate),
                   tax=_convert(order.tax, target, rate),
                   discount=_convert(order.discount, target, rate))



def classify(exc: BaseException) -> Refusal:
    """A store's error as a reason: NotFound is a SKU the store lacks, BadRequest a refusal,
    AuthError needs re-auth (each waits for a merchant's retry); a retryable error retries."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, AuthError):
        return Refusal(Reason.NEEDS_REAUTH, str(exc))
    if isinstance(exc, NotFound):
        return Refusal(Reason.SKU_MISSING_IN_STORE, str(exc))
    if isinstance(exc, BadRequest):
        return Refusal(Reason.STORE_REFUSED, str(exc))
    if isinstance(exc, ShelfsyncError) and not exc.retryable:
        return Refusal(Reason.STORE_REFUSED, str(exc))
    if not isinstance(exc, ShelfsyncError):
        # Not a typed plugin error (a bug, a dropped connection): kept with its traceback in
        # the log; the order is retried like a store API error.
        log.warning("order attempt failed unexpectedly", exc_info=exc)
    return Refusal(Reason.STORE_API_ERROR, str(exc) or type(exc).__name__, retry=True)


def _settle(session: Session, binding_id: int, **values: Any) -> Any:
    """End the attempt's lease with these values; the row's held units and channel status as
    they now stand (what the caller needs next, without reading the row again), or None when
    the order is gone."""
    table = _table()
    return session.execute(update(table).where(table.c.id == binding_id).values(
        lease_owner=None, lease_expires_at=None, updated_at=utcnow(), **values).returning(
        table.c.units, table.c.channel_status)).first()


def create_in_store(session: Session, pm: ShelfsyncPluginManager, binding_id: int, owner: str,
                    *, clock: Clock = utcnow, force: bool = False) -> Outcome:
    """One attempt at the order's store order. Commits the lease before the store call and
    the outcome after it; no transaction is open while the store is called. An attempted
    outcome names the order's organization (its held-back units are re-synced)."""
    now = clock()
    binding = lease_order(session, binding_id, owner, now, force=force)
    session.commit()
    if binding is None:
        other = session.get(OrderBinding, binding_id, populate_existing=True)
        if other is None:
            return Outcome(binding_id, "", "", attempted=False)
        return Outcome(binding_id, other.channel_order_id, other.status, attempted=False)
    channel = session.get(ChannelConnection, binding.channel_id)
    assert channel is not None
    outcome = _attempt(session, pm, binding, channel, owner, now, clock)
    return replace(outcome, organization_id=channel.organization_id)


def _attempt(session: Session, pm: ShelfsyncPluginManager, binding: OrderBinding,
             channel: ChannelConnection, owner: str, now: datetime, clock: Clock) -> Outcome:
    """The leased order decided, then created in the store (or failed with its reason)."""
    binding_id = binding.id
    assert binding_id is not None
    settings = settings_of(session, binding.channel_id)
    decided = _decide(session, binding, now, settings)
    if decided is not None:
        session.commit()
        return decided
    try:
        store = store_of(session, channel.organization_id)
        order = store_order_for(session, binding, order_from_payload(binding.payload), channel,
                                store=store, settings=settings)
        connection = store_connection(store)
    except Refusal as refusal:
        return _fail(session, binding, owner, refusal, now)
    session.commit()  # nothing open while the store is called
    try:
        ref: StoreOrderRef = pm.call(connection, "shelfsync_create_order", order=order)
    except Exception as exc:
        session.rollback()
        refreshed = session.get(OrderBinding, binding_id, populate_existing=True)
        assert refreshed is not None
        return _fail(session, refreshed, owner, classify(exc), clock())
    settled = _settle(session, binding_id, status=OrderState.CREATED.value,
                      store_order_id=ref.id, store_order_name=ref.name,
                      failure_reason_code=None, fix_hint=None, retry_at=None)
    if settled is not None:
        # Its units are no longer held back: the store's own stock now counts them.
        mark_pending(session, channel.organization_id, sorted(settled.units or {}), clock())
        if (settled.channel_status or "").upper() in CANCELLED:
            # The channel cancelled while the store order was being made: cancel it there.
            note_channel_cancellation(session, binding_id, binding.channel_id)
    session.commit()
    return Outcome(binding_id, binding.channel_order_id, OrderState.CREATED.value,
                   store_order=ref)


def _decide(session: Session, binding: OrderBinding, now: datetime,
            settings: ChannelSettings) -> Outcome | None:
    """Settle an order that is not to be created now (waits, skipped); None: create it."""
    assert binding.id is not None
    status = (binding.channel_status or "").upper()
    ident = binding.channel_order_id
    if status in CANCELLED:
        reason = Reason.CANCELLED_BEFORE_SYNC
        _settle(session, binding.id, status=OrderState.SKIPPED.value,
                failure_reason_code=reason.value, fix_hint=HINTS[reason], retry_at=None)
        return Outcome(binding.id, ident, OrderState.SKIPPED.value, reason.value)
    on_hold_waits = status == ON_HOLD and settings.on_hold != "create"
    if status == UNPAID or on_hold_waits or not is_read(binding):
        # Waits for its next status, or for the read of the order as it now stands (TikTok
        # shows no address while an order is on hold, say).
        _settle(session, binding.id, status=OrderState.WAITING.value)
        return Outcome(binding.id, ident, OrderState.WAITING.value,
                       detail=f"{status or 'unread'}: waiting")
    return None


def is_read(binding: OrderBinding) -> bool:
    """Whether the stored order is the one the newest status describes."""
    stored = str((binding.payload or {}).get("status") or "").upper()
    newest = (binding.channel_status or "").upper()
    return bool(stored) and (stored == newest or (stored in CANCELLED and newest in CANCELLED))


def _fail(session: Session, binding: OrderBinding, owner: str, refusal: Refusal,
          now: datetime) -> Outcome:
    assert binding.id is not None
    retry_at = now + backoff(binding.attempts) if refusal.retry else None
    _settle(session, binding.id, status=OrderState.FAILED.value,
            failure_reason_code=refusal.reason.value,
            fix_hint=f"{HINTS[refusal.reason]} ({refusal.detail[:500]})", retry_at=retry_at)
    session.commit()
    return Outcome(binding.id, binding.channel_order_id, OrderState.FAILED.value,
                   refusal.reason.value, refusal.detail)


def due_orders(session: Session, now: datetime, *, channel_ids: list[int] | None = None,
               limit: int = 500) -> list[int]:
    """Orders an attempt may move: waiting with an order read (not UNPAID), or failed and due,
    and not leased by a live worker."""
    table = _table()
    query = select(table.c.id).where(
        or_(and_(table.c.status == OrderState.WAITING.value, table.c.channel_status != UNPAID),
            and_(table.c.status == OrderState.FAILED.value, table.c.retry_at <= now)),
        or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now),
    ).order_by(table.c.id).limit(limit)
    if channel_ids is not None:
        query = query.where(table.c.channel_id.in_(channel_ids))
    return [int(i) for i in session.execute(query).scalars()]
