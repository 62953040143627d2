"""Dramatiq actors: a few lines each, calling the syncing service (`core/services/syncing.py`).

Actors take ids and plain values only (Dramatiq's best practices): the service re-reads
everything it needs, so a message delivered twice, late, or after a worker was killed mid-job
finds the database as it is now and leaves the same end state:

- `handle_store_webhook` marks SKUs pending (newest observation wins) and asks for a sync
  (the receiver records them itself; this actor serves other producers);
- `sync_pending` leases the organization's pending SKUs (owner: the message id, so a
  redelivered message takes back what its killed attempt held), syncs them with no
  transaction open across the network, and loops while SKUs arrive, so under load each pass
  takes everything that arrived meanwhile: one store read, one push per changed product;
- `reconcile_channel` and `refresh_catalog` recompute from the platforms' current state;
- `handle_order` takes one channel order into the store (reads it when a webhook named only
  its id), exactly once; `poll_orders` reads a channel's changed orders and sends
  `handle_order` for every order due (new, moved on, or failed and due for a retry). A
  failing order is recorded with its reason and retry time, never raised: one bad order
  never blocks the queue.

Retries are the broker middleware's business (`shelfsync.core.broker`): throttling, 5xx and
unreadable answers are retried with backoff. An `AuthError` is not: the service marks the
connection `needs_reauth` and the job stops, so an expired token never becomes a storm of
retries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from shelfsync.core import broker as _broker  # sets the broker before any actor is declared
from shelfsync.core.db import session_scope
from shelfsync.core.errors import InvalidInput, RateLimited
from shelfsync.core.models import StoreConnection
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.services import aftersale, orders, syncing
from shelfsync.core.sync.inventory_types import SyncReport
from shelfsync.core.sync.orders import due_orders

log = logging.getLogger(__name__)

#: How long a webhook's sync waits before running, so that a burst of stock events for the
#: same SKUs is served by one fetch and one push (the first `sync_pending` drains them all).
COALESCE_MS_ENV = "SHELFSYNC_COALESCE_MS"
DEFAULT_COALESCE_MS = 100
#: How long one `sync_pending` message keeps looping before it hands over to a new message:
#: far below the TimeLimit, so a steady stream of webhooks never gets a pass killed mid-push.
DRAIN_SECONDS = 60.0
#: SKUs one pass takes at most: bounds a pass's transactions and store read under a backlog.
PASS_LIMIT = syncing.PASS_LIMIT

_pm_lock = threading.Lock()
_pm: ShelfsyncPluginManager | None = None


def plugin_manager() -> ShelfsyncPluginManager:
    """The worker process's plugin manager, built on first use (entry points load once)."""
    global _pm
    with _pm_lock:
        if _pm is None:
            _pm = get_plugin_manager()
        return _pm


def coalesce_ms() -> int:
    """The delay before a webhook-driven sync (`SHELFSYNC_COALESCE_MS`, default 100)."""
    raw = os.environ.get(COALESCE_MS_ENV, "").strip()
    return max(0, int(raw)) if raw else DEFAULT_COALESCE_MS


def parse_observed_at(value: str) -> datetime:
    """An ISO-8601 timestamp with an offset; InvalidInput (never retried) otherwise."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput("observed_at", f"not an ISO-8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput("observed_at", f"has no time zone: {value!r}")
    return parsed.astimezone(UTC)


def _owner() -> str:
    """Who leases: the message being processed (stable across redeliveries), else unique."""
    message = CurrentMessage.get_current_message()
    return f"message:{message.message_id}" if message is not None else f"call:{uuid.uuid4()}"


@contextmanager
def _throttle_hint() -> Iterator[None]:
    """Pass a platform's throttle hint on: wait what it asked for, not our generic backoff."""
    try:
        yield
    except RateLimited as exc:
        raise dramatiq.Retry(str(exc), delay=max(1, int(exc.retry_after * 1000))) from exc


class SyncRequests:
    """When this process last asked for each organization's sync to run (its message's due
    time), so that a request made while that message is still waiting is not sent again.

    A delayed message cannot start before it is due (the broker holds it until then), and
    the pass it starts leases every SKU pending at that moment: SKUs recorded before a
    request that finds a message still waiting are in that pass. Orders made two requests
    each (the store's stock webhook, the order's own), and each extra message was a pass
    that found nothing to lease — CPU the order path needed (bench/order_sync.py). Due
    times are wall-clock (the broker's `eta` is) and kept per process, whichever process
    runs the message; a message the broker loses is the sweeper's, as before.
    """

    #: A message due sooner than this may be starting already: send another.
    MARGIN_S = 0.02

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._due: dict[int, float] = {}
        self._lock = threading.Lock()

    def claim(self, organization_id: int, delay_ms: int) -> bool:
        """Whether a message should be sent now (then it is recorded as due)."""
        now = self._clock()
        with self._lock:
            if self._due.get(organization_id, 0.0) - now > self.MARGIN_S:
                return False
            self._due[organization_id] = now + delay_ms / 1000
            return True

    def forget(self, organization_id: int) -> None:
        """The message was not sent after all: the next request sends one."""
        with self._lock:
            self._due.pop(organization_id, None)

    def clear(self) -> None:
        """The actors now send to another broker, which holds none of the messages recorded
        here: every next request sends one."""
        with self._lock:
            self._due.clear()


_sync_requests = SyncRequests()


def request_sync(organization_id: int) -> bool:
    """Ask for a `sync_pending` of the organization, soon (unless this process's last request
    for it is still waiting to run: see `SyncRequests`). A broker that refuses is logged and
    reported (False), never raised: the SKUs are recorded, and the scheduler's sweeper sends
    the message once the broker is back."""
    delay = coalesce_ms()
    if not _sync_requests.claim(organization_id, delay):
        return True
    try:
        sync_pending.send_with_options(args=(organization_id,), delay=delay or None)
    except Exception as exc:  # any broker failure: the work is recorded, the sweeper resends
        _sync_requests.forget(organization_id)
        log.warning("could not enqueue a sync for organization %s (%s: %s); the sweeper will "
                    "send it", organization_id, type(exc).__name__, exc)
        return False
    return True


# --- actors ----------------------------------------------------------------------------------


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def handle_store_webhook(store_id: int, skus: list[str], observed_at_iso: str) -> None:
    """A store said these SKUs changed at `observed_at`: mark them pending, then sync soon."""
    observed_at = parse_observed_at(observed_at_iso)
    with session_scope() as session:
        store = session.get(StoreConnection, store_id)
        if store is None:
            log.info("store %s is gone; dropping its webhook", store_id)
            return
        organization_id = store.organization_id
        syncing.accept_store_event(session, store, skus, observed_at)
    request_sync(organization_id)  # after the commit: the sync must see the pending rows


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def sync_pending(organization_id: int) -> None:
    """Sync every SKU pending for the organization, pass after pass while SKUs arrive.

    Nothing free to lease means another pass holds it (it loops and takes what arrives
    meanwhile) or nothing waits. SKUs that failed transiently are pending again and the
    message is retried with backoff; past `DRAIN_SECONDS` it hands over to a new message.
    """
    pm, owner = plugin_manager(), _owner()
    deadline = time.monotonic() + DRAIN_SECONDS
    with _throttle_hint():
        while True:
            result = syncing.sync_pending_pass(pm, organization_id, owner,
                                               broker=sync_pending.broker, limit=PASS_LIMIT)
            if result.report is None or result.stopped:
                return
            _log_report("sync", organization_id, result.report)
            if result.retry:
                raise dramatiq.Retry(f"{len(result.retry)} SKUs failed transiently; they "
                                     "are pending again")
            if time.monotonic() > deadline:
                sync_pending.send(organization_id)  # well before the TimeLimit
                return


@dramatiq.actor(queue_name=_broker.BULK_QUEUE)
def reconcile_channel(channel_id: int) -> None:
    """Recompute and push a channel's whole catalog: repairs what a lost webhook missed."""
    with _throttle_hint():
        report = syncing.reconcile_channel(plugin_manager(), channel_id,
                                           broker=reconcile_channel.broker)
    if report is not None:
        _log_report("reconcile", channel_id, report)


@dramatiq.actor(queue_name=_broker.BULK_QUEUE)
def refresh_catalog(organization_id: int) -> None:
    """Refresh the store catalog, every channel's listings, then the SKU links."""
    with _throttle_hint():
        syncing.refresh_catalog(plugin_manager(), organization_id,
                                broker=refresh_catalog.broker)


def request_order(binding_id: int) -> bool:
    """Ask for `handle_order` of a recorded order. A broker that refuses is logged, never
    raised: the order is recorded, and the channel's next poll sends it."""
    try:
        handle_order.send(binding_id)
    except Exception as exc:  # any broker failure: the poller finds the order
        log.warning("could not enqueue order %s (%s: %s); the next poll sends it",
                    binding_id, type(exc).__name__, exc)
        return False
    return True


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def handle_order(binding_id: int) -> None:
    """Create one channel order's store order (see `services.orders.handle_order`)."""
    with _throttle_hint():
        outcome = orders.handle_order(plugin_manager(), binding_id, _owner())
    if not outcome.attempted:
        # Already in the store: a webhook of its later life (a cancellation bound with it).
        request_aftersale("actions", binding_id)
    if outcome.attempted:
        log.info("order %s (%s): %s%s", outcome.channel_order_id, binding_id, outcome.state,
                 f" ({outcome.reason})" if outcome.reason else "")
        # Units held back (a new order) or released (now in the store): the engine queued
        # the SKUs; every channel's quantities follow at once.
        organization_id = outcome.organization_id
        if organization_id is not None:
            request_sync(organization_id)


@dramatiq.actor(queue_name=_broker.BULK_QUEUE)
def poll_orders(channel_id: int) -> None:
    """Read the channel's changed orders, then send every due order to `handle_order`."""
    pm = plugin_manager()
    with _throttle_hint():
        polled = orders.poll_channel(pm, channel_id)
    organization_id = orders.channel_organization(channel_id)
    if polled.seen and organization_id is not None:
        request_sync(organization_id)  # held-back units may have changed
    with session_scope() as session:
        due = due_orders(session, datetime.now(UTC), channel_ids=[channel_id])
    for binding_id in due:
        if not request_order(binding_id):
            return
    # Shipments, cancellations and returns whose webhook was lost, on the same schedule.
    request_aftersale("poll", channel_id)


def request_aftersale(what: str, ident: int) -> bool:
    """Ask for an after-sale step: "store" checks a store order (`binding id`), "returns"
    reads an order's returns (`binding id`), "actions" carries an order's due actions across
    (`binding id`), "poll" polls a channel (`channel id`). A broker
    that refuses is logged, never raised: the channel's next poll does the same work."""
    actor = {"store": handle_store_order, "returns": handle_order_returns,
             "poll": poll_aftersale, "actions": run_order_actions}[what]
    try:
        actor.send(ident)
    except Exception as exc:  # any broker failure: the next poll finds the work
        log.warning("could not enqueue after-sale %s %s (%s: %s); the next poll does it",
                    what, ident, type(exc).__name__, exc)
        return False
    return True


def _log_outcomes(what: str, ident: int, outcomes: list[Any]) -> None:
    for outcome in outcomes:
        if outcome.attempted:
            log.info("%s %s: %s %s%s", what, ident, outcome.kind, outcome.state,
                     f" ({outcome.reason})" if outcome.reason else "")


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def handle_store_order(binding_id: int) -> None:
    """Read a created order's store status and carry its new shipments and cancellation
    across (see `services.aftersale.check_store_order`)."""
    with _throttle_hint():
        outcomes = aftersale.check_store_order(plugin_manager(), binding_id, _owner())
    _log_outcomes("order", binding_id, outcomes)


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def handle_order_returns(binding_id: int) -> None:
    """Read an order's returns and refund the completed ones in the store, once each."""
    with _throttle_hint():
        outcomes = aftersale.handle_returns(plugin_manager(), binding_id, _owner())
    _log_outcomes("order", binding_id, outcomes)


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def run_order_actions(binding_id: int) -> None:
    """Carry an order's due after-sale actions across (a cancellation TikTok sent)."""
    with _throttle_hint():
        outcomes = aftersale.run_due(plugin_manager(), _owner(), binding_ids=[binding_id])
    _log_outcomes("order", binding_id, outcomes)


@dramatiq.actor(queue_name=_broker.BULK_QUEUE)
def poll_aftersale(channel_id: int) -> None:
    """The after-sale poll of one channel: returns, watched store orders, due actions."""
    with _throttle_hint():
        result = aftersale.poll_channel(plugin_manager(), channel_id, _owner())
    log.info("after-sale poll of channel %s: %s", channel_id, result.counts())


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def poll_store(store_id: int) -> None:
    """Poll a store without stock webhooks for changed SKUs, then sync them soon.

    On the sync queue, not the bulk one: a poll is a few cheap calls, and a change found must
    reach the shops within the poll interval, not wait behind a whole-catalog reconcile."""
    with _throttle_hint():
        result = syncing.poll_store_changes(plugin_manager(), store_id, _owner())
    if result.skus and result.organization_id is not None:
        log.info("store %s poll: %d SKUs may have changed", store_id, result.skus)
        request_sync(result.organization_id)


ACTORS: tuple[dramatiq.Actor[Any, Any], ...] = (
    handle_store_webhook,
    sync_pending,
    reconcile_channel,
    refresh_catalog,
    handle_order,
    poll_orders,
    poll_store,
    handle_store_order,
    handle_order_returns,
    run_order_actions,
    poll_aftersale,
)


def use_broker(target: dramatiq.Broker) -> None:
    """Bind every Shelfsync actor to `target` (tests' StubBroker, the demo's broker)."""
    _broker.rebind_actors(target, ACTORS)
    _sync_requests.clear()


def _log_report(kind: str, ident: int, report: SyncReport) -> None:
    log.info("%s for %s: %s", kind, ident, report.counts())
