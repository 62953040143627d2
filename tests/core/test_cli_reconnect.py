"""`shelfsync reconnect`: a connection marked "needs re-auth" gets new credentials, checked
live, and keeps its id (so its links, settings and history), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from shelfsync.core.db import make_engine
from shelfsync.core.models import ChannelConnection, StoreConnection
from shelfsync.core.sync.inventory import mark_needs_reauth
from shelfsync.core.testing.server import RunningServer

from .conftest import credential_args, rate_args, run, run_json


def flagged(url: str, model: type[StoreConnection] | type[ChannelConnection],
            ident: int) -> tuple[str, str, dict[str, Any]]:
    """The connection as stored: status, message, decrypted credentials."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            row = session.get(model, ident)
            assert row is not None
            return row.status, row.status_message, row.credentials()
    finally:
        engine.dispose()


def refuse(url: str, kind: str, ident: int) -> None:
    """Mark the connection refused, as a sync does when the platform answers 401."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            mark_needs_reauth(session, kind, ident, "401 Invalid API key or access token")
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture
def organization(env: str, shopify: RunningServer, tiktok: RunningServer) -> dict[str, Any]:
    org = run_json("org", "create", "Reconnecting")
    store = run_json("connect", "store", "shopify", "--org", "Reconnecting",
                     *credential_args(shopify.app.connections()[0]["credentials"]),
                     "--api-base-url", shopify.base_url)
    channels = [
        run_json("connect", "channel", "tiktok", "--org", "Reconnecting",
                 *credential_args(shop["credentials"]), "--api-base-url", tiktok.base_url,
                 "--setting", f"auth_base_url={tiktok.base_url}", *rate_args(shop))["id"]
        for shop in tiktok.app.connections()
    ]
    return {"org": org["id"], "store": store["id"], "channels": channels}


def test_store_reconnects_with_a_new_token(env: str, shopify: RunningServer,
                                           organization: dict[str, Any]) -> None:
    store_id = organization["store"]
    refuse(env, "store", store_id)
    assert flagged(env, StoreConnection, store_id)[0] == "needs_reauth"

    wrong = run("reconnect", "store", "--org", "Reconnecting",
                "--credential", "access_token=shpat_revoked")
    assert wrong.exit_code == 1 and "Traceback" not in wrong.output
    status, message, credentials = flagged(env, StoreConnection, store_id)
    assert status == "needs_reauth" and message.startswith("401")
    assert credentials["access_token"] != "shpat_revoked"  # nothing saved

    token = shopify.app.connections()[0]["credentials"]["access_token"]
    answer = run_json("reconnect", "store", "--org", str(organization["org"]),
                      "--credential", f"access_token={token}")
    assert {k: v for k, v in answer.items() if k != "next"} == {
        "id": store_id, "kind": "store", "platform": "shopify", "status": "ok"}
    assert "shelfsync webhooks subscribe" in answer["next"]
    status, message, credentials = flagged(env, StoreConnection, store_id)
    assert (status, message) == ("ok", "")
    assert credentials["client_secret"]  # the field not given was kept


def test_channel_reconnects_and_is_recomputed(env: str, tiktok: RunningServer,
                                              organization: dict[str, Any]) -> None:
    first, second = organization["channels"]
    refuse(env, "channel", second)
    shop = tiktok.app.connections()[1]["credentials"]
    answer = run_json("reconnect", "channel", str(second),
                      "--credential", f"access_token={shop['access_token']}",
                      "--credential", f"refresh_token={shop['refresh_token']}")
    assert answer["status"] == "ok" and answer["recompute"]["ok"] is True
    assert flagged(env, ChannelConnection, second)[0] == "ok"
    assert flagged(env, ChannelConnection, first)[0] == "ok"


def test_channel_credentials_of_another_shop_are_refused(
    env: str, tiktok: RunningServer, organization: dict[str, Any]
) -> None:
    first = organization["channels"][0]
    refuse(env, "channel", first)
    other = tiktok.app.connections()[1]["credentials"]
    # Valid credentials, but for the second shop: saving them would push the first channel's
    # stock to the other shop.
    result = run("reconnect", "channel", str(first), *credential_args(other))
    assert result.exit_code == 2, result.output
    assert "--credential" in result.stderr and "no authorized shop" in result.stderr
    status, _, credentials = flagged(env, ChannelConnection, first)
    assert status == "needs_reauth" and credentials["shop_cipher"] != other["shop_cipher"]


@pytest.mark.parametrize(("args", "message"), [
    (["--credential", "password=x"], "unknown for tiktok: password"),
    (["--credential", "access_token="], "empty value for access_token"),
    (["--credential", "access_token"], "expected KEY=VALUE"),
])
def test_bad_credential_arguments_are_refused_by_name(
    env: str, organization: dict[str, Any], args: list[str], message: str
) -> None:
    result = run("reconnect", "channel", str(organization["channels"][0]), *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_unknown_targets_are_refused(env: str) -> None:
    assert "no channel with id '999'" in run("reconnect", "channel", "999").stderr
    assert "no organization 'Nobody'" in run("reconnect", "store", "--org", "Nobody").stderr
    run_json("org", "create", "Storeless")
    result = run("reconnect", "store", "--org", "Storeless", "--credential", "access_token=x")
    assert result.exit_code == 2 and "has no store connected" in result.stderr


def test_status_says_why_and_how_to_reconnect(env: str, tiktok: RunningServer,
                                              organization: dict[str, Any]) -> None:
    second = organization["channels"][1]
    refuse(env, "channel", second)
    rows = {row["channel_id"]: row for row in run_json("status", "--org", "Reconnecting")}
    assert rows[second]["needs_reauth"] is True
    assert rows[second]["status_message"] == "401 Invalid API key or access token"
    assert rows[organization["channels"][0]]["status_message"] is None
    text = run("status").stdout
    assert (f"NEEDS RE-AUTH: 401 Invalid API key or access token; shelfsync reconnect channel "
            f"{second}") in text

    shop = tiktok.app.connections()[1]["credentials"]
    run_json("reconnect", "channel", str(second), *credential_args(shop))
    rows = {row["channel_id"]: row for row in run_json("status")}
    assert rows[second]["needs_reauth"] is False and rows[second]["status_message"] is None
    assert "NEEDS RE-AUTH" not in run("status").stdout


def test_a_shop_whose_token_was_refreshed_reconnects(
        env: str, tiktok: RunningServer, organization: dict[str, Any]) -> None:
    """The engine stores the refreshed token's expiry beside the declared fields: it must
    neither trip the live check (an undeclared field) nor outlive the token it described."""
    channel_id = organization["channels"][0]
    engine = make_engine(env)
    try:
        with Session(engine) as session:
            row = session.get(ChannelConnection, channel_id)
            assert row is not None
            row.set_credentials({**row.credentials(), "access_token_expire_in": "1700000000"})
            session.add(row)
            session.commit()
    finally:
        engine.dispose()
    refuse(env, "channel", channel_id)
    shop = tiktok.app.connections()[0]["credentials"]
    answer = run_json("reconnect", "channel", str(channel_id),
                      "--credential", f"access_token={shop['access_token']}")
    assert answer["status"] == "ok"
    _, _, credentials = flagged(env, ChannelConnection, channel_id)
    assert "access_token_expire_in" not in credentials
