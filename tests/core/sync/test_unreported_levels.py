"""A stock level the store stopped reporting stops counting (no phantom stock), and nothing
else is forgotten: levels of SKUs the fetch did not cover, and newer observations stored by
another worker meanwhile, stay (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.models import Organization, StockLevel, StoreConnection
from shelfsync.core.sync.catalog import record_levels
from shelfsync.core.types import StockLevel as StockInfo

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _store(session: Session) -> int:
    org = Organization(name="Pruning")
    session.add(org)
    session.flush()
    store = StoreConnection(organization_id=org.id, platform="shopify",  # type: ignore[arg-type]
                            base_url="https://a", credentials_token="opaque")
    session.add(store)
    session.flush()
    assert store.id is not None
    return store.id


def _stored(session: Session) -> dict[tuple[str, str], int]:
    return {(row.sku, row.location_id): row.available
            for row in session.exec(select(StockLevel)).all()}


def _seed(session: Session, store_id: int) -> None:
    record_levels(session, store_id, [
        StockInfo("A", "L1", 5), StockInfo("A", "L2", 7), StockInfo("B", "L1", 3)], T0)


def test_a_level_missing_from_a_full_answer_for_its_sku_is_forgotten(session: Session) -> None:
    store_id = _store(session)
    _seed(session, store_id)
    later = T0 + timedelta(minutes=5)
    record_levels(session, store_id, [StockInfo("A", "L1", 4)], later, covered=["A"])
    assert _stored(session) == {("A", "L1"): 4, ("B", "L1"): 3}


def test_a_sku_the_store_no_longer_has_loses_all_its_levels(session: Session) -> None:
    store_id = _store(session)
    _seed(session, store_id)
    record_levels(session, store_id, [], T0 + timedelta(minutes=5), covered=["A"])
    assert _stored(session) == {("B", "L1"): 3}


def test_a_whole_store_answer_prunes_every_sku(session: Session) -> None:
    store_id = _store(session)
    _seed(session, store_id)
    record_levels(session, store_id, [StockInfo("A", "L2", 6)], T0 + timedelta(minutes=5),
                  covered=None)
    assert _stored(session) == {("A", "L2"): 6}


def test_a_partial_answer_forgets_nothing(session: Session) -> None:
    store_id = _store(session)
    _seed(session, store_id)
    record_levels(session, store_id, [StockInfo("A", "L1", 4)], T0 + timedelta(minutes=5))
    assert _stored(session) == {("A", "L1"): 4, ("A", "L2"): 7, ("B", "L1"): 3}


def test_a_newer_observation_stored_meanwhile_is_kept(session: Session) -> None:
    """Another worker's webhook pass stored A@L2 after this fetch began: that figure is newer
    than what this fetch knows, so its absence here proves nothing."""
    store_id = _store(session)
    _seed(session, store_id)
    fetch_began = T0 + timedelta(minutes=5)
    record_levels(session, store_id, [StockInfo("A", "L2", 9)], fetch_began + timedelta(seconds=1))
    record_levels(session, store_id, [StockInfo("A", "L1", 4)], fetch_began, covered=["A"])
    assert _stored(session) == {("A", "L1"): 4, ("A", "L2"): 9, ("B", "L1"): 3}


@pytest.mark.postgres
@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_newer_level_committed_during_the_prune_is_kept(engine: Engine) -> None:
    """Another worker rewrites A@L2 with a newer observation and commits while this fetch's
    prune waits for that row: PostgreSQL re-checks the DELETE's WHERE on the new row, which
    must name the observation time, not just the id chosen before."""
    with Session(engine) as session:
        store_id = _store(session)
        _seed(session, store_id)
        session.commit()
    fetch_began = T0 + timedelta(minutes=5)
    other = Session(engine)
    record_levels(other, store_id, [StockInfo("A", "L2", 9)], fetch_began + timedelta(seconds=1))
    other.flush()  # holds the row, uncommitted
    committer = threading.Timer(1.0, other.commit)
    committer.start()  # commits while the prune below waits
    try:
        with Session(engine) as session:
            record_levels(session, store_id, [StockInfo("A", "L1", 4)], fetch_began,
                          covered=["A"])
            session.commit()
    finally:
        # The prune goes on as soon as the lock is released, which may be before the other
        # thread's commit() has returned: closing its session meanwhile is a state error.
        committer.join()
        other.close()
    with Session(engine) as session:
        assert _stored(session) == {("A", "L1"): 4, ("A", "L2"): 9, ("B", "L1"): 3}
