"""Store change polls: SKUs a poll finds are queued like a webhook's, the cursor moves only
with them, a failed poll keeps it, and two workers never poll one store at once.

The store here is a small scripted plugin (what a poll answers is the point, not how a
platform is read: the Magento and WooCommerce plugins test their polls against their fakes).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.crypto import generate_key
from shelfsync.core.errors import AuthError, PluginContractError, TransientError
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import (
    ConnectionStatus,
    Organization,
    PendingSku,
    StoreConnection,
    StorePollState,
    add_store_connection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.scheduler import STORE_POLL_PREFIX, Jobs, pollable_platforms
from shelfsync.core.services.syncing import poll_store_changes
from shelfsync.core.sync.store_poll import poll_seconds, poll_store
from shelfsync.core.types import (
    Capabilities,
    Connection,
    FieldSpec,
    PassScope,
    PlatformInfo,
    Role,
    StockChanges,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class PollingStore:
    """A store plugin whose polls answer what the test scripted, and remember the cursors
    they were given."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.cursors: list[str | None] = []

    @hookimpl
    def shelfsync_platform_info(self) -> PlatformInfo:
        return PlatformInfo(name="pollstore", title="Polling store", role=Role.STORE,
                            capabilities=Capabilities(),
                            credential_fields=(FieldSpec("token", secret=True, required=True),),
                            setting_fields=(FieldSpec("poll_seconds", default=60),))

    @hookimpl
    def shelfsync_poll_stock_changes(self, connection: Connection, cursor: str | None,
                                     scope: PassScope | None) -> Any:
        assert connection.credentials == {"token": "t"}
        self.cursors.append(cursor)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def plugin() -> PollingStore:
    return PollingStore()


@pytest.fixture
def pm(plugin: PollingStore) -> ShelfsyncPluginManager:
    manager = get_plugin_manager(load_entry_points=False)
    manager.register(plugin, name="pollstore")
    return manager


@pytest.fixture
def store_id(engine: Engine, migrated_url: str,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)  # the services' own sessions
    with Session(engine) as session:
        org = Organization(name="Polled")
        session.add(org)
        session.flush()
        store = add_store_connection(session, organization_id=org.id, platform="pollstore",
                                     base_url="https://store.example",
                                     credentials={"token": "t"},
                                     settings={"poll_seconds": "30"})
        session.commit()
        yield int(store.id or 0)


def _changes(skus: tuple[str, ...], cursor: str, *, more: bool = False,
             at: datetime = T0) -> StockChanges:
    return StockChanges(skus=skus, cursor=cursor, observed_at=at, more=more)


def _pending(session: Session) -> dict[str, datetime]:
    return {row.sku: row.observed_at for row in session.exec(select(PendingSku))}


def _state(session: Session, store_id: int) -> StorePollState:
    session.expire_all()
    state = session.get(StorePollState, store_id)
    assert state is not None
    return state


def test_a_poll_queues_its_skus_and_the_next_poll_gets_its_cursor(
        session: Session, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    plugin.answers = [_changes(("A-1", "B-2"), "c1"), _changes((), "c2")]

    first = poll_store(session, pm, store_id, "worker-1", clock=lambda: T0)
    assert (first.skus, first.rounds, first.skipped) == (2, 1, "")
    assert set(_pending(session)) == {"A-1", "B-2"}

    poll_store(session, pm, store_id, "worker-2", clock=lambda: T0)
    assert plugin.cursors == [None, "c1"]
    state = _state(session, store_id)
    assert (state.cursor, state.changed_skus, state.lease_owner) == ("c2", 0, None)


def test_a_poll_that_fails_keeps_the_cursor_and_says_why(
        session: Session, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    plugin.answers = [_changes(("A-1",), "c1"), TransientError("store answered 503"),
                      _changes(("B-2",), "c2")]
    poll_store(session, pm, store_id, "w", clock=lambda: T0)

    with pytest.raises(TransientError):
        poll_store(session, pm, store_id, "w", clock=lambda: T0)
    state = _state(session, store_id)
    assert state.cursor == "c1"
    assert "store answered 503" in state.last_error
    assert state.lease_owner is None  # freed: the retry need not wait for the lease

    poll_store(session, pm, store_id, "w", clock=lambda: T0)
    assert plugin.cursors == [None, "c1", "c1"]
    assert set(_pending(session)) == {"A-1", "B-2"}
    assert _state(session, store_id).last_error == ""


def test_an_answer_of_another_shape_moves_nothing(
        session: Session, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    plugin.answers = [["A-1"], _changes(("A-1",), "c1", at=T0.replace(tzinfo=None))]
    for _ in range(2):
        with pytest.raises(PluginContractError):
            poll_store(session, pm, store_id, "w", clock=lambda: T0)
    assert _state(session, store_id).cursor is None
    assert _pending(session) == {}


def test_more_polls_again_at_once(session: Session, pm: ShelfsyncPluginManager,
                                  plugin: PollingStore, store_id: int) -> None:
    plugin.answers = [_changes(("A-1",), "p1", more=True), _changes(("B-2",), "p2", more=True),
                      _changes(("C-3",), "p3")]
    result = poll_store(session, pm, store_id, "w", clock=lambda: T0)
    assert (result.rounds, result.skus) == (3, 3)
    assert plugin.cursors == [None, "p1", "p2"]
    assert _state(session, store_id).cursor == "p3"


def test_a_newer_webhook_time_is_kept_over_an_older_poll(
        session: Session, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    plugin.answers = [_changes(("A-1",), "c1", at=T0 + timedelta(minutes=1)),
                      _changes(("A-1",), "c2", at=T0)]
    poll_store(session, pm, store_id, "w", clock=lambda: T0)
    poll_store(session, pm, store_id, "w", clock=lambda: T0)
    assert _pending(session)["A-1"] == T0 + timedelta(minutes=1)


def test_two_workers_never_poll_one_store_at_once(
        session: Session, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    plugin.answers = [_changes(("A-1",), "c1", more=True), _changes(("B-2",), "c2")]

    def second_worker_arrives() -> datetime:
        # While worker-1 holds the lease, worker-2's poll is turned away without a call.
        if len(plugin.cursors) == 1:
            with Session(session.get_bind()) as other:
                busy = poll_store(other, pm, store_id, "worker-2", clock=lambda: T0)
            assert busy.skipped and busy.rounds == 0
        return T0

    poll_store(session, pm, store_id, "worker-1", clock=second_worker_arrives)
    assert plugin.cursors == [None, "c1"]

    # A worker killed mid-poll leaves its lease: turned away until it expires, then taken.
    state = _state(session, store_id)
    state.lease_owner, state.lease_expires_at = "killed", T0 + timedelta(minutes=5)
    session.add(state)
    session.commit()
    plugin.answers = [_changes(("C-3",), "c3")]
    assert poll_store(session, pm, store_id, "worker-2", clock=lambda: T0).skipped
    later = T0 + timedelta(minutes=6)
    assert poll_store(session, pm, store_id, "worker-2", clock=lambda: later).skus == 1
    assert plugin.cursors == [None, "c1", "c2"]


def test_a_store_refusing_credentials_is_marked_and_not_polled(
        engine: Engine, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    plugin.answers = [AuthError("token revoked", platform="pollstore")]
    result = poll_store_changes(pm, store_id, "w")
    assert result.skipped == "needs re-authorization"
    with Session(engine) as session:
        store = session.get(StoreConnection, store_id)
        assert store is not None and store.status == ConnectionStatus.NEEDS_REAUTH.value
        assert poll_store(session, pm, store_id, "w").skipped == "needs re-authorization"
    assert plugin.cursors == [None]


def test_the_scheduler_polls_each_pollable_store_on_its_interval(
        engine: Engine, pm: ShelfsyncPluginManager, store_id: int) -> None:
    polled: list[int] = []
    jobs = Jobs(engine, lambda _: None, lambda _: None, enqueue_store_poll=polled.append,
                pollable=pollable_platforms(pm))
    scheduler = BackgroundScheduler()
    scheduler.start(paused=True)
    try:
        jobs.sync_channel_jobs(scheduler)
        job = scheduler.get_job(f"{STORE_POLL_PREFIX}{store_id}")
        assert job is not None and job.trigger.interval == timedelta(seconds=30)
        job.func(*job.args)
        assert polled == [store_id]

        nobody_polls = Jobs(engine, lambda _: None, lambda _: None,
                            enqueue_store_poll=polled.append,
                            pollable=pollable_platforms(get_plugin_manager(
                                load_entry_points=False)))
        nobody_polls.sync_channel_jobs(scheduler)
        assert scheduler.get_job(f"{STORE_POLL_PREFIX}{store_id}") is None
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize(("stored", "seconds"), [
    (None, 60), ("", 60), ("30", 30), (1, 5), (10**9, 3600), ("soon", 60)])
def test_poll_seconds_is_bounded_and_never_breaks_the_poller(stored: object,
                                                            seconds: int) -> None:
    assert poll_seconds({"poll_seconds": stored}) == seconds


def test_status_shows_a_failing_poll_without_what_an_unexpected_error_quotes(
        session: Session, pm: ShelfsyncPluginManager, plugin: PollingStore,
        store_id: int) -> None:
    from shelfsync.core.models import ChannelConnection
    from shelfsync.core.sync.status import channel_status

    store = session.get(StoreConnection, store_id)
    assert store is not None
    channel = ChannelConnection(organization_id=store.organization_id, platform="tiktok",
                                base_url="https://shop.example", shop_id="1")
    channel.set_credentials({"t": "y"})
    session.add(channel)
    session.commit()
    plugin.answers = [ValueError("https://store.example/?consumer_secret=cs_live_123")]
    with pytest.raises(ValueError):
        poll_store(session, pm, store_id, "w", clock=lambda: T0)
    (row,) = channel_status(session)
    assert row["store_poll_error"] == "ValueError (details in the worker log)"
    assert row["store_polled_at"] is None

    plugin.answers = [_changes(("A-1",), "c1")]
    poll_store(session, pm, store_id, "w", clock=lambda: T0)
    (row,) = channel_status(session)
    assert row["store_poll_error"] is None and row["store_polled_at"] == T0.isoformat()
