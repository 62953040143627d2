"""The TikTok client against the fake's injected faults and its real error answers.

Every fault kind is retried and then, when it persists, becomes its typed error carrying the
request id; envelope errors (bad signature, bad token, bad parameter) are not retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    NotFound,
    RateLimited,
    TransientError,
)
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import Connection
from shelfsync.plugins.tiktok import plugin
from shelfsync.plugins.tiktok.client import TikTokClient
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect

WAREHOUSES = "/logistics/202309/warehouses"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[RunningServer]:
    # One server per module: stopping one costs half a second (serve_forever's poll).
    with serving(TikTokFake(shops=2, products=5, variants=2)) as running:
        yield running


@pytest.fixture
def server(fake_server: RunningServer) -> RunningServer:
    """The module's fake with no pending faults and zeroed request counts."""
    httpx.delete(fake_server.base_url + "/_fake/faults").raise_for_status()
    httpx.delete(fake_server.base_url + "/_fake/requests").raise_for_status()
    return fake_server


def inject(server: RunningServer, kind: str, count: int, **extra: Any) -> None:
    body = {"kind": kind, "count": count, "path": WAREHOUSES, **extra}
    httpx.post(server.base_url + "/_fake/faults", json=body).raise_for_status()


def calls_to(server: RunningServer, path: str) -> int:
    return httpx.get(server.base_url + "/_fake/requests").json()["by_path"].get(path, 0)


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "malformed"])
def test_a_passing_fault_is_retried(server: RunningServer, kind: str) -> None:
    inject(server, kind, 2)
    locations = plugin.shelfsync_fetch_locations(connection=connect(server))
    assert [loc.name for loc in locations] == ["Main warehouse 1", "Second warehouse 1"]
    assert calls_to(server, WAREHOUSES) == 3


@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [
        ("429", RateLimited, "36009002"),
        ("500", TransientError, "36009003"),
        ("502", TransientError, "36009003"),
        ("503", TransientError, "36009003"),
        ("malformed", BadResponse, None),
    ],
)
def test_a_lasting_fault_is_its_typed_error(
    server: RunningServer, kind: str, error: type[Exception], code: str | None
) -> None:
    inject(server, kind, 3)
    with pytest.raises(error) as raised:
        plugin.shelfsync_fetch_locations(connection=connect(server, retry_attempts=3))
    assert raised.value.platform == "tiktok"
    assert raised.value.code == code
    if code is not None:  # the truncated body has no request id to keep
        assert raised.value.request_id
    assert calls_to(server, WAREHOUSES) == 3


def test_a_timeout_is_retried(server: RunningServer) -> None:
    inject(server, "timeout", 1, seconds=0.5)
    locations = plugin.shelfsync_fetch_locations(connection=connect(server, timeout=0.2))
    assert len(locations) == 2


def test_a_lasting_timeout_is_transient(server: RunningServer) -> None:
    inject(server, "timeout", 2, seconds=0.5)
    with pytest.raises(TransientError, match="timed out"):
        plugin.shelfsync_fetch_locations(
            connection=connect(server, timeout=0.2, retry_attempts=2)
        )


def test_a_bad_signature_is_an_auth_error_not_retried(server: RunningServer) -> None:
    connection = connect(server, credentials={"app_secret": "not-the-secret"})
    with pytest.raises(AuthError) as raised:
        plugin.shelfsync_fetch_locations(connection=connection)
    assert raised.value.code == "106001"
    assert raised.value.request_id
    assert calls_to(server, WAREHOUSES) == 1


def test_an_unknown_access_token_is_an_auth_error(server: RunningServer) -> None:
    connection = connect(server, credentials={"access_token": "ROW_unknown"})
    with pytest.raises(AuthError) as raised:
        plugin.shelfsync_fetch_authorized_shops(connection=connection)
    assert raised.value.request_id
    assert calls_to(server, "/authorization/202309/shops") == 1


def test_an_invalid_parameter_is_a_bad_request_with_its_request_id(
    server: RunningServer,
) -> None:
    with TikTokClient(connect(server)) as client, pytest.raises(BadRequest) as raised:
        client.call("POST", "/product/202312/products/search", query={"page_size": 0}, body={})
    assert raised.value.code == "36009004"
    assert raised.value.request_id
    assert "page_size" in raised.value.message


def test_a_missing_shop_cipher_is_a_bad_request(server: RunningServer) -> None:
    with pytest.raises(BadRequest) as raised:
        plugin.shelfsync_fetch_locations(connection=connect(server, credentials={
            "shop_cipher": ""}))
    assert raised.value.code == "106013"


def test_an_unknown_path_is_not_found(server: RunningServer) -> None:
    with TikTokClient(connect(server)) as client, pytest.raises(NotFound) as raised:
        client.call("GET", "/product/202309/nothing-here")
    assert raised.value.request_id


def test_a_non_ascii_body_is_signed_as_sent(server: RunningServer) -> None:
    with TikTokClient(connect(server)) as client:
        envelope = client.call("POST", "/product/202312/products/search",
                               query={"page_size": 10},
                               body={"seller_skus": ["Tëst-ß-日本-😀"]})
    assert envelope.data["products"] == []
    assert envelope.request_id


def test_a_success_envelope_without_an_object_is_bad_response() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"code":0,"message":"Success","request_id":"R1","data":[1,2]}']

    with serving(app) as running:
        connection = Connection("tiktok", running.base_url,
                                {"app_key": "k", "app_secret": "s", "shop_cipher": "c"},
                                {"retry_attempts": 1})
        with pytest.raises(BadResponse) as raised:
            plugin.shelfsync_fetch_locations(connection=connection)
    assert raised.value.request_id == "R1"
