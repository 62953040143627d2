"""Store shipments → channel tracking, once per store fulfilment id, with carrier mapping.

`observe_store_order` reads a created order's status from the store (no transaction open)
and binds what is new: each shipment (by the store's fulfilment id, with the channel line
items it carries, chosen now so two partial shipments never claim the same unit) and a
store-side cancellation. `push_fulfillment` maps the store's carrier name to one of the
shop's shipping providers — the channel's `--carrier NAME=ID` mapping first, then a provider
of the same name — and sends the tracking through the channel plugin, which ships only the
shipment's lines and answers an already-shipped retry without shipping again. An order the
channel ships itself (FBT) is recorded and never pushed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from shelfsync.core.models import (
    AftersaleAction,
    ChannelConnection,
    OrderBinding,
    SkuLink,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.aftersale import (
    CANCEL,
    ActionOutcome,
    ActionState,
    AfterReason,
    AfterRefusal,
    Clock,
    Kind,
    actions_of,
    classify,
    done,
    fail,
    record_action,
)
from shelfsync.core.sync.context import channel_connection, settings_of, store_connection, store_of
from shelfsync.core.types import (
    Fulfillment,
    ShippingProvider,
    StoreFulfillment,
    StoreOrderRef,
    StoreOrderStatus,
)

CANCELLED = frozenset({"CANCELLED", "CANCEL"})


def store_ref(binding: OrderBinding) -> StoreOrderRef:
    """The store order as `create_order` answered it."""
    return StoreOrderRef(id=str(binding.store_order_id), name=binding.store_order_name,
                         created=False)


def read_store_status(session: Session, pm: ShelfsyncPluginManager, binding_id: int
                      ) -> StoreOrderStatus | None:
    """The store's status of a created order (None when it has no store order); commits
    before the store is called."""
    binding = session.get(OrderBinding, binding_id)
    if binding is None or not binding.store_order_id:
        return None
    channel = session.get(ChannelConnection, binding.channel_id)
    assert channel is not None
    connection = store_connection(store_of(session, channel.organization_id))
    ref = store_ref(binding)
    session.commit()
    status: StoreOrderStatus = pm.call(connection, "shelfsync_fetch_order_status",
                                       order_ref=ref)
    return status


def _links(session: Session, channel_id: int) -> dict[str, str]:
    """Channel SKU id → store SKU for the channel."""
    return dict(session.execute(select(SkuLink.sku_id, SkuLink.store_sku).where(
        SkuLink.channel_id == channel_id)).all())


def units_of(binding: OrderBinding, links: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """The order's shippable units as (channel line id, store SKU, units it stands for): one
    per unit where the channel names units (TikTok), one per line otherwise."""
    units = []
    for line in (binding.payload or {}).get("lines") or []:
        store_sku = links.get(str(line.get("sku_id")), str(line.get("seller_sku") or ""))
        ids = [str(i) for i in line.get("unit_line_ids") or []]
        if ids:
            units += [(ident, store_sku, 1) for ident in ids]
        else:
            units.append((str(line["line_id"]), store_sku, max(1, int(line.get("quantity") or 1))))
    return units


def claim_lines(binding: OrderBinding, links: Mapping[str, str],
                shipment: StoreFulfillment, claimed: set[str]) -> tuple[list[str], list[str]]:
    """The channel line ids a shipment carries (first unclaimed first) and the store SKUs of
    units no unclaimed line matches."""
    units = units_of(binding, links)
    if not shipment.lines:
        return [ident for ident, _, _ in units if ident not in claimed], []
    chosen: list[str] = []
    unmatched: list[str] = []
    for item in shipment.lines:
        wanted = max(0, int(item.quantity))
        for ident, store_sku, count in units:
            if wanted <= 0:
                break
            if ident in claimed or ident in chosen or store_sku != item.sku:
                continue
            chosen.append(ident)
            wanted -= count
        if wanted > 0:
            unmatched.append(item.sku)
    return chosen, unmatched


def record_store_status(session: Session, binding_id: int, status: StoreOrderStatus) -> list[int]:
    """Bind the store's new shipments and its cancellation to the order (in the caller's
    transaction); the new actions' ids. Nothing is recorded twice."""
    binding = session.get(OrderBinding, binding_id)
    if binding is None:
        return []
    assert binding.id is not None
    settings = settings_of(session, binding.channel_id)
    new: list[int] = []
    by_channel = bool((binding.payload or {}).get("fulfilled_by_channel"))
    existing = actions_of(session, binding.id, Kind.FULFILLMENT)
    known = {a.external_id for a in existing}
    claimed = {str(i) for a in existing for i in (a.payload or {}).get("line_ids", [])}
    links = _links(session, binding.channel_id)
    for shipment in status.fulfillments if settings.fulfillment_sync else ():
        if shipment.id in known:
            continue
        payload: dict[str, Any] = {
            "tracking_number": shipment.tracking_number, "carrier": shipment.carrier,
            "lines": [{"sku": li.sku, "quantity": li.quantity} for li in shipment.lines]}
        if by_channel:
            record_action(session, binding_id=binding.id, channel_id=binding.channel_id,
                          kind=Kind.FULFILLMENT, external_id=shipment.id, payload=payload,
                          status=ActionState.SKIPPED, reason=AfterReason.FULFILLED_BY_CHANNEL)
            continue
        line_ids, unmatched = claim_lines(binding, links, shipment, claimed)
        claimed |= set(line_ids)
        payload.update(line_ids=line_ids, unmatched=unmatched)
        made = record_action(session, binding_id=binding.id, channel_id=binding.channel_id,
                             kind=Kind.FULFILLMENT, external_id=shipment.id, payload=payload)
        if made is not None:
            new.append(made)
    channel_cancelled = (binding.channel_status or "").upper() in CANCELLED
    ours = actions_of(session, binding.id, Kind.CANCEL_STORE)
    if status.cancelled and settings.cancellation_sync and not channel_cancelled and not ours:
        # The store cancelled an order the channel still holds. (A cancellation we made
        # because the channel cancelled is never sent back.)
        made = record_action(session, binding_id=binding.id, channel_id=binding.channel_id,
                             kind=Kind.CANCEL_CHANNEL, external_id=CANCEL,
                             payload={"reason": status.cancel_reason or "OTHER"})
        if made is not None:
            new.append(made)
    return new


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def map_carrier(carrier: str, mapping: Mapping[str, str],
                providers: Sequence[ShippingProvider] | None) -> str:
    """The shipping provider id for a store carrier name: the channel's mapping (exact, then
    ignoring case and punctuation), else the one provider of that name; `AfterRefusal`
    naming the carrier otherwise."""
    if carrier in mapping:
        return str(mapping[carrier])
    wanted = _normal(carrier)
    for name, provider_id in mapping.items():
        if _normal(name) == wanted and wanted:
            return str(provider_id)
    matches = sorted({p.id for p in providers or () if _normal(p.name) == wanted and wanted})
    if len(matches) == 1:
        return matches[0]
    shown = carrier or "(no carrier)"
    why = "names several of the shop's providers" if matches else "is not mapped"
    raise AfterRefusal(AfterReason.CARRIER_NOT_MAPPED,
                       f"the store's carrier {shown!r} {why} to a TikTok shipping provider")


def push_fulfillment(session: Session, pm: ShelfsyncPluginManager, action: AftersaleAction,
                     binding: OrderBinding, *, clock: Clock = utcnow) -> ActionOutcome:
    """Send one leased shipment's tracking to the channel; records the outcome."""
    now: datetime = clock()
    channel = session.get(ChannelConnection, binding.channel_id)
    assert channel is not None
    settings = settings_of(session, binding.channel_id)
    payload = dict(action.payload or {})
    connection = channel_connection(channel)
    mapping = dict(settings.carrier_mapping or {})
    session.commit()  # nothing open while the channel is called
    try:
        if payload.get("unmatched") or not payload.get("line_ids"):
            raise AfterRefusal(AfterReason.LINES_NOT_MATCHED,
                               f"store SKUs {', '.join(payload.get('unmatched') or ['-'])} "
                               f"match no unshipped line of TikTok order "
                               f"{binding.channel_order_id}")
        carrier = str(payload.get("carrier") or "")
        providers = None
        if not _mapped(carrier, mapping):
            providers = pm.call(connection, "shelfsync_fetch_shipping_providers")
        provider_id = map_carrier(carrier, mapping, providers)
        pm.call(connection, "shelfsync_push_fulfillment", fulfillment=Fulfillment(
            order_id=binding.channel_order_id,
            tracking_number=str(payload.get("tracking_number") or ""), carrier=carrier,
            line_ids=tuple(payload["line_ids"]), shipping_provider_id=provider_id,
            fulfillment_id=action.external_id))
    except Exception as exc:
        session.rollback()
        return fail(session, action, classify(exc, AfterReason.CHANNEL_REFUSED), now)
    return done(session, action, result_ref=provider_id)


def _mapped(carrier: str, mapping: Mapping[str, str]) -> bool:
    return carrier in mapping or any(_normal(k) == _normal(carrier) and _normal(carrier)
                                     for k in mapping)
