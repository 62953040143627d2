"""One attempt at one after-sale action: lease it, do it by its kind, record the outcome."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from shelfsync.core.models import AftersaleAction, OrderBinding, utcnow
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync import cancellation, fulfilment, refunds
from shelfsync.core.sync.aftersale import ActionOutcome, Clock, Kind, lease_action

Perform = Callable[..., ActionOutcome]
PERFORM: dict[str, Perform] = {
    Kind.FULFILLMENT.value: fulfilment.push_fulfillment,
    Kind.CANCEL_STORE.value: cancellation.cancel_in_store,
    Kind.CANCEL_CHANNEL.value: cancellation.cancel_on_channel,
    Kind.REFUND.value: refunds.refund_in_store,
}


def attempt_action(session: Session, pm: ShelfsyncPluginManager, action_id: int, owner: str,
                   *, clock: Clock = utcnow, force: bool = False) -> ActionOutcome:
    """Lease the action (committed at once), then carry it across; an action another worker
    holds, or one not due, is left alone (`attempted=False`)."""
    leased = lease_action(session, action_id, owner, clock(), force=force)
    session.commit()
    action = session.get(AftersaleAction, action_id, populate_existing=True)
    if action is None:
        return ActionOutcome(action_id, 0, "", "", attempted=False)
    if not leased or action.kind not in PERFORM:
        return ActionOutcome(action_id, action.binding_id, action.kind, action.status,
                             attempted=False)
    binding = session.get(OrderBinding, action.binding_id)
    assert binding is not None
    return PERFORM[action.kind](session, pm, action, binding, clock=clock)
