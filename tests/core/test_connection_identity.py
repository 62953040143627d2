"""The typed boundary: every connection carries the platform's own id of its store or shop,
recorded at connect time, and refreshed credentials are saved by core, never by a plugin."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlmodel import Session, select

from shelfsync.core.models import ChannelConnection, StoreConnection
from shelfsync.core.testing.server import RunningServer
from shelfsync.core.types import Connection

from .conftest import credential_args, run_json


def _rows(url: str, model: type) -> list:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)).all())
    finally:
        engine.dispose()


def test_connect_records_the_stores_and_each_shops_own_id(env: str, shopify: RunningServer,
                                                          tiktok: RunningServer) -> None:
    run_json("org", "create", "Ids")
    run_json("connect", "store", "shopify", "--org", "Ids",
             *credential_args(shopify.app.connections()[0]["credentials"]),
             "--api-base-url", shopify.base_url)
    shop = tiktok.app.connections()[1]
    channel = run_json("connect", "channel", "tiktok", "--org", "Ids",
                       *credential_args(shop["credentials"]), "--api-base-url", tiktok.base_url,
                       "--setting", f"auth_base_url={tiktok.base_url}")

    (store,) = _rows(env, StoreConnection)
    assert store.store_id == shopify.app.connections()[0]["shop"]  # the myshopify domain
    assert store.store_name
    connection = store.as_connection()
    assert isinstance(connection, Connection) and connection.platform_id == store.store_id
    (row,) = [c for c in _rows(env, ChannelConnection) if c.id == channel["id"]]
    assert row.shop_id == shop["id"]
    # TikTok's orders take the shop id from here, never from a setting a CLI-connected shop
    # would not have.
    assert row.as_connection().platform_id == shop["id"]
    assert "shop_id" not in (row.settings or {})


def test_reconnect_fills_a_store_id_recorded_before_it_existed(env: str,
                                                               shopify: RunningServer) -> None:
    run_json("org", "create", "Old")
    run_json("connect", "store", "shopify", "--org", "Old",
             *credential_args(shopify.app.connections()[0]["credentials"]),
             "--api-base-url", shopify.base_url)
    engine = create_engine(env)
    with Session(engine) as session:
        (store,) = session.exec(select(StoreConnection)).all()
        store.store_id = None  # a row connected before the id was recorded
        session.add(store)
        session.commit()
    engine.dispose()
    token = shopify.app.connections()[0]["credentials"]["access_token"]
    run_json("reconnect", "store", "--org", "Old", "--credential", f"access_token={token}")
    (store,) = _rows(env, StoreConnection)
    assert store.store_id == shopify.app.connections()[0]["shop"]
