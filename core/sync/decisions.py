"""From stored stock to the quantity each linked channel SKU should show, and why."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelSettings,
    LocationMode,
    OrderBinding,
    SkuLink,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.rules import Decision, LocationStock, decide
from shelfsync.core.sync.catalog import StoreState
from shelfsync.core.sync.context import STREAM, chunks
from shelfsync.core.types import Capabilities, Connection

UNKNOWN_STORE_SKU = "unknown_store_sku"
INVALID_INPUT = "invalid_input"
INVALID_DECISION = "invalid_decision"
#: A tracked SKU the store's read did not answer for: a read problem, never a 0.
STOCK_NOT_READ = "stock_not_read"
#: The rules' stock entry for units of channel orders not yet created in the store.
HELD_BACK = "held_back"
#: Order states whose units are still owed to buyers but not yet taken off the store's stock.
_HOLDING_STATES = ("waiting", "failed")
#: Channel statuses that hold nothing back: not paid yet, or cancelled.
_NOT_ACCEPTED = ("UNPAID", "CANCELLED", "CANCEL")


@dataclass
class Planned:
    """One linked SKU's decision (or why none could be made), before comparing and pushing."""

    sku: str
    sku_id: str
    product_id: str
    quantity: int | None
    reason: str
    explanation: str
    inputs: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None


def linked(session: Session, channel_id: int, skus: Collection[str] | None) -> list[SkuLink]:
    """The channel's links, those of `skus` only when given."""
    base = select(SkuLink).where(SkuLink.channel_id == channel_id)
    if skus is None:
        return list(session.exec(base.order_by(SkuLink.store_sku, SkuLink.sku_id)))
    found: list[SkuLink] = []
    for part in chunks(sorted(set(skus))):
        found.extend(session.exec(base.where(SkuLink.store_sku.in_(part))))
    return sorted(found, key=lambda link: (link.store_sku, link.sku_id))


def linked_products(session: Session, channel_id: int) -> list[str]:
    """The channel products that have links, in order."""
    return list(session.exec(select(SkuLink.product_id).where(SkuLink.channel_id == channel_id)
                             .distinct().order_by(SkuLink.product_id)))


def linked_in(session: Session, channel_id: int, products: Collection[str]) -> list[SkuLink]:
    """The channel's links of these products (at most `CHUNK` of them), in SKU order.

    Sorted here, not by the database: asked to order by SKU, SQLite walks the channel's
    (channel, store SKU) index over every link of the channel instead of looking the part's
    products up by their own index."""
    links = session.exec(select(SkuLink).where(
        SkuLink.channel_id == channel_id, SkuLink.product_id.in_(list(products))))
    return sorted(links, key=lambda link: (link.store_sku, link.sku_id))


def _inputs(state: StoreState, sku: str, settings: ChannelSettings,
            use_locations: list[str] | None, maximum: int) -> dict[str, Any]:
    return {
        "stock": [{"location_id": s.location_id, "quantity": s.quantity, "active": s.active}
                  for s in state.stock.get(sku, [])],
        "continue_selling": state.flags.get(sku, False),
        "percent": settings.percent,
        "threshold": settings.threshold,
        "honor_continue_selling": settings.honor_continue_selling,
        "locations": use_locations,
        "maximum": maximum,
    }


def plan(pm: ShelfsyncPluginManager, channel: Connection, links: list[SkuLink],
         state: StoreState, settings: ChannelSettings, store_caps: Capabilities,
         maximum: int) -> list[Planned]:
    """Decide each link's quantity with the rules, then let plugins adjust it.

    A SKU the store does not know at all is not decided (nothing to go on); bad stock data or
    a plugin's invalid replacement fails that SKU alone.
    """
    use_locations: list[str] | None = None
    if settings.location_mode == LocationMode.SPECIFIC.value:
        use_locations = [str(location) for location in settings.location_ids or []]
    held = _held_for(channel, links)
    planned = []
    for link in links:
        item = Planned(link.store_sku, link.sku_id, link.product_id, None, "", "")
        item.inputs = _inputs(state, link.store_sku, settings, use_locations, maximum)
        planned.append(item)
        if link.store_sku not in state.known:
            item.reason, item.error_code = UNKNOWN_STORE_SKU, UNKNOWN_STORE_SKU
            item.explanation = f"the store reports nothing for SKU {link.store_sku!r}"
            continue
        stock, counted = state.stock.get(link.store_sku, []), use_locations
        units = held.get(link.store_sku, 0)
        if units:
            # Owed to buyers, like a location's negative stock: lowers the counted total.
            item.inputs[HELD_BACK] = units
            stock = [*stock, LocationStock(HELD_BACK, -units)]
            counted = None if use_locations is None else [*use_locations, HELD_BACK]
        try:
            decision = decide(
                stock=stock,
                use_locations=counted,
                percent=settings.percent,
                threshold=settings.threshold,
                continue_selling=state.flags.get(link.store_sku, False),
                honor_continue_selling=settings.honor_continue_selling,
                capabilities=store_caps,
                maximum=maximum,
            )
        except InvalidInput as exc:
            item.reason, item.error_code, item.explanation = INVALID_INPUT, INVALID_INPUT, str(exc)
            continue
        adjusted = pm.hook.shelfsync_adjust_decision(
            channel=channel, sku=link.store_sku, decision=decision, inputs=item.inputs)
        if adjusted is not None:
            if not _valid(adjusted, maximum):
                item.reason, item.error_code = INVALID_DECISION, INVALID_DECISION
                item.explanation = (f"a plugin replaced the decision with {adjusted!r}: not a "
                                    f"Decision with a quantity from 0 to {maximum}")
                continue
            item.inputs["adjusted_from"] = decision.quantity
            decision = adjusted
        item.quantity = decision.quantity
        item.reason, item.explanation = str(decision.reason), decision.explanation
        if units:
            item.explanation += (f"; {units} unit{'s' if units != 1 else ''} held back for "
                                 f"channel orders not yet created in the store")
    return planned


def held_back_units(session: Session, organization_id: int,
                    skus: Collection[str] | None = None) -> dict[str, int]:
    """Store SKU → units of the organization's accepted channel orders (any shop; not
    unpaid, not cancelled) whose store order does not exist yet: the store has not taken
    them off its stock, so every channel must not offer them again."""
    query = select(OrderBinding.units).join(
        ChannelConnection, ChannelConnection.id == OrderBinding.channel_id  # type: ignore[arg-type]
    ).where(ChannelConnection.organization_id == organization_id,
            OrderBinding.status.in_(_HOLDING_STATES),  # type: ignore[attr-defined]
            OrderBinding.channel_status.not_in(_NOT_ACCEPTED))  # type: ignore[union-attr]
    wanted = None if skus is None else set(skus)
    held: dict[str, int] = {}
    for units in session.exec(query):
        for sku, count in (units or {}).items():
            if (wanted is None or sku in wanted) and isinstance(count, int) and count > 0:
                held[sku] = held.get(sku, 0) + count
    return held


def _held_for(channel: Connection, links: list[SkuLink]) -> dict[str, int]:
    """The held-back units of the links' SKUs, read in the links' own session."""
    session = object_session(links[0]) if links else None
    row = session.get(ChannelConnection, channel.id) if session and channel.id else None
    if session is None or row is None:
        return {}
    return held_back_units(session, row.organization_id,  # type: ignore[arg-type]
                           {link.store_sku for link in links})


def _valid(decision: object, maximum: int) -> bool:
    quantity = getattr(decision, "quantity", None)
    return (isinstance(decision, Decision) and isinstance(quantity, int)
            and not isinstance(quantity, bool) and 0 <= quantity <= maximum)


def unread_skus(session: Session, store_id: int, answered: set[str],
                skus: Collection[str] | None) -> set[str]:
    """Tracked catalog SKUs (of `skus`, or all) the store's stock read did not answer for.

    A plugin that stops reading early (a 429 it gave up on, a page it lost) must not make its
    silence a 0 that empties a shop: these SKUs are reported as read problems, not pushed.
    """
    query = select(CatalogVariant.sku).where(CatalogVariant.store_connection_id == store_id,
                                             CatalogVariant.tracked)
    if skus is None:
        rows = session.exec(query.execution_options(yield_per=STREAM))
        return {sku for sku in rows if sku and sku not in answered}
    found: set[str] = set()
    for part in chunks(sorted(set(skus))):
        found.update(sku for sku in session.exec(query.where(CatalogVariant.sku.in_(part)))
                     if sku not in answered)
    return found


def refuse_unread(planned: list[Planned], unread: Collection[str]) -> list[Planned]:
    """Turn the decisions of unread SKUs into read problems (failed, nothing pushed)."""
    for item in planned:
        if item.sku in unread and item.error_code is None:
            item.quantity, item.reason, item.error_code = None, STOCK_NOT_READ, STOCK_NOT_READ
            item.explanation = (f"the store's stock read did not answer for tracked SKU "
                                f"{item.sku!r}: nothing pushed rather than a guessed 0")
    return planned
