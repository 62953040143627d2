"""Reading a channel's orders by update time, page by page, into `accept_order`.

The poller asks for orders updated since the newest update it has seen minus an overlap
window (TikTok's times are whole seconds and its index lags a little), following page tokens
to the end; a webhook's order is read the same way from the webhook's update time. Orders
already seen are accepted again harmlessly: intake is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from shelfsync.core.errors import PluginContractError
from shelfsync.core.models import ChannelConnection, OrderBinding
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.context import channel_connection
from shelfsync.core.sync.orders import accept_order, held_skus
from shelfsync.core.sync.pending import mark_pending
from shelfsync.core.types import ChannelOrder, OrderPage

FETCH_ORDER = "shelfsync_fetch_order"

#: How far back each poll reaches before the newest update it has seen.
OVERLAP = timedelta(minutes=10)
#: Where the first poll of a channel starts.
FIRST_POLL = timedelta(days=1)
#: Pages one poll reads at most (the next poll continues from the newest update it saw).
MAX_PAGES = 50


@dataclass
class PollResult:
    """What one read of a channel's orders found."""

    binding_ids: list[int] = field(default_factory=list)
    pages: int = 0
    seen: set[str] = field(default_factory=set)


def poll_start(session: Session, channel_id: int, now: datetime) -> datetime:
    """Where the channel's next poll starts: the newest update seen, minus the overlap."""
    newest = session.execute(select(func.max(OrderBinding.channel_updated_at)).where(
        OrderBinding.channel_id == channel_id)).scalar_one_or_none()
    if newest is None:
        return now - FIRST_POLL
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return min(newest, now) - OVERLAP


def read_orders(session: Session, pm: ShelfsyncPluginManager, channel_id: int,
                since: datetime | None, *, until_found: str | None = None,
                max_pages: int = MAX_PAGES) -> PollResult:
    """Read the channel's orders updated since `since`, accept each, commit per page.

    With `until_found` (a webhook's read), only that order is taken in and the read stops at
    the page that holds it: the page's other orders have webhooks of their own, and the poll
    catches any whose webhook was lost. No transaction is open during a read.
    """
    row = session.get(ChannelConnection, channel_id)
    if row is None:
        return PollResult()
    connection = channel_connection(row)
    shop_name, organization_id = row.shop_name, row.organization_id
    session.commit()
    result = PollResult()
    cursor: str | None = None
    while result.pages < max_pages:
        page: OrderPage = pm.call(connection, "shelfsync_fetch_orders", updated_since=since,
                                  cursor=cursor)
        result.pages += 1
        _take(session, channel_id, organization_id, shop_name, result,
               [order for order in page.orders
                if until_found is None or order.id == until_found])
        cursor = page.next_cursor
        if not cursor or (until_found is not None and until_found in result.seen):
            break
    return result


def _take(session: Session, channel_id: int, organization_id: int, shop_name: str,
          result: PollResult, orders: list[ChannelOrder], *, commit: bool = True) -> None:
    """Accept `orders` (idempotent), queue the SKUs whose held-back units changed, commit
    (unless the caller's next statement belongs in the same transaction: see
    `read_one_order`)."""
    before = len(result.binding_ids)
    for order in orders:
        if not order.shop_name:
            order = replace(order, shop_name=shop_name)
        result.binding_ids.append(accept_order(
            session, channel_id, order_id=order.id, status=order.status,
            updated_at=order.updated_at, order=order))
        result.seen.add(order.id)
    # Held-back units changed: every channel's quantities of these SKUs are decided again.
    taken = len(result.binding_ids) - before
    changed = held_skus(session, result.binding_ids[-taken:] if taken else [])
    if changed:
        mark_pending(session, organization_id, changed, datetime.now(UTC))
    if commit:
        session.commit()


def read_one_order(session: Session, pm: ShelfsyncPluginManager, channel_id: int,
                   order_id: str, *, commit: bool = True) -> PollResult | None:
    """Read one order by id (`shelfsync_fetch_order`) and accept it; None when the channel's
    plugin has no such hook (the caller reads the page of changed orders instead). An order
    the channel does not know raises `NotFound`, as the hook does.

    Without `commit` the intake's transaction is left open for the caller to finish at once
    (a webhook's order is leased in the same transaction: one commit fewer per order); no
    call is made while it is open."""
    row = session.get(ChannelConnection, channel_id)
    if row is None:
        return PollResult()
    if not pm.implements(pm.plugin_for(row.platform), FETCH_ORDER):
        return None
    connection = channel_connection(row)
    shop_name, organization_id = row.shop_name, row.organization_id
    session.commit()
    order = pm.call(connection, FETCH_ORDER, order_id=order_id)
    if not isinstance(order, ChannelOrder) or order.id != order_id:
        raise PluginContractError(
            f"the {connection.platform} plugin answered {FETCH_ORDER} for {order_id} with "
            "something else than that order", platform=connection.platform,
            code="bad_order_answer")
    result = PollResult(pages=1)
    _take(session, channel_id, organization_id, shop_name, result, [order], commit=commit)
    return result
