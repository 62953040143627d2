"""Access-token refresh against the fake's auth endpoint, and the new tokens handed back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import AuthError, BlockedAddress, ConfigurationError
from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.tiktok import plugin
from shelfsync.plugins.tiktok.auth import TokenSet, token_credentials
from shelfsync.plugins.tiktok.client import TikTokClient
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect

REFRESH = "/api/v2/token/refresh"
SHOPS = "/authorization/202309/shops"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=3, variants=1)) as running:
        yield running


class Recorder:
    """An `on_credentials_refreshed` callback that remembers what it was given."""

    def __init__(self) -> None:
        self.saved: list[Mapping[str, str]] = []

    def __call__(self, refreshed: Mapping[str, str]) -> None:
        self.saved.append(dict(refreshed))


def control(server: RunningServer, name: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{server.base_url}/_fake/{name}", json=body)
    response.raise_for_status()
    return response.json()


def counts(server: RunningServer) -> dict[str, int]:
    return httpx.get(server.base_url + "/_fake/requests").json()["by_path"]


def test_an_expired_token_is_refreshed_once_and_reported(server: RunningServer) -> None:
    store = Recorder()
    connection = connect(server, on_credentials_refreshed=store)
    old = connection.credentials["access_token"]
    control(server, "tokens/expire", {"shop_id": 0})

    shops = plugin.shelfsync_fetch_authorized_shops(connection=connection)

    assert [shop.id for shop in shops] == [server.app.connections()[0]["id"]]
    assert len(store.saved) == 1
    refreshed = store.saved[0]
    current = server.app.connections()[0]["credentials"]
    assert refreshed["access_token"] == current["access_token"] != old
    assert refreshed["refresh_token"] == current["refresh_token"]
    assert int(refreshed["access_token_expire_in"]) > time.time()
    assert set(refreshed) == {"access_token", "refresh_token", "access_token_expire_in"}
    tokens = TokenSet(refreshed["access_token"], refreshed["refresh_token"], 1, 2)
    assert "access_token" not in repr(tokens).replace("access_token_expires_at", "")
    assert counts(server) == {SHOPS: 2, REFRESH: 1}


def test_a_refreshed_client_keeps_its_new_token(server: RunningServer) -> None:
    seen: list[Mapping[str, str]] = []
    connection = connect(server, on_credentials_refreshed=seen.append)
    control(server, "tokens/expire", {"shop_id": 0})
    with TikTokClient(connection) as client:
        client.call("GET", SHOPS, shop_scoped=False)
        client.call("GET", "/logistics/202309/warehouses")
        assert client.refreshed is not None
        assert token_credentials(client.refreshed) == seen[0]
    assert len(seen) == 1
    assert counts(server)[REFRESH] == 1


def test_only_the_expired_shop_refreshes(server: RunningServer) -> None:
    control(server, "tokens/expire", {"shop_id": 1})
    store = Recorder()
    plugin.shelfsync_fetch_locations(connection=connect(server, 0, on_credentials_refreshed=store))
    assert store.saved == []
    plugin.shelfsync_fetch_locations(connection=connect(server, 1, on_credentials_refreshed=store))
    assert len(store.saved) == 1


def test_a_token_near_its_expiry_is_refreshed_before_the_call(server: RunningServer) -> None:
    store = Recorder()
    connection = connect(server, on_credentials_refreshed=store,
                         access_token_expires_at=int(time.time()) + 60)
    plugin.shelfsync_fetch_locations(connection=connection)
    assert len(store.saved) == 1
    # Refreshed first, so no call was refused for an expired token.
    assert counts(server) == {REFRESH: 1, "/logistics/202309/warehouses": 1}


def test_a_token_far_from_its_expiry_is_left_alone(server: RunningServer) -> None:
    store = Recorder()
    connection = connect(server, on_credentials_refreshed=store,
                         access_token_expires_at=int(time.time()) + 86_400)
    plugin.shelfsync_fetch_locations(connection=connection)
    assert store.saved == []
    assert REFRESH not in counts(server)


def test_a_refused_refresh_is_an_auth_error(server: RunningServer) -> None:
    control(server, "tokens/expire", {"shop_id": 0})
    connection = connect(server, credentials={"refresh_token": "ROW_revoked"})
    with pytest.raises(AuthError) as raised:
        plugin.shelfsync_fetch_locations(connection=connection)
    assert raised.value.code == "36004005"
    assert raised.value.request_id


def test_without_a_refresh_token_the_expiry_is_an_auth_error(server: RunningServer) -> None:
    control(server, "tokens/expire", {"shop_id": 0})
    with pytest.raises(AuthError) as raised:
        plugin.shelfsync_fetch_locations(connection=connect(server,
                                                            credentials={"refresh_token": ""}))
    assert raised.value.code == "105002"
    assert REFRESH not in counts(server)


def test_a_refresh_without_a_callback_keeps_working(server: RunningServer) -> None:
    """No callback (a plugin author's script): the call still succeeds on the new token."""
    connection = connect(server)
    control(server, "tokens/expire", {"shop_id": 0})
    assert plugin.shelfsync_fetch_locations(connection=connection)
    assert counts(server)[REFRESH] == 1


def test_threads_sharing_a_client_refresh_once(server: RunningServer) -> None:
    seen: list[Mapping[str, str]] = []
    connection = connect(server, on_credentials_refreshed=seen.append)
    control(server, "tokens/expire", {"shop_id": 0})
    failures: list[Exception] = []
    with TikTokClient(connection) as client:

        def worker() -> None:
            try:
                client.call("GET", "/logistics/202309/warehouses")
            except Exception as exc:  # collected for the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(seen) == 1
    assert counts(server)[REFRESH] == 1


def test_refresh_keeps_the_app_secret_and_tokens_out_of_the_log(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """TikTok takes the app secret and refresh token in the query string; httpx logs URLs."""
    caplog.set_level(logging.INFO, logger="httpx")
    connection = connect(server)
    control(server, "tokens/expire", {"shop_id": 0})
    plugin.shelfsync_fetch_authorized_shops(connection=connection)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "httpx")
    assert REFRESH in logged
    old = connection.credentials
    for secret in (old["app_secret"], old["refresh_token"], old["shop_cipher"]):
        assert secret not in logged


def test_a_private_auth_host_is_refused_before_the_secret_is_sent(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auth_base_url` is a plain setting: the SSRF guard must still see it (the URL check,
    or the address guard of every connection, whichever comes first)."""
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    connection = connect(server)
    control(server, "tokens/expire", {"shop_id": 0})
    with pytest.raises((ConfigurationError, BlockedAddress), match="non-public"):
        plugin.shelfsync_fetch_authorized_shops(connection=connection)
    assert REFRESH not in counts(server)
