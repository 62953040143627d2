"""Polling a store for stock changes it sends no webhook for (`shelfsync_poll_stock_changes`).

Magento Open Source sends no stock webhooks, and an order moves WooCommerce stock without a
product webhook. For such stores the scheduler asks for a poll every `poll_seconds`; the
plugin answers the SKUs that may have changed since the cursor it answered last time, and
they are queued exactly like a webhook's (`mark_pending`), so the next `sync_pending` pass
reads and pushes them.

Nothing is lost to a crash or a failed call: the cursor moves only in the transaction that
records the SKUs it found, and a poll that raises keeps the old cursor (the next poll asks
again from there). A poll leases its store's row, so two workers never poll one store at
once; a killed worker's lease expires. No transaction is open while the plugin is called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session

from shelfsync.core.errors import PluginContractError, ShelfsyncError
from shelfsync.core.models import ConnectionStatus, StoreConnection, StorePollState, utcnow
from shelfsync.core.models_ops import insert_for
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.context import pass_scope, store_connection
from shelfsync.core.sync.pending import Clock, mark_pending
from shelfsync.core.types import StockChanges

log = logging.getLogger(__name__)

HOOK = "shelfsync_poll_stock_changes"
#: How long a poll may hold its store before another worker may take it over.
POLL_LEASE = timedelta(minutes=5)
#: Polls answered `more=True` followed at once, at most, in one job (the next job goes on).
MAX_ROUNDS = 20
#: The store setting a pollable plugin declares; read here with these bounds.
POLL_SECONDS_SETTING = "poll_seconds"
DEFAULT_POLL_SECONDS = 60
MIN_POLL_SECONDS = 5
MAX_POLL_SECONDS = 3600
#: A cursor is the plugin's text; this bounds what one store may keep in the database.
MAX_CURSOR_CHARS = 1_000_000


@dataclass
class StorePollResult:
    """What one poll job did for a store."""

    organization_id: int | None = None
    skus: int = 0
    rounds: int = 0
    #: Another worker holds the store's poll, or the store is gone or waits for re-auth.
    skipped: str = ""


def poll_seconds(settings: dict[str, object] | None) -> int:
    """The store's poll interval: its `poll_seconds` setting within bounds, else 60 s.

    A stored value that cannot be read is the default, never a stopped poller (`shelfsync
    status` shows the setting as stored)."""
    raw = (settings or {}).get(POLL_SECONDS_SETTING)
    try:
        seconds = int(str(raw)) if raw not in (None, "") else DEFAULT_POLL_SECONDS
    except ValueError:
        return DEFAULT_POLL_SECONDS
    return min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, seconds))


def _lease(session: Session, store_id: int, owner: str, now: datetime) -> str | None:
    """Take the store's poll row (created on the first poll) and COMMIT; returns its cursor,
    or raises LookupError when another live owner holds it."""
    table = StorePollState.__table__  # type: ignore[attr-defined]
    session.execute(insert_for(session, StorePollState).values(
        store_connection_id=store_id, changed_skus=0, last_error="",
    ).on_conflict_do_nothing(index_elements=["store_connection_id"]))
    taken = session.execute(
        update(table)
        .where(table.c.store_connection_id == store_id,
               or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now,
                   table.c.lease_owner == owner))
        .values(lease_owner=owner, lease_expires_at=now + POLL_LEASE)
        .returning(table.c.cursor)
    ).first()
    session.commit()
    if taken is None:
        raise LookupError("another worker is polling this store")
    return taken[0]


def _release(session: Session, store_id: int, owner: str, error: str) -> None:
    """Free the lease, keep the cursor, and note the failure's one line."""
    table = StorePollState.__table__  # type: ignore[attr-defined]
    session.execute(update(table).where(table.c.store_connection_id == store_id,
                                        table.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None, last_error=error[:500]))
    session.commit()


def _one_line(exc: BaseException) -> str:
    """What `shelfsync status` shows of a failed poll: our typed errors' own message (written
    to be shown, no secret in it), only the kind of anything else (an unexpected exception's
    text may quote a URL or a header; the worker log has it)."""
    if isinstance(exc, ShelfsyncError):
        return f"{type(exc).__name__}: {exc.message}"
    return f"{type(exc).__name__} (details in the worker log)"


def _checked(answer: object, platform: str) -> StockChanges:
    """The plugin's answer, or `PluginContractError` for one of another shape: a bad answer
    must not move the cursor past changes nobody queued."""
    if not isinstance(answer, StockChanges):
        raise PluginContractError(
            f"the {platform} plugin answered {type(answer).__name__} from {HOOK}, not "
            "StockChanges", platform=platform, code="bad_poll_answer")
    if not isinstance(answer.cursor, str) or len(answer.cursor) > MAX_CURSOR_CHARS:
        raise PluginContractError(
            f"the {platform} plugin answered a cursor that is not text of at most "
            f"{MAX_CURSOR_CHARS} characters from {HOOK}", platform=platform,
            code="bad_poll_cursor")
    if not all(isinstance(sku, str) for sku in answer.skus):
        raise PluginContractError(f"the {platform} plugin answered a SKU that is not text "
                                  f"from {HOOK}", platform=platform, code="bad_poll_sku")
    if not isinstance(answer.observed_at, datetime) or answer.observed_at.tzinfo is None:
        raise PluginContractError(f"the {platform} plugin answered an observed_at that is not "
                                  f"a timezone-aware time from {HOOK}", platform=platform,
                                  code="bad_poll_time")
    return answer


def _record(session: Session, store: StoreConnection, owner: str, changes: StockChanges,
            now: datetime, *, last: bool) -> None:
    """Queue the SKUs and move the cursor, in one transaction (only while the lease is ours)."""
    table = StorePollState.__table__  # type: ignore[attr-defined]
    values: dict[str, object] = {"cursor": changes.cursor, "polled_at": now,
                                 "changed_skus": len(changes.skus), "last_error": ""}
    if last:
        values.update(lease_owner=None, lease_expires_at=None)
    else:
        values.update(lease_expires_at=now + POLL_LEASE)
    moved = session.execute(update(table).where(
        table.c.store_connection_id == store.id, table.c.lease_owner == owner).values(**values))
    if moved.rowcount != 1:  # our lease expired and another poll took over: it goes on
        session.rollback()
        raise LookupError("the store's poll lease was taken over")
    mark_pending(session, store.organization_id, changes.skus, changes.observed_at)
    session.commit()


def poll_store(session: Session, pm: ShelfsyncPluginManager, store_id: int, owner: str, *,
               clock: Clock = utcnow, max_rounds: int = MAX_ROUNDS) -> StorePollResult:
    """Poll one store for changed SKUs and queue them; rounds follow while it answers `more`.

    Raises what the plugin raises (the cursor stays where it was; the caller's retry policy
    decides), after freeing the store's poll lease and noting the error.
    """
    store = session.get(StoreConnection, store_id)
    if store is None:
        return StorePollResult(skipped="store gone")
    if store.status == ConnectionStatus.NEEDS_REAUTH.value:
        return StorePollResult(store.organization_id, skipped="needs re-authorization")
    connection = store_connection(store)
    result = StorePollResult(store.organization_id)
    try:
        cursor = _lease(session, store_id, owner, clock())
    except LookupError as exc:
        result.skipped = str(exc)
        return result
    scope = pass_scope(pm, connection)
    while result.rounds < max_rounds:
        try:
            changes = _checked(pm.call(connection, HOOK, cursor=cursor, scope=scope),
                               connection.platform)
        except BaseException as exc:
            session.rollback()
            _release(session, store_id, owner, _one_line(exc))
            raise
        result.rounds += 1
        last = not changes.more or result.rounds >= max_rounds
        try:
            _record(session, store, owner, changes, clock(), last=last)
        except LookupError as exc:
            result.skipped = str(exc)
            return result
        result.skus += len(changes.skus)
        cursor = changes.cursor
        if last:
            break
    return result
