"""After-sale as a service: the sessions of each step, webhooks in, polls, retries, listings.

Actors, the webhook receiver and the CLI call these; the engine (`core/sync/fulfilment.py`,
`cancellation.py`, `refunds.py`, `aftersale.py`) does the work. Error policy is the orders'
one: a failed platform call is recorded on its action (reason, fix hint, retry time) and
never raised, so one order never blocks the others; a read that fails (the store's order
status, the channel's returns) raises, and the caller's retry policy decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from shelfsync.core.db import session_scope
from shelfsync.core.errors import HookNotImplemented
from shelfsync.core.models import (
    AftersaleAction,
    ChannelConnection,
    OrderBinding,
    StoreConnection,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services.channel_settings import channel_settings
from shelfsync.core.services.connections import find_channel
from shelfsync.core.sync.aftersale import (
    ActionOutcome,
    ActionState,
    Clock,
    Kind,
    due_actions,
    failed_actions,
)
from shelfsync.core.sync.aftersale_run import attempt_action
from shelfsync.core.sync.cancellation import note_cancel_request
from shelfsync.core.sync.context import channel_connection
from shelfsync.core.sync.fulfilment import read_store_status, record_store_status
from shelfsync.core.sync.orders import OrderState
from shelfsync.core.sync.refunds import accept_returns
from shelfsync.core.types import ReturnPage, ShippingProvider, WebhookEvent

CANCELLATION_TOPIC = "CANCELLATION_STATUS_CHANGE"
RETURN_TOPIC = "RETURN_STATUS_CHANGE"
#: Store webhook topics that may mean a shipment or a cancellation of an order.
STORE_ORDER_TOPICS = frozenset({"orders/updated", "orders/cancelled", "orders/fulfilled",
                                "orders/partially_fulfilled", "fulfillments/create",
                                "fulfillments/update"})
#: How long after its creation a store order is still watched by the poll.
WATCH_DAYS = 60
#: How far back each return poll reaches (returns are bound by id: a re-read adds nothing).
RETURN_WINDOW = timedelta(days=2)
#: Orders one poll reads the store status of at most.
POLL_ORDERS = 200
MAX_RETURN_PAGES = 20


@dataclass
class AftersalePass:
    """What one after-sale pass did."""

    checked: int = 0
    recorded: int = 0
    outcomes: list[ActionOutcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {"checked": self.checked, "recorded": self.recorded}
        for outcome in self.outcomes:
            if outcome.attempted:
                key = f"{outcome.kind}_{outcome.state}"
                counts[key] = counts.get(key, 0) + 1
        return counts


# --- webhooks in -------------------------------------------------------------------------------


def accept_store_event(session: Session, store: StoreConnection, event: WebhookEvent
                       ) -> list[int]:
    """The created orders a store webhook names (shipment, cancellation, update), to check
    now; nothing is written (the store's status is read by the check itself)."""
    if event.topic not in STORE_ORDER_TOPICS or not event.order_id:
        return []
    rows = session.execute(select(OrderBinding.id).join(
        ChannelConnection, ChannelConnection.id == OrderBinding.channel_id  # type: ignore[arg-type]
    ).where(ChannelConnection.organization_id == store.organization_id,
            OrderBinding.store_order_id == event.order_id,
            OrderBinding.status == OrderState.CREATED.value))
    return [int(i) for i in rows.scalars()]


def _data(event: WebhookEvent) -> Mapping[str, Any]:
    data = event.payload.get("data") if isinstance(event.payload, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def accept_channel_event(session: Session, channel: ChannelConnection, event: WebhookEvent
                         ) -> list[int]:
    """Record a channel's cancellation or return webhook in the caller's transaction
    (committed before the receiver answers 200). A buyer's pending cancellation request is
    listed on its order; a return names the order whose returns are read next. Returns the
    bindings whose returns to read."""
    if channel.id is None or not event.order_id:
        return []
    data = _data(event)
    if event.topic == CANCELLATION_TOPIC:
        note_cancel_request(session, channel.id, event.order_id,
                            str(data.get("cancel_id") or ""),
                            str(data.get("cancel_status") or ""))
        return []
    if event.topic != RETURN_TOPIC:
        return []
    found = session.execute(select(OrderBinding.id).where(
        OrderBinding.channel_id == channel.id,
        OrderBinding.channel_order_id == event.order_id,
        OrderBinding.status == OrderState.CREATED.value)).scalar_one_or_none()
    return [int(found)] if found is not None else []


# --- steps -------------------------------------------------------------------------------------


def check_store_order(pm: ShelfsyncPluginManager, binding_id: int, owner: str, *,
                      clock: Clock = utcnow) -> list[ActionOutcome]:
    """Read a created order's store status, bind what is new, then carry every due action
    of the order across."""
    with session_scope() as session:
        status = read_store_status(session, pm, binding_id)
        if status is not None:
            record_store_status(session, binding_id, status)
            session.commit()
    return run_due(pm, owner, binding_ids=[binding_id], clock=clock)


def read_returns(pm: ShelfsyncPluginManager, channel_id: int, *, order_id: str | None = None,
                 since: datetime | None = None) -> int:
    """Read the channel's returns (one order's, or all changed since `since`) and bind the
    completed ones; how many are new. A channel without the hook has none to read."""
    with session_scope() as session:
        channel = session.get(ChannelConnection, channel_id)
        if channel is None:
            return 0
        connection = channel_connection(channel)
        session.commit()
        cursor: str | None = None
        new = 0
        for _ in range(MAX_RETURN_PAGES):
            try:
                page: ReturnPage = pm.call(connection, "shelfsync_fetch_returns",
                                           order_id=order_id, updated_since=since,
                                           cursor=cursor)
            except HookNotImplemented:
                return new
            new += len(accept_returns(session, channel_id, page.returns))
            session.commit()
            cursor = page.next_cursor
            if not cursor:
                break
        return new


def handle_returns(pm: ShelfsyncPluginManager, binding_id: int, owner: str, *,
                   clock: Clock = utcnow) -> list[ActionOutcome]:
    """A return webhook's order: read its returns, then carry the due refunds across."""
    with session_scope() as session:
        binding = session.get(OrderBinding, binding_id)
        if binding is None:
            return []
        channel_id, order_id = binding.channel_id, binding.channel_order_id
    read_returns(pm, channel_id, order_id=order_id)
    return run_due(pm, owner, binding_ids=[binding_id], clock=clock)


def run_due(pm: ShelfsyncPluginManager, owner: str, *, binding_ids: list[int] | None = None,
            channel_ids: list[int] | None = None, clock: Clock = utcnow
            ) -> list[ActionOutcome]:
    """Attempt every due action of these orders (or channels), one at a time."""
    with session_scope() as session:
        due = due_actions(session, clock(), binding_ids=binding_ids, channel_ids=channel_ids)
    outcomes = []
    for action_id in due:
        with session_scope() as session:
            outcomes.append(attempt_action(session, pm, action_id, owner, clock=clock))
    return outcomes


#: Channel statuses of an order the store may still ship or cancel (later ones: shipped,
#: delivered or cancelled on the channel; its returns are read from the channel instead).
OPEN_STATUSES = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")


def watched_orders(session: Session, channel_id: int, now: datetime) -> list[int]:
    """A channel's created orders still worth reading the store status of: made within
    `WATCH_DAYS`, still open on the channel (not all shipped, not cancelled) and not
    cancelled either way by us."""
    closed = select(AftersaleAction.binding_id).where(
        AftersaleAction.channel_id == channel_id,
        AftersaleAction.kind.in_([Kind.CANCEL_STORE.value, Kind.CANCEL_CHANNEL.value]),  # type: ignore[attr-defined]
        AftersaleAction.status == ActionState.DONE.value)
    rows = session.execute(select(OrderBinding.id).where(
        OrderBinding.channel_id == channel_id,
        OrderBinding.status == OrderState.CREATED.value,
        OrderBinding.created_at >= now - timedelta(days=WATCH_DAYS),
        OrderBinding.channel_status.in_(OPEN_STATUSES),  # type: ignore[union-attr]
        OrderBinding.id.not_in(closed),  # type: ignore[union-attr]
    ).order_by(OrderBinding.id.desc()).limit(POLL_ORDERS))  # type: ignore[union-attr]
    return [int(i) for i in rows.scalars()]


def poll_channel(pm: ShelfsyncPluginManager, channel_id: int, owner: str, *,
                 clock: Clock = utcnow) -> AftersalePass:
    """The after-sale poll of one channel (webhooks can be lost): its recent returns, the
    store status of its watched orders, then every due action."""
    result = AftersalePass()
    now = clock()
    result.recorded += read_returns(pm, channel_id, since=now - RETURN_WINDOW)
    with session_scope() as session:
        watched = watched_orders(session, channel_id, now)
    for binding_id in watched:
        with session_scope() as session:
            status = read_store_status(session, pm, binding_id)
            if status is not None:
                result.recorded += len(record_store_status(session, binding_id, status))
                session.commit()
        result.checked += 1
    result.outcomes = run_due(pm, owner, channel_ids=[channel_id], clock=clock)
    return result


def retry_actions(pm: ShelfsyncPluginManager, binding_ids: list[int], owner: str, *,
                  clock: Clock = utcnow) -> list[ActionOutcome]:
    """A merchant's retry: every failed action of these orders is tried now."""
    with session_scope() as session:
        ids = failed_actions(session, binding_ids)
    outcomes = []
    for action_id in ids:
        with session_scope() as session:
            outcomes.append(attempt_action(session, pm, action_id, owner, clock=clock,
                                           force=True))
    return outcomes


def orders_with_failures(session: Session, organization_id: int) -> list[int]:
    """The organization's orders with a failed after-sale action."""
    rows = session.execute(select(func.distinct(AftersaleAction.binding_id)).join(
        ChannelConnection, ChannelConnection.id == AftersaleAction.channel_id  # type: ignore[arg-type]
    ).where(ChannelConnection.organization_id == organization_id,
            AftersaleAction.status == ActionState.FAILED.value))
    return sorted(int(i) for i in rows.scalars())


# --- listings ----------------------------------------------------------------------------------

_FIELDS = {Kind.FULFILLMENT.value: "fulfillment", Kind.CANCEL_STORE.value: "cancellation",
           Kind.CANCEL_CHANNEL.value: "cancellation", Kind.CANCEL_REQUEST.value: "cancel_request",
           Kind.REFUND.value: "refund"}
#: Which state an order shows when its actions of one kind differ: the one needing a hand.
_WORST = (ActionState.FAILED.value, ActionState.LISTED.value, ActionState.WAITING.value,
          ActionState.SKIPPED.value, ActionState.DONE.value)


def states(session: Session, binding_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per order: its fulfilment, cancellation, refund and cancel-request state (the one that
    needs a hand first), how many of each, and every failure with its reason and fix hint."""
    found: dict[int, dict[str, Any]] = {}
    if not binding_ids:
        return found
    rows = session.execute(select(AftersaleAction).where(
        AftersaleAction.binding_id.in_(binding_ids)).order_by(  # type: ignore[attr-defined]
        AftersaleAction.id)).scalars()
    for action in rows:
        entry = found.setdefault(action.binding_id, {"failures": []})
        name = _FIELDS.get(action.kind, action.kind)
        if action.kind == Kind.CANCEL_STORE.value:
            shown = "cancelled in store"
        elif action.kind == Kind.CANCEL_CHANNEL.value:
            shown = "cancelled on channel"
        else:
            shown = ""
        state = action.status
        current = entry.setdefault(name, {"state": state, "what": shown, "count": 0})
        if _WORST.index(state) < _WORST.index(current["state"]):
            current.update(state=state, what=shown)
        current["count"] += 1
        if action.status in (ActionState.FAILED.value, ActionState.LISTED.value):
            entry["failures"].append({
                "kind": action.kind, "external_id": action.external_id,
                "state": action.status, "reason": action.failure_reason_code,
                "fix_hint": action.fix_hint})
    return found


def carriers(pm: ShelfsyncPluginManager, channel_ref: str
             ) -> tuple[list[ShippingProvider], dict[str, str]]:
    """A channel's shipping providers (read live) and its carrier mapping."""
    with session_scope() as session:
        channel = find_channel(session, channel_ref)
        assert channel.id is not None
        mapping = dict(channel_settings(session, channel.id).carrier_mapping or {})
        connection = channel_connection(channel)
    providers: list[ShippingProvider] = pm.call(connection, "shelfsync_fetch_shipping_providers")
    return providers, mapping
