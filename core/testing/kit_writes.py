"""The kit's write checks: orders created once, pushes held, fulfilment and cancellation once.

Each write is also made under the "applied, answer lost" fault (the fake applies it, then
answers 502), after which the plugin, or core sending it again, must not make a duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shelfsync.core.errors import NotFound, PluginError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit_types import assert_declared_types
from shelfsync.core.testing.kit_values import (
    LISTINGS,
    ContractFailure,
    compare,
    fake_truth,
    flatten,
    require,
)
from shelfsync.core.types import (
    ChannelOrder,
    Connection,
    FulfilledLine,
    Fulfillment,
    InventoryUpdate,
    Money,
    OrderLine,
    PassScope,
    PushResult,
    ShippingProvider,
    StoreOrderRef,
    StoreOrderStatus,
    StoreRefund,
    StoreRefundResult,
)

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake


def _call_losing_the_answer(pm: ShelfsyncPluginManager, fake: RunningFake, conn: Connection,
                            hook: str, **kwargs: Any) -> Any:
    """Call a write hook while the fake applies the next write and loses its answer; returns
    the hook's answer or the `PluginError` it raised. Fails when the fault never fired (the
    hook wrote nothing, so the check would prove nothing)."""
    fake.inject_fault("lost", count=1)
    try:
        answered: Any = pm.call(conn, hook, **kwargs)
    except PluginError as exc:
        answered = exc
    finally:
        pending = fake.pending_faults()
        fake.clear_faults()
    require(pending == 0, hook, "the 'applied, answer lost' fault never fired (no write?)",
            "the fault consumed", f"{pending} pending")
    return answered

def _elements(values: Any, kind: type, what: str) -> None:
    for value in flatten(values, what):
        require(isinstance(value, kind), what, "an element of the wrong type", kind.__name__,
                value)
        assert_declared_types(value)


# --- role-specific writes ---------------------------------------------------------------------


def _order(sku: str, price: Money | None = None) -> ChannelOrder:
    return ChannelOrder(
        id=f"contract-{uuid.uuid4().hex[:12]}", status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="1", sku_id="contract-sku", seller_sku=sku, quantity=1,
                         unit_price=price),),
        total=price,
    )


def _orders_held(fake: RunningFake, order_id: str) -> int:
    orders = fake_truth(fake).orders
    require(orders is not None, "shelfsync_create_order",
            "the fake's truth() gives no orders to count", "a count per channel order", None)
    assert orders is not None
    return int(orders.get(order_id, 0))


def check_create_order(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    """Creating the same channel order again, after a 500, and when the create was applied but
    its answer lost, finds the first one: the store holds exactly one order per channel order.
    """
    hook = "shelfsync_create_order"
    conn = fake.connection
    item = next(i for i in flatten(pm.call(conn, "shelfsync_fetch_catalog"),
                                   "shelfsync_fetch_catalog") if i.sku)
    price = Money(item.price or "1.00", item.currency or "USD")
    order = _order(item.sku, price)
    first = pm.call(conn, hook, order=order)
    require(isinstance(first, StoreOrderRef) and first.created and first.id, hook,
            "a new order was not created", "StoreOrderRef(created=True)", first)
    again = pm.call(conn, hook, order=order)
    require(not again.created and again.id == first.id, hook,
            "creating the same order again did not find the first",
            replace(first, created=False), again)
    fake.inject_fault("500", count=1)
    retried = pm.call(conn, hook, order=order)
    fake.clear_faults()
    require(not retried.created and retried.id == first.id, hook,
            "after a 500 the same order was not found", replace(first, created=False), retried)
    require(_orders_held(fake, order.id) == 1, hook, "the store holds duplicates", 1,
            _orders_held(fake, order.id))
    lost = _order(item.sku, price)
    ref = _call_losing_the_answer(pm, fake, conn, hook, order=lost)
    held = _orders_held(fake, lost.id)
    require(held == 1, hook, "a create whose answer was lost left duplicates (look the order "
            "up before every retry)", "1 order", f"{held} orders; answered {ref!r}")
    status = pm.call(conn, "shelfsync_fetch_order_status", order_ref=first)
    require(isinstance(status, StoreOrderStatus) and status.id == first.id,
            "shelfsync_fetch_order_status", "the status names another order", first.id, status)
    try:
        created = pm.call(conn, hook, order=_order("CONTRACT-NO-SUCH-SKU"))
    except NotFound:
        return
    raise ContractFailure(hook, "an order for an unknown SKU was created", "NotFound", created)


def check_push_inventory(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    """One result per update; a rejected SKU fails alone; what was pushed is what the fake
    holds (summed over locations), also when the push was applied but its answer lost."""
    hook = "shelfsync_push_inventory"
    conn = fake.connection
    picks = flatten(pm.call(conn, "shelfsync_fetch_listings"), "shelfsync_fetch_listings")[:3]
    require(picks, hook, "the channel lists nothing to push to", "listings", picks)
    updates = [InventoryUpdate(product_id=listing.product_id, sku_id=listing.sku_id,
                               quantity=7, seller_sku=listing.seller_sku,
                               shown=dict(listing.quantities))
               for listing in picks]
    updates.append(InventoryUpdate(product_id=picks[0].product_id,
                                   sku_id="contract-no-such-sku", quantity=1))
    results = pm.call(conn, hook, updates=updates, scope=PassScope())
    _elements(results, PushResult, "push results")
    by_sku = {result.sku_id: result for result in results}
    require(len(results) == len(updates) and set(by_sku) == {u.sku_id for u in updates}, hook,
            "not one result per update", sorted(u.sku_id for u in updates), sorted(by_sku))
    bogus = by_sku["contract-no-such-sku"]
    require(not bogus.ok and (bogus.error_code or bogus.error_message), hook,
            "a bogus SKU was not rejected with a code", "ok=False with a code", bogus)
    for update in updates[:-1]:
        require(by_sku[update.sku_id].ok, hook, f"push of {update.sku_id} failed", "ok",
                by_sku[update.sku_id])
    _pushed_quantities_held(pm, fake, updates[:-1], 7)
    # Applied, answer lost: the push may report a retryable failure, never a wrong quantity.
    again = [replace(update, quantity=4) for update in updates[:-1]]
    answered = _call_losing_the_answer(pm, fake, conn, hook, updates=again, scope=PassScope())
    if isinstance(answered, list):
        for result in answered:
            require(result.ok or result.retryable or result.kind is not None, hook,
                    "a push whose answer was lost was reported as a final failure",
                    "ok or retryable", result)
    _pushed_quantities_held(pm, fake, again, 4)


def _pushed_quantities_held(pm: ShelfsyncPluginManager, fake: RunningFake,
                            updates: Sequence[InventoryUpdate], quantity: int) -> None:
    truth = fake_truth(fake)
    compare(LISTINGS, flatten(pm.call(fake.connection, "shelfsync_fetch_listings"),
                              LISTINGS.name), truth, when=" after a push")
    listings = truth.listings or {}
    for update in updates:
        held = listings.get(update.sku_id, ("", {}))[1]
        require(sum(held.values()) == quantity, "shelfsync_push_inventory",
                f"{update.sku_id} holds another quantity than pushed", quantity, dict(held))


#: Each channel order write, and the `FakeTruth` field counting its effect.
_ORDER_WRITES = {"shelfsync_push_fulfillment": "shipments",
                 "shelfsync_push_cancellation": "cancellations"}


def check_order_writes(pm: ShelfsyncPluginManager, fake: RunningFake) -> list[str]:
    """Fulfilment and cancellation whose answer was lost, then sent again as core would,
    leave exactly one shipment or cancellation. Returns the hooks checked (none when the
    plugin implements neither)."""
    plugin = pm.plugin_for(fake.platform)
    hooks = [hook for hook in _ORDER_WRITES if pm.implements(plugin, hook)]
    if not hooks:
        return []
    conn = fake.connection
    page = pm.call(conn, "shelfsync_fetch_orders", updated_since=None, cursor=None)
    require(len(page.orders) >= len(hooks), "shelfsync_fetch_orders",
            "the fake holds too few orders to ship and cancel one each", len(hooks),
            len(page.orders))
    provider = ""
    if pm.implements(plugin, "shelfsync_fetch_shipping_providers"):
        providers = pm.call(conn, "shelfsync_fetch_shipping_providers")
        _elements(providers, ShippingProvider, "shelfsync_fetch_shipping_providers")
        require(bool(providers), "shelfsync_fetch_shipping_providers",
                "no shipping provider to ship with", "at least one", providers)
        provider = providers[0].id
    for hook, order in zip(hooks, page.orders, strict=False):
        kwargs: dict[str, Any] = (
            {"fulfillment": Fulfillment(order_id=order.id, tracking_number="CONTRACT-1",
                                        carrier="contract", shipping_provider_id=provider)}
            if hook == "shelfsync_push_fulfillment"
            else {"order_id": order.id, "reason": "contract"})
        first = _call_losing_the_answer(pm, fake, conn, hook, **kwargs)
        try:
            again = pm.call(conn, hook, **kwargs)
        except PluginError as exc:
            raise ContractFailure(hook, "sending it again after a lost answer failed", True,
                                  f"{type(exc).__name__}: {exc}") from exc
        require(again is True, hook, "sending it again after a lost answer was refused", True,
                again)
        counts = getattr(fake_truth(fake), _ORDER_WRITES[hook])
        require(counts is not None, hook, f"the fake's truth() has no {_ORDER_WRITES[hook]}",
                "a count per order", None)
        held = int(counts.get(order.id, 0))
        require(held == 1, hook, f"the channel holds {held} {_ORDER_WRITES[hook]} for one order",
                1, f"{held} (first answer {first!r})")
    return hooks


#: The store's after-sale writes (optional hooks).
_STORE_WRITES = ("shelfsync_cancel_store_order", "shelfsync_refund_store_order")


def check_store_aftersale_writes(pm: ShelfsyncPluginManager, fake: RunningFake) -> list[str]:
    """A store cancellation and a store refund whose answer was lost, then sent again as core
    would, leave the order cancelled once and refunded once. Returns the hooks checked."""
    plugin = pm.plugin_for(fake.platform)
    hooks = [hook for hook in _STORE_WRITES if pm.implements(plugin, hook)]
    conn = fake.connection
    if not hooks:
        return []
    item = next(i for i in flatten(pm.call(conn, "shelfsync_fetch_catalog"),
                                   "shelfsync_fetch_catalog") if i.sku)
    price = Money(item.price or "1.00", item.currency or "USD")
    for hook in hooks:
        ref = pm.call(conn, "shelfsync_create_order", order=_order(item.sku, price))
        if hook == "shelfsync_cancel_store_order":
            kwargs: dict[str, Any] = {"order_ref": ref, "reason": "contract", "restock": True}
        else:
            kwargs = {"order_ref": ref, "refund": StoreRefund(
                id=f"contract-return-{uuid.uuid4().hex[:8]}",
                lines=(FulfilledLine(item.sku, 1),), amount=price, restock=False)}
        first = _call_losing_the_answer(pm, fake, conn, hook, **kwargs)
        try:
            again = pm.call(conn, hook, **kwargs)
        except PluginError as exc:
            raise ContractFailure(hook, "sending it again after a lost answer failed", "an answer",
                                  f"{type(exc).__name__}: {exc}") from exc
        if hook == "shelfsync_cancel_store_order":
            require(isinstance(again, StoreOrderStatus) and again.cancelled, hook,
                    "the order is not cancelled after a retry", "cancelled=True", again)
            continue
        require(isinstance(again, StoreRefundResult) and not again.created, hook,
                "a retry after a lost answer did not find the first refund", "created=False",
                again)
        refunds = fake_truth(fake).refunds
        require(refunds is not None, hook, "the fake's truth() has no refunds",
                "a count per order", None)
        assert refunds is not None
        require(int(refunds.get(ref.id, 0)) == 1, hook, "the store holds duplicate refunds", 1,
                f"{refunds.get(ref.id)} (first answer {first!r})")
    return hooks
