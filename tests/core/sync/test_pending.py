"""The coalescing queue: one row per SKU, newest time kept, claimed only by one worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.models import Organization, PendingSku
from shelfsync.core.sync.inventory import mark_pending, take_pending

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _org(session: Session) -> int:
    org = Organization(name="Queue")
    session.add(org)
    session.commit()
    assert org.id is not None
    return org.id


def test_a_burst_coalesces_and_the_newest_time_wins(session: Session) -> None:
    org = _org(session)
    assert mark_pending(session, org, ["A", "B", "A"], T0) == 2
    assert mark_pending(session, org, ["A"], T0 + timedelta(seconds=5)) == 1
    assert mark_pending(session, org, ["A", "B"], T0 - timedelta(seconds=5)) == 0
    session.commit()
    rows = {row.sku: row.observed_at for row in session.exec(select(PendingSku))}
    assert rows == {"A": T0 + timedelta(seconds=5), "B": T0}


def test_taken_rows_go_only_with_the_callers_commit(session: Session) -> None:
    org = _org(session)
    mark_pending(session, org, ["A", "B", "C"], T0)
    session.commit()
    assert take_pending(session, org) == ["A", "B", "C"]
    session.rollback()  # the worker died mid-job
    assert take_pending(session, org, limit=2) == ["A", "B"]
    session.commit()
    assert take_pending(session, org) == ["C"]
    session.commit()
    assert take_pending(session, org) == []


def test_naive_times_are_refused(session: Session) -> None:
    with pytest.raises(Exception, match="timezone"):
        mark_pending(session, _org(session), ["A"], datetime(2026, 1, 1))


@pytest.mark.postgres
@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_two_workers_never_take_the_same_rows(engine: Engine) -> None:
    with Session(engine) as setup:
        org = _org(setup)
        mark_pending(setup, org, ["A", "B"], T0)
        setup.commit()
    with Session(engine) as first, Session(engine) as second:
        assert take_pending(first, org) == ["A", "B"]
        assert take_pending(second, org) == []  # skipped, not waited for
        mark_pending(second, org, ["C"], T0)
        second.commit()
        first.commit()
    with Session(engine) as after:
        assert [row.sku for row in after.exec(select(PendingSku))] == ["C"]
