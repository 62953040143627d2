"""The coalescing queue: one row per SKU, newest time kept, claimed only by one worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from shelfsync.core.models import Organization, PendingSku
from shelfsync.core.sync.inventory import lease_pending, mark_pending, settle_pending
from shelfsync.core.sync.pending import LEASE_TTL, renew_lease

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


class Clock:
    """A clock the test moves by hand: lease expiry without sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_lease_is_committed_at_once_and_returns_its_rows_when_it_expires(
        session: Session, engine: Engine) -> None:
    org = _org(session)
    mark_pending(session, org, ["A", "B", "C"], T0)
    session.commit()
    clock = Clock(T0)
    first = lease_pending(session, org, "w1", limit=2, clock=clock)
    assert first.skus == ["A", "B"]
    clock.now = T0 + timedelta(minutes=1)
    with Session(engine) as other:  # committed: another worker sees the lease at once
        assert lease_pending(other, org, "w2", clock=clock).skus == ["C"]
        assert lease_pending(other, org, "w3", clock=clock).skus == []
    clock.now = first.expires_at  # w1 was killed: its lease runs out
    assert lease_pending(session, org, "w3", clock=clock).skus == ["A", "B"]


def test_settling_removes_what_the_read_covered_and_frees_the_rest(session: Session) -> None:
    org = _org(session)
    mark_pending(session, org, ["A", "B", "C"], T0)
    session.commit()
    lease = lease_pending(session, org, "w1", clock=Clock(T0))
    # A webhook newer than the pass's read names B again while the pass runs.
    mark_pending(session, org, ["B"], T0 + timedelta(seconds=30))
    session.commit()
    # C failed transiently (not done); A and B were read at T0 + 10 s.
    assert settle_pending(session, org, lease, ["A", "B"], T0 + timedelta(seconds=10)) == 1
    session.commit()
    assert lease_pending(session, org, "w2", clock=Clock(T0)).skus == ["B", "C"]


def test_a_settled_lease_taken_over_by_another_owner_is_left_alone(session: Session) -> None:
    org = _org(session)
    mark_pending(session, org, ["A"], T0)
    session.commit()
    clock = Clock(T0)
    slow = lease_pending(session, org, "slow", clock=clock)
    clock.now = slow.expires_at
    assert lease_pending(session, org, "fast", clock=clock).skus == ["A"]
    assert settle_pending(session, org, slow, ["A"], T0 + timedelta(hours=1)) == 0
    session.commit()
    assert [row.lease_owner for row in session.exec(select(PendingSku))] == ["fast"]


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
        assert lease_pending(first, org, "w1").skus == ["A", "B"]
        assert lease_pending(second, org, "w2").skus == []  # leased, not waited for
        mark_pending(second, org, ["C"], T0)
        second.commit()
        assert lease_pending(second, org, "w2").skus == ["C"]
    with Session(engine) as after:
        owners = {row.sku: row.lease_owner for row in after.exec(select(PendingSku))}
        assert owners == {"A": "w1", "B": "w1", "C": "w2"}


def test_an_exclusive_lease_waits_while_another_pass_holds_the_organization(
        session: Session) -> None:
    """A webhook pass loops over what arrives while it runs: a second pass beside it leases
    nothing (it would only split the work into smaller passes competing for the store's
    budget) until the first one's lease is settled or expired."""
    org = _org(session)
    mark_pending(session, org, ["A", "B"], T0)
    session.commit()
    first = lease_pending(session, org, "one", clock=lambda: T0, exclusive=True)
    assert first.skus == ["A", "B"]
    mark_pending(session, org, ["C"], T0 + timedelta(seconds=1))
    session.commit()
    assert lease_pending(session, org, "two", clock=lambda: T0, exclusive=True).skus == []
    assert lease_pending(session, org, "one", clock=lambda: T0, exclusive=True).skus == [
        "A", "B", "C"]  # the holder's next round takes what arrived
    later = T0 + LEASE_TTL + timedelta(seconds=1)  # the holder died: its lease expired
    assert lease_pending(session, org, "two", clock=lambda: later, exclusive=True).skus == [
        "A", "B", "C"]


def test_finding_nothing_to_lease_writes_nothing(session: Session, engine: Engine) -> None:
    """A burst of orders asks for many passes while one holds the organization: those find
    nothing by reading, and never queue for SQLite's one write lock to do so."""
    org = _org(session)
    writes: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().split(None, 1)[0].upper() in ("UPDATE", "INSERT", "DELETE"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert lease_pending(session, org, "one", clock=lambda: T0, exclusive=True).skus == []
        assert writes == []  # nothing waits
        mark_pending(session, org, ["A"], T0)
        session.commit()
        writes.clear()
        assert lease_pending(session, org, "one", clock=lambda: T0, exclusive=True).skus == ["A"]
        assert len(writes) == 1  # the lease itself
        mark_pending(session, org, ["B"], T0)
        session.commit()
        writes.clear()
        assert lease_pending(session, org, "two", clock=lambda: T0, exclusive=True).skus == []
        assert writes == []  # "one" holds the organization
        assert lease_pending(session, org, "two", clock=lambda: T0).skus == ["B"]  # not exclusive
        assert len(writes) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_renewed_lease_outlives_its_first_expiry_but_an_expired_one_stays_expired(
        session: Session, engine: Engine) -> None:
    org = _org(session)
    mark_pending(session, org, ["A", "B"], T0)
    session.commit()
    clock = Clock(T0)
    slow = lease_pending(session, org, "slow", clock=clock)
    clock.now = T0 + LEASE_TTL - timedelta(seconds=1)  # a long store read, nearly expired
    assert renew_lease(session, org, slow, clock=clock) == 2
    session.commit()
    clock.now = T0 + LEASE_TTL + timedelta(seconds=1)  # past the first expiry: still held
    with Session(engine) as other:
        assert lease_pending(other, org, "other", clock=clock).skus == []
    clock.now = T0 + 3 * LEASE_TTL  # the renewed lease ran out too: taken over …
    with Session(engine) as other:
        assert lease_pending(other, org, "other", clock=clock).skus == ["A", "B"]
    assert renew_lease(session, org, slow, clock=clock) == 0  # … and not revived
