"""Webhook receipts older than the replay window are pruned (a clock is injected), by the
scheduler's periodic job; what is younger keeps recognising replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.models import WebhookReceipt, record_webhook_receipt
from shelfsync.core.models_sync import (
    WEBHOOK_REPLAY_WINDOW,
    prune_webhook_receipts,
    webhook_receipt_exists,
)
from shelfsync.core.scheduler import Jobs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def receive(session: Session, key: str, at: datetime) -> None:
    assert record_webhook_receipt(session, platform="shopify", connection_id=1, dedup_key=key)
    row = session.exec(select(WebhookReceipt).where(WebhookReceipt.dedup_key == key)).one()
    row.received_at = at
    session.add(row)
    session.commit()


def keys(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return {row.dedup_key for row in session.exec(select(WebhookReceipt)).all()}


def test_receipts_older_than_the_window_are_pruned(engine: Engine) -> None:
    with Session(engine) as session:
        receive(session, "old", NOW - WEBHOOK_REPLAY_WINDOW - timedelta(seconds=1))
        receive(session, "edge", NOW - WEBHOOK_REPLAY_WINDOW)
        receive(session, "young", NOW - timedelta(minutes=5))
        assert prune_webhook_receipts(session, now=NOW) == 1
        session.commit()
        assert not webhook_receipt_exists(session, platform="shopify", connection_id=1,
                                          dedup_key="old")
        # What is still inside the window still recognises a replay.
        assert not record_webhook_receipt(session, platform="shopify", connection_id=1,
                                          dedup_key="young")
    assert keys(engine) == {"edge", "young"}


def test_the_scheduler_job_prunes_with_its_clock(engine: Engine) -> None:
    with Session(engine) as session:
        receive(session, "old", NOW - timedelta(days=10))
        receive(session, "young", NOW - timedelta(hours=1))
    jobs = Jobs(engine, print, print)
    assert jobs.prune_receipts(now=NOW) == 1
    assert jobs.prune_receipts(now=NOW) == 0
    assert keys(engine) == {"young"}
