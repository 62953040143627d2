"""Refreshed tokens cross the boundary through a callback: core saves them in a transaction of
its own (from the push threads too), never through the caller's ORM rows, so a token TikTok
rotated mid-pass survives whatever becomes of the pass's own transaction."""

from __future__ import annotations

import threading

from sqlmodel import Session

from shelfsync.core.models import ChannelConnection
from shelfsync.core.sync.context import channel_connection, credentials_saver
from shelfsync.core.sync.inventory import reconcile_organization, sync_skus

from .conftest import World


def _stored(world: World, channel_id: int) -> dict[str, str]:
    with Session(world.session.get_bind().engine) as fresh:
        row = fresh.get(ChannelConnection, channel_id)
        assert row is not None
        return dict(row.credentials())


def test_a_token_refreshed_in_a_push_thread_is_saved_even_if_the_pass_rolls_back(
        world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    sku = world.plain_sku()
    before = [_stored(world, channel_id) for channel_id in world.channel_ids]
    for shop in (0, 1):  # both shops: their pushes run on two threads at once
        world.control(world.tiktok, "POST", "tokens/expire", {"shop_id": shop})
    world.bump(sku, 4)

    report = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.rollback()  # the pass's own transaction is lost: the tokens must not be

    assert report.pushed == 2, report.to_dict()
    live = world.tiktok.app.connections()
    for index, channel_id in enumerate(world.channel_ids):
        stored = _stored(world, channel_id)
        assert stored["access_token"] == live[index]["credentials"]["access_token"]
        assert stored["access_token"] != before[index]["access_token"]
        assert stored["refresh_token"] == live[index]["credentials"]["refresh_token"]
        assert int(stored["access_token_expire_in"]) > 0
        assert stored["app_secret"] == before[index]["app_secret"]  # merged, nothing lost


def test_the_connection_carries_a_callback_and_no_database_object(world: World) -> None:
    row = world.session.get(ChannelConnection, world.channel_ids[0])
    assert row is not None
    connection = channel_connection(row)
    assert connection.platform_id == row.shop_id
    assert connection.on_credentials_refreshed is not None
    assert all(not hasattr(value, "__table__") and not callable(value)
               for value in connection.settings.values())
    assert "token_store" not in connection.settings


def test_concurrent_saves_lose_no_key(world: World) -> None:
    """Two threads saving different keys for one connection at once: both land."""
    channel_id = world.channel_ids[0]
    save = credentials_saver(world.session.get_bind().engine, ChannelConnection, channel_id)
    world.session.commit()  # the caller holds no lock while the callbacks run
    threads = [threading.Thread(target=save, args=({name: f"{name}-value"},))
               for name in ("access_token", "refresh_token")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = _stored(world, channel_id)
    assert stored["access_token"] == "access_token-value"
    assert stored["refresh_token"] == "refresh_token-value"
