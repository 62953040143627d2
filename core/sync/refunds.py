"""Channel returns and refunds → store refunds, once per channel return id.

A return the channel completed (the buyer has the money back) on an order whose store order
exists is bound by its return id (`accept_returns`, from the RETURN_STATUS_CHANGE webhook's
read or the return poll); `refund_in_store` turns its line items into store SKU units (one
channel line item is one unit), converts the amount to the store's currency with the
channel's rate, and calls the store's refund hook, restocking when the channel's setting
and the return both say the units come back. Each return is its own refund, so partial
refunds of one order add up; the store plugin looks for the return's refund before making
one, so a lost answer never refunds twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from shelfsync.core.models import (
    AftersaleAction,
    CatalogVariant,
    ChannelConnection,
    OrderBinding,
    SkuLink,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.aftersale import (
    ActionOutcome,
    AfterReason,
    AfterRefusal,
    Clock,
    Kind,
    classify,
    done,
    fail,
    record_action,
)
from shelfsync.core.sync.context import settings_of, store_connection, store_of
from shelfsync.core.sync.fulfilment import store_ref, units_of
from shelfsync.core.sync.order_payload import _money, _unmoney
from shelfsync.core.sync.orders import OrderState, _convert
from shelfsync.core.types import ChannelReturn, FulfilledLine, Money, StoreRefund, StoreRefundResult


def accept_returns(session: Session, channel_id: int, returns: Iterable[ChannelReturn]
                   ) -> list[int]:
    """Bind each completed return of a created order (in the caller's transaction), when the
    channel's refund sync is on; the new actions' ids. Returns not completed yet, and those
    of orders never made in the store, are left for later or alone."""
    if not settings_of(session, channel_id).refund_sync:
        return []
    new: list[int] = []
    for ret in returns:
        if not ret.completed:
            continue
        binding = session.execute(select(OrderBinding).where(
            OrderBinding.channel_id == channel_id,
            OrderBinding.channel_order_id == ret.order_id)).scalar_one_or_none()
        if binding is None or binding.status != OrderState.CREATED.value:
            continue
        assert binding.id is not None
        payload: dict[str, Any] = {
            "status": ret.status, "return_type": ret.return_type, "restock": ret.restock,
            "refund_total": _money(ret.refund_total),
            "lines": [{"line_id": li.line_id, "sku_id": li.sku_id,
                       "seller_sku": li.seller_sku, "refund": _money(li.refund)}
                      for li in ret.lines]}
        made = record_action(session, binding_id=binding.id, channel_id=channel_id,
                             kind=Kind.REFUND, external_id=ret.id, payload=payload)
        if made is not None:
            new.append(made)
    return new


def _store_lines(session: Session, binding: OrderBinding, lines: list[dict[str, Any]]
                 ) -> tuple[FulfilledLine, ...]:
    """Store SKU → units of the returned channel lines (one line item per unit)."""
    links = dict(session.execute(select(SkuLink.sku_id, SkuLink.store_sku).where(
        SkuLink.channel_id == binding.channel_id)).all())
    counts = {ident: count for ident, _, count in units_of(binding, links)}
    units: dict[str, int] = {}
    unknown: list[str] = []
    for line in lines:
        sku_id = str(line.get("sku_id") or "")
        store_sku = links.get(sku_id)
        if store_sku is None:
            unknown.append(str(line.get("seller_sku") or sku_id or line.get("line_id")))
            continue
        # One unit per returned TikTok line item; a whole line where the channel has no units.
        units[store_sku] = units.get(store_sku, 0) + counts.get(str(line.get("line_id")), 1)
    if unknown:
        raise AfterRefusal(AfterReason.LINES_NOT_MATCHED,
                           f"returned SKUs not linked to the store: {', '.join(unknown)}")
    return tuple(FulfilledLine(sku, count) for sku, count in sorted(units.items()))


def _store_amount(session: Session, binding: OrderBinding, amount: Money | None,
                  store_id: int | None, skus: list[str]) -> Money | None:
    if amount is None:
        return None
    currencies = sorted(c for c in session.execute(select(CatalogVariant.currency).where(
        CatalogVariant.store_connection_id == store_id,
        CatalogVariant.sku.in_(skus))).scalars() if c)
    target = currencies[0] if currencies else amount.currency
    rate = Decimal(str(settings_of(session, binding.channel_id).currency_rate or 1))
    try:
        return _convert(amount, target, rate)
    except Exception as exc:
        raise AfterRefusal(AfterReason.STORE_REFUSED, f"cannot convert {amount.amount}") from exc


def refund_in_store(session: Session, pm: ShelfsyncPluginManager, action: AftersaleAction,
                    binding: OrderBinding, *, clock: Clock = utcnow) -> ActionOutcome:
    """Make the store refund of a leased return; records the outcome."""
    now: datetime = clock()
    channel = session.get(ChannelConnection, binding.channel_id)
    assert channel is not None
    payload = dict(action.payload or {})
    try:
        lines = _store_lines(session, binding, list(payload.get("lines") or []))
        store = store_of(session, channel.organization_id)
        amount = _store_amount(session, binding, _unmoney(payload.get("refund_total")),
                               store.id, [li.sku for li in lines])
    except AfterRefusal as refusal:
        return fail(session, action, refusal, now)
    restock = bool(settings_of(session, binding.channel_id).restock) and bool(
        payload.get("restock", True))
    refund = StoreRefund(id=action.external_id, lines=lines, amount=amount, restock=restock,
                         note=f"TikTok return {action.external_id} of order "
                              f"{binding.channel_order_id}")
    connection = store_connection(store)
    ref = store_ref(binding)
    session.commit()  # nothing open while the store is called
    try:
        result: StoreRefundResult = pm.call(connection, "shelfsync_refund_store_order",
                                            order_ref=ref, refund=refund)
    except Exception as exc:
        session.rollback()
        return fail(session, action, classify(exc, AfterReason.STORE_REFUSED), now)
    return done(session, action, result_ref=result.id,
                detail="" if result.created else "found already refunded")
