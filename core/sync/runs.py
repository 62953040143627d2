"""Sync runs: started, renewed as they go, finished — and failed when their lease runs out.

A run that is 'running' holds a lease (`SyncRun.lease_expires_at`) it renews at each step it
commits. A worker killed mid-run cannot finish its row; once the lease is past, the run is
marked failed (`fail_expired_runs`, called by the scheduler's sweeper and before a new run),
so 'running' never lies forever.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from shelfsync.core.models import ChannelConnection, RunStatus, SyncRun, utcnow
from shelfsync.core.sync.inventory_types import SyncReport

Clock = Callable[[], datetime]
#: How long a run may go without renewing before it counts as killed: a reconcile renews at
#: every part, well inside this.
RUN_LEASE = timedelta(minutes=15)
EXPIRED = "the run stopped without finishing (worker killed or lost): its lease expired"


def start_run(session: Session, channel: ChannelConnection, kind: str, dry_run: bool, *,
              clock: Clock = utcnow) -> SyncRun | None:
    """A 'running' run with a fresh lease (none for a dry run); the caller commits."""
    if dry_run:
        return None
    run = SyncRun(organization_id=channel.organization_id, channel_id=channel.id, kind=kind,
                  started_at=clock(), lease_expires_at=clock() + RUN_LEASE)
    session.add(run)
    session.flush()
    return run


def renew_run(session: Session, run: SyncRun | None, *, clock: Clock = utcnow) -> None:
    """Push the run's lease forward (it is still alive); the caller commits."""
    if run is not None:
        run.lease_expires_at = clock() + RUN_LEASE
        session.add(run)


def finish_run(session: Session, run: SyncRun | None, report: SyncReport,
               error: str | None = None) -> None:
    """Record the run's counts and status; the caller commits."""
    if run is None:
        return
    run.finished_at = utcnow()
    run.lease_expires_at = None
    run.counts = {**report.counts(), "api_calls": sum(report.api_calls.values())}
    run.error = error
    if error is not None and not report.total:
        run.status = RunStatus.ERROR.value
    elif error is not None or report.failed:
        run.status = RunStatus.PARTIAL.value
    else:
        run.status = RunStatus.OK.value
    session.add(run)
    session.flush()


def fail_expired_runs(session: Session, *, clock: Clock = utcnow) -> int:
    """Mark every 'running' run whose lease is past as failed (error); returns how many.

    One UPDATE … WHERE the lease expired: a run renewed meanwhile is left alone. The caller
    commits.
    """
    table = SyncRun.__table__  # type: ignore[attr-defined]
    now = clock()
    result = session.execute(update(table).where(
        table.c.status == RunStatus.RUNNING.value, table.c.lease_expires_at.is_not(None),
        table.c.lease_expires_at <= now,
    ).values(status=RunStatus.ERROR.value, finished_at=now, error=EXPIRED,
             lease_expires_at=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
