"""Dramatiq actors: thin, idempotent wrappers that open a session and call the engine.

Actors take ids and plain values only (Dramatiq's best practices): the engine re-reads
everything it needs, so a message delivered twice, late, or after a worker was killed mid-job
finds the database as it is now and leaves the same end state:

- `handle_store_webhook` marks SKUs pending (newest observation wins) and asks for a sync;
- `sync_pending` runs one pass at a time per organization (an advisory lock on PostgreSQL,
  shared by every worker process) and loops while SKUs are pending, so under load each pass
  takes everything that arrived meanwhile: one store read, one push per changed product per
  shop. Pending rows are deleted in the pass's transaction: a killed worker's claim (and its
  lock) is released with the transaction and the redelivered message claims again;
- `reconcile_channel` and `refresh_catalog` recompute from the platforms' current state.

Retries are the broker middleware's business (`shelfsync.core.broker`): throttling, 5xx and
unreadable answers are retried with backoff. An `AuthError` is not: the connection is marked
`needs_reauth` for the merchant and the job stops, so an expired token never becomes a storm
of retries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import dramatiq
from sqlmodel import Session, select

from shelfsync.core import broker as _broker  # sets the broker before any actor is declared
from shelfsync.core.budget import budget_for
from shelfsync.core.db import session_scope
from shelfsync.core.errors import AuthError, InvalidInput, RateLimited
from shelfsync.core.models import ChannelConnection, StoreConnection, utcnow
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.sync import inventory
from shelfsync.core.sync.inventory_types import SyncAuthError, SyncReport

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a webhook's sync waits before running, so that a burst of stock events for the
#: same SKUs is served by one fetch and one push (the first `sync_pending` drains them all).
COALESCE_MS_ENV = "SHELFSYNC_COALESCE_MS"
DEFAULT_COALESCE_MS = 100
#: How long one `sync_pending` message keeps looping before it hands over to a new message:
#: far below the TimeLimit, so a steady stream of webhooks never gets a pass killed mid-push.
DRAIN_SECONDS = 60.0
#: SKUs one pass takes at most: bounds a pass's transaction and store read under a backlog.
PASS_LIMIT = 1000
#: Empty rounds (pending rows seen but none taken) before a message gives up to the next one.
MAX_EMPTY_ROUNDS = 3

_org_locks: dict[int, threading.Lock] = {}
_org_locks_guard = threading.Lock()
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


def _store_of(session: Session, organization_id: int) -> StoreConnection | None:
    return session.exec(
        select(StoreConnection).where(StoreConnection.organization_id == organization_id)
    ).first()


def _auth_target(session: Session, exc: AuthError, organization_id: int,
                 channel_id: int | None = None) -> tuple[str, int] | None:
    """Which connection an AuthError condemns: the one it names, else found by platform."""
    kind = getattr(exc, "connection_kind", None)
    ident = getattr(exc, "connection_id", None)
    if kind in ("store", "channel") and isinstance(ident, int):
        return kind, ident
    store = _store_of(session, organization_id)
    if store is not None and store.id is not None and exc.platform == store.platform:
        return "store", store.id
    if channel_id is not None:
        return "channel", channel_id
    return None


def _mark_needs_reauth(exc: AuthError, organization_id: int,
                       channel_id: int | None = None) -> None:
    """Record the refusal on its connection (own transaction: the job's was rolled back)."""
    with session_scope() as session:
        target = _auth_target(session, exc, organization_id, channel_id)
        if target is None:
            log.error("authorization refused for organization %s (%s) and no connection to "
                      "mark: %s", organization_id, exc.platform or "unknown platform", exc)
            return
        inventory.mark_needs_reauth(session, target[0], target[1], str(exc))  # type: ignore[arg-type]
    log.warning("%s connection %s needs re-authorization: %s", target[0], target[1], exc)


def _recording_auth(session: Session, run: Callable[[], SyncReport]) -> SyncReport:
    """Run an engine pass; a channel that refused our token is marked, the rest is kept.

    The engine finishes every other channel before raising `SyncAuthError`, and the session
    holds what they did: mark the refusing channels and let the caller commit it all. A
    refusing store means nothing was done: re-raised, so the transaction (and the claim on
    the pending SKUs) rolls back and `_auth_stops_here` marks the store.
    """
    try:
        return run()
    except SyncAuthError as exc:
        if any(kind == "store" for kind, _, _ in exc.failures):
            raise
        for kind, connection_id, message in exc.failures:
            inventory.mark_needs_reauth(session, kind, connection_id, message)
            log.warning("%s connection %s needs re-authorization: %s", kind, connection_id,
                        message)
        return exc.report


@contextmanager
def _auth_stops_here(organization_id: int, channel_id: int | None = None) -> Iterator[None]:
    """Turn an AuthError into needs_reauth and a finished job; pass a throttle's hint on."""
    try:
        yield
    except AuthError as exc:
        _mark_needs_reauth(exc, organization_id, channel_id)
    except RateLimited as exc:
        # Wait what the platform asked for, not our generic backoff.
        raise dramatiq.Retry(str(exc), delay=max(1, int(exc.retry_after * 1000))) from exc


def _in_session(step: Callable[[Session], T]) -> T:
    with session_scope() as session:
        return step(session)


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
        inventory.mark_pending(session, organization_id, list(skus), observed_at)
    # After the commit: the sync must see the pending rows.
    sync_pending.send_with_options(args=(organization_id,), delay=coalesce_ms() or None)


@dataclass
class _PassResult:
    """What one locked pass over the organization's pending SKUs did."""

    busy: bool = False
    report: SyncReport | None = None
    retry: list[str] = field(default_factory=list)


def _local_lock(organization_id: int) -> threading.Lock:
    """This process's lock for the organization: threads of one worker settle it among
    themselves without a database round trip (and SQLite, which has no advisory lock)."""
    with _org_locks_guard:
        return _org_locks.setdefault(organization_id, threading.Lock())


def _sync_pass(pm: ShelfsyncPluginManager, organization_id: int) -> _PassResult:
    """One pass under the organization's lock: take what is pending, sync it, commit.

    The pending rows are deleted in the pass's transaction, so a worker killed mid-pass rolls
    back and loses nothing; the advisory lock goes with the same transaction.
    """
    local = _local_lock(organization_id)
    if not local.acquire(blocking=False):
        return _PassResult(busy=True)
    try:
        with session_scope() as session:
            if not inventory.try_lock_organization(session, organization_id):
                return _PassResult(busy=True)
            skus = inventory.take_pending(session, organization_id, limit=PASS_LIMIT)
            if not skus:
                return _PassResult()
            budget = budget_for(session, organization_id, sync_pending.broker)
            report = _recording_auth(session, lambda: inventory.sync_skus(
                session, pm, organization_id, skus, budget=budget))
            retry = sorted(report.retry_skus)
            if retry:
                inventory.mark_pending(session, organization_id, retry, utcnow())
        return _PassResult(report=report, retry=retry)
    finally:
        local.release()


@dramatiq.actor(queue_name=_broker.SYNC_QUEUE)
def sync_pending(organization_id: int) -> None:
    """Sync every SKU pending for the organization, one pass at a time per organization.

    A message that finds another pass running returns at once: that pass loops until nothing
    is pending, so under load each round takes everything that arrived during the previous
    one (one store read, one push per changed product per shop). After letting go of the lock
    the running message looks once more, so a SKU whose message found the lock taken just as
    the holder was finishing is never stranded. SKUs whose store read or push failed
    transiently go back to pending and the message is retried with backoff.
    """
    pm = plugin_manager()
    deadline = time.monotonic() + DRAIN_SECONDS
    empty_rounds = 0
    with _auth_stops_here(organization_id):
        while True:
            result = _sync_pass(pm, organization_id)
            if result.busy:
                return  # the holder re-checks after letting go: our SKUs are not stranded
            if result.report is not None:
                empty_rounds = 0
                _log_report("sync", organization_id, result.report)
                if result.retry:
                    raise dramatiq.Retry(f"{len(result.retry)} SKUs failed transiently; they "
                                         "are pending again")
                if time.monotonic() > deadline:
                    # Hand over, well before the TimeLimit could kill a pass mid-push.
                    sync_pending.send(organization_id)
                    return
                continue
            # Nothing taken and the lock is free again: look once more (lost wakeup).
            pending = _in_session(lambda s: inventory.has_pending(s, organization_id))
            empty_rounds += 1
            if not pending or empty_rounds > MAX_EMPTY_ROUNDS:
                # Rows still there after a few empty rounds are held by a webhook's open
                # transaction, which sends its own message when it commits.
                return
            time.sleep(0.005 * empty_rounds)


@dramatiq.actor(queue_name=_broker.BULK_QUEUE)
def reconcile_channel(channel_id: int) -> None:
    """Recompute and push a channel's whole catalog: repairs what a lost webhook missed."""
    pm = plugin_manager()
    channel = _in_session(lambda s: s.get(ChannelConnection, channel_id))
    if channel is None:
        log.info("channel %s is gone; nothing to reconcile", channel_id)
        return
    with _auth_stops_here(channel.organization_id, channel_id), session_scope() as session:
        budget = budget_for(session, channel.organization_id, reconcile_channel.broker)
        # Only the counts are logged: per-SKU outcomes (but failures) need not be kept.
        report = _recording_auth(session, lambda: inventory.reconcile_channel(
            session, pm, channel_id, budget=budget, keep_items=False))
    _log_report("reconcile", channel.organization_id, report)


@dramatiq.actor(queue_name=_broker.BULK_QUEUE)
def refresh_catalog(organization_id: int) -> None:
    """Refresh the store catalog, every channel's listings, then the SKU links."""
    pm = plugin_manager()
    store = _in_session(lambda s: _store_of(s, organization_id))
    if store is None:
        log.info("organization %s has no store; nothing to refresh", organization_id)
        return
    # One transaction per step: a failure in one channel keeps what the others fetched.
    with _auth_stops_here(organization_id), session_scope() as session:
        budget = budget_for(session, organization_id, refresh_catalog.broker)
        inventory.refresh_catalog(session, pm, int(store.id or 0), budget=budget)
    channel_ids = _in_session(lambda s: list(s.exec(
        select(ChannelConnection.id).where(ChannelConnection.organization_id == organization_id)
    )))
    for channel_id in channel_ids:
        with _auth_stops_here(organization_id, channel_id), session_scope() as session:
            inventory.refresh_listings(session, pm, channel_id, budget=budget)  # re-links too


ACTORS: tuple[dramatiq.Actor[Any, Any], ...] = (
    handle_store_webhook,
    sync_pending,
    reconcile_channel,
    refresh_catalog,
)


def use_broker(target: dramatiq.Broker) -> None:
    """Bind every Shelfsync actor to `target` (tests' StubBroker, the demo's broker)."""
    _broker.rebind_actors(target, ACTORS)


def _log_report(kind: str, organization_id: int, report: SyncReport) -> None:
    log.info("%s for organization %s: %s", kind, organization_id, report.counts())
