"""The live preview of a channel's inventory rules: for a sample of its linked SKUs (or a
search), the store stock as last observed → the quantity this shop would show under settings
being edited, and why, before anything is saved.

It reads only what is stored (stock levels, locations, continue-selling flags, the last
pushed quantity), never calls a platform, so it can answer on every keystroke. It decides
as the engine does (`core/sync/decisions.py`): units held back for channel orders not yet
created in the store lower the stock first, `rules.decide` applies the edited settings, and
a plugin's `shelfsync_adjust_decision` may replace the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelSettings,
    Location,
    LocationMode,
    PushedQuantity,
    SkuLink,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.rules import Decision, LocationStock, decide
from shelfsync.core.services.channel_settings import channel_settings, check_channel_changes
from shelfsync.core.sync.catalog import StoreState, load_store_state
from shelfsync.core.sync.context import (
    capabilities_of,
    channel_connection,
    channel_maximum,
    chunks,
    store_of,
)
from shelfsync.core.sync.decisions import HELD_BACK, held_back_units
from shelfsync.core.types import Connection

#: SKUs shown when nothing is searched.
SAMPLE_SIZE = 8
MAX_SEARCH_LENGTH = 100


@dataclass
class PreviewRow:
    """One linked SKU: its stock, what the shop shows now, and would show when saved."""

    sku: str
    sku_id: str
    title: str
    stock: list[dict[str, Any]]
    #: The quantity last pushed (None: never pushed, or its outcome unknown).
    shown: int | None
    #: None when inventory sync would be off, or the store knows nothing of the SKU.
    quantity: int | None
    reason: str
    explanation: str

    @property
    def changes(self) -> bool:
        return self.quantity is not None and self.quantity != self.shown


@dataclass
class Preview:
    rows: list[PreviewRow] = field(default_factory=list)
    #: Of all the channel's linked SKUs, how many would show another quantity than now.
    will_change: int | None = None


def draft_settings(session: Session, channel: ChannelConnection,
                   changes: Mapping[str, Any]) -> ChannelSettings:
    """The channel's settings with `changes` applied in memory only (checked; `InvalidInput`
    naming the first bad field). The stored row is left untouched."""
    assert channel.id is not None
    columns = check_channel_changes(session, channel, changes)
    stored = channel_settings(session, channel.id)
    draft = ChannelSettings.model_validate(stored.model_dump())
    for column, value in columns.items():
        setattr(draft, column, value)
    return draft


def _links(session: Session, channel_id: int, search: str | None,
           limit: int | None) -> list[SkuLink]:
    query = select(SkuLink).where(SkuLink.channel_id == channel_id)
    if search:
        if len(search) > MAX_SEARCH_LENGTH:
            raise InvalidInput("search", f"must be at most {MAX_SEARCH_LENGTH} characters")
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        query = query.where(func.lower(SkuLink.store_sku).like(pattern, escape="\\"))
    query = query.order_by(SkuLink.store_sku, SkuLink.sku_id)  # type: ignore[arg-type]
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


@dataclass
class _Context:
    """What every row of one preview shares."""

    pm: ShelfsyncPluginManager
    connection: Connection
    draft: ChannelSettings
    state: StoreState
    held: dict[str, int]
    names: dict[str, str]
    store_platform: str
    maximum: int


def _row(link: SkuLink, ctx: _Context, shown: int | None, title: str) -> PreviewRow:
    stock = ctx.state.stock.get(link.store_sku, [])
    row = PreviewRow(link.store_sku, link.sku_id, title,
                     [{"location_id": s.location_id, "name": ctx.names.get(s.location_id) or
                       s.location_id, "quantity": s.quantity, "active": s.active}
                      for s in stock], shown, None, "", "")
    draft = ctx.draft
    if not draft.inventory_sync:
        row.reason, row.explanation = "inventory_sync_off", "inventory sync is off: not pushed"
        return row
    if link.store_sku not in ctx.state.known:
        row.reason = "unknown_store_sku"
        row.explanation = "the store has reported nothing for this SKU yet"
        return row
    use: list[str] | None = (list(draft.location_ids or [])
                             if draft.location_mode == LocationMode.SPECIFIC.value else None)
    units = ctx.held.get(link.store_sku, 0)
    if units:  # owed to buyers: lowers the counted total, as in the engine
        stock = [*stock, LocationStock(HELD_BACK, -units)]
        use = None if use is None else [*use, HELD_BACK]
        row.stock.append({"location_id": HELD_BACK, "name": "held back for orders",
                          "quantity": -units, "active": True})
    inputs = {"stock": row.stock, "continue_selling": ctx.state.flags.get(link.store_sku, False),
              "percent": draft.percent, "threshold": draft.threshold,
              "honor_continue_selling": draft.honor_continue_selling, "locations": use,
              "maximum": ctx.maximum, **({HELD_BACK: units} if units else {})}
    try:
        decision = decide(stock=stock, use_locations=use, percent=draft.percent,
                          threshold=draft.threshold,
                          continue_selling=ctx.state.flags.get(link.store_sku, False),
                          honor_continue_selling=draft.honor_continue_selling,
                          capabilities=capabilities_of(ctx.pm, ctx.store_platform),
                          maximum=ctx.maximum)
    except InvalidInput as exc:  # corrupt stored stock: said for this SKU alone
        row.reason, row.explanation = "invalid_input", str(exc)
        return row
    adjusted = ctx.pm.hook.shelfsync_adjust_decision(
        channel=ctx.connection, sku=link.store_sku, decision=decision, inputs=inputs)
    if isinstance(adjusted, Decision) and 0 <= adjusted.quantity <= ctx.maximum:
        decision = adjusted
    row.quantity, row.reason, row.explanation = (decision.quantity, str(decision.reason),
                                                 decision.explanation)
    if units:
        row.explanation += (f"; {units} unit{'s' if units != 1 else ''} held back for channel "
                            "orders not yet created in the store")
    return row


def preview(session: Session, pm: ShelfsyncPluginManager, channel: ChannelConnection,
            changes: Mapping[str, Any], *, search: str | None = None,
            limit: int = SAMPLE_SIZE, count_all: bool = False) -> Preview:
    """The preview of `changes` on the channel's linked SKUs (a sample, or those whose store
    SKU contains `search`); with `count_all`, also how many of all its SKUs would change."""
    assert channel.id is not None
    draft = draft_settings(session, channel, changes)
    store = store_of(session, channel.organization_id)
    assert store.id is not None
    result = Preview()
    links = _links(session, channel.id, (search or "").strip() or None, limit)
    result.rows = _rows(session, pm, channel, store.id, store.platform, links, draft)
    if count_all:
        every = _links(session, channel.id, None, None)
        result.will_change = sum(
            1 for part in chunks(every)
            for row in _rows(session, pm, channel, store.id, store.platform, list(part), draft)
            if row.changes)
    return result


def _rows(session: Session, pm: ShelfsyncPluginManager, channel: ChannelConnection,
          store_id: int, store_platform: str, links: list[SkuLink],
          draft: ChannelSettings) -> list[PreviewRow]:
    if not links:
        return []
    skus = {link.store_sku for link in links}
    ids = [link.sku_id for link in links]
    shown = {sku_id: quantity for sku_id, quantity in session.exec(
        select(PushedQuantity.sku_id, PushedQuantity.quantity).where(
            PushedQuantity.channel_id == channel.id,
            PushedQuantity.sku_id.in_(ids)))}  # type: ignore[attr-defined]
    titles = dict(session.exec(select(CatalogVariant.sku, CatalogVariant.title).where(
        CatalogVariant.store_connection_id == store_id,
        CatalogVariant.sku.in_(sorted(skus)))).all())  # type: ignore[attr-defined]
    names = dict(session.exec(select(Location.location_id, Location.name).where(
        Location.store_connection_id == store_id)).all())
    ctx = _Context(pm, channel_connection(channel), draft,
                   load_store_state(session, store_id, skus),
                   held_back_units(session, channel.organization_id, skus), names,
                   store_platform, channel_maximum(pm, channel.platform))
    return [_row(link, ctx, shown.get(link.sku_id), str(titles.get(link.store_sku, "")))
            for link in links]
