"""A reconcile pushes its shops side by side, and one shop's trouble stays that shop's.

"Side by side" is proved without a clock: the TikTok fake's rendezvous holds the first
update call of each shop until the other shop's first update call has arrived. Pushed one
after another, the first shop's call would wait for a call that comes only after it: the
rendezvous gives up and says it was not met.
"""

from __future__ import annotations

import socket

import pytest
from sqlmodel import select

from shelfsync.core.models import ChannelConnection, RunStatus, SyncRun
from shelfsync.core.sync import inventory
from shelfsync.core.sync.inventory import SyncAuthError, reconcile_organization

from .conftest import UPDATE, World

#: The rendezvous holds a shop's first update call this long at most; the client waits
#: longer, so a held call is never given up and retried.
HOLD = 60
PATIENT = {"timeout": HOLD + 30}


def _settings(world: World, shop: int, **changes: object) -> None:
    channel = world.session.get(ChannelConnection, world.channel_ids[shop])
    assert channel is not None
    channel.settings = {**channel.settings, **changes}
    world.session.add(channel)
    world.session.commit()


def _runs(world: World) -> dict[int, SyncRun]:
    runs = world.session.exec(select(SyncRun).where(SyncRun.kind == "reconcile")).all()
    return {run.channel_id: run for run in runs}


def _rendezvous(world: World, timeout: float) -> None:
    world.control(world.tiktok, "POST", "rendezvous",
                  {"path": UPDATE, "shops": 2, "timeout": timeout})


def _shows_what_was_pushed(world: World, report: inventory.SyncReport, shop: int) -> None:
    shown = world.shown(shop)
    pushed = [item for item in report.items
              if item.channel_id == world.channel_ids[shop] and item.outcome == "pushed"]
    assert pushed
    for item in pushed:
        assert shown[item.sku] == item.to_quantity == world.expected(item.sku, shop)


def test_the_shops_are_pushed_side_by_side(world: World) -> None:
    for shop in (0, 1):
        _settings(world, shop, **PATIENT)
    _rendezvous(world, HOLD)

    report = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()

    met = world.control(world.tiktok, "GET", "rendezvous")
    assert met["met"] and not met["timed_out"], met
    assert len(met["arrived"]) == 2
    for shop in (0, 1):
        _shows_what_was_pushed(world, report, shop)
    # Merged in channel order, whichever shop finished first.
    order = [item.channel_id for item in report.items]
    assert order == sorted(order) and set(order) == set(world.channel_ids)
    runs = _runs(world)
    assert set(runs) == set(world.channel_ids)
    for channel_id in world.channel_ids:
        run = runs[channel_id]
        assert run.finished_at is not None and run.lease_expires_at is None
        mine = [i for i in report.items if i.channel_id == channel_id]
        assert run.counts["pushed"] == sum(i.outcome == "pushed" for i in mine)
    # The caller's session reads what the channels' sessions wrote.
    channel = world.session.get(ChannelConnection, world.channel_ids[0])
    assert channel is not None and channel.last_sync_at is not None

    world.reset_counts()
    again = reconcile_organization(world.session, world.pm, world.org_id)
    assert again.pushed == 0 and world.update_calls() == 0


def test_one_thread_pushes_the_shops_one_after_another(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound on threads holds, and the rendezvous tells the two ways apart."""
    monkeypatch.setattr(inventory, "MAX_PUSH_THREADS", 1)
    _rendezvous(world, 2)

    report = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()

    missed = world.control(world.tiktok, "GET", "rendezvous")
    assert missed["timed_out"] and not missed["met"]
    assert len(missed["arrived"]) == 1
    for shop in (0, 1):
        _shows_what_was_pushed(world, report, shop)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_shop_whose_listings_cannot_be_read_is_an_error_run_and_the_other_goes_on(
        world: World) -> None:
    broken = world.session.get(ChannelConnection, world.channel_ids[0])
    assert broken is not None
    broken.base_url = f"http://127.0.0.1:{_closed_port()}"
    world.session.add(broken)
    world.session.commit()

    report = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()

    assert set(report.errors) == {world.channel_ids[0]}
    assert "connection failed" in report.errors[world.channel_ids[0]]
    assert {item.channel_id for item in report.items} == {world.channel_ids[1]}
    _shows_what_was_pushed(world, report, 1)
    runs = _runs(world)
    assert runs[world.channel_ids[0]].status == RunStatus.ERROR.value
    assert "connection failed" in (runs[world.channel_ids[0]].error or "")
    assert runs[world.channel_ids[1]].status in (RunStatus.OK.value, RunStatus.PARTIAL.value)
    assert runs[world.channel_ids[1]].error is None


def test_refused_credentials_are_raised_after_the_other_shop_finished(world: World) -> None:
    broken = world.session.get(ChannelConnection, world.channel_ids[0])
    assert broken is not None
    credentials = broken.credentials()
    credentials.update(access_token="ROW_revoked", refresh_token="")
    broken.set_credentials(credentials)
    world.session.add(broken)
    world.session.commit()

    with pytest.raises(SyncAuthError) as raised:
        reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()

    error = raised.value
    assert [failure[:2] for failure in error.failures] == [("channel", world.channel_ids[0])]
    assert set(error.report.errors) == {world.channel_ids[0]}
    _shows_what_was_pushed(world, error.report, 1)
    runs = _runs(world)
    assert runs[world.channel_ids[0]].status == RunStatus.ERROR.value
    assert runs[world.channel_ids[1]].finished_at is not None
    assert runs[world.channel_ids[1]].error is None


def test_a_dry_run_side_by_side_reports_both_shops_and_writes_no_run(world: World) -> None:
    report = reconcile_organization(world.session, world.pm, world.org_id, dry_run=True)

    assert {i.channel_id for i in report.items if i.outcome == "dry_run"} == \
        set(world.channel_ids)
    assert world.update_calls() == 0 and _runs(world) == {}
