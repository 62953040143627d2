"""`shelfsync run` serves through waitress, and bodies over the limit never reach the app."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from waitress.server import create_server

from shelfsync.core.commands.run import serving_everything
from shelfsync.core.crypto import SECRET_KEY_ENV, generate_key
from shelfsync.core.db import DATABASE_URL_ENV
from shelfsync.core.wsgi_server import SERVER_IDENT, server_options, serving_production

LIMIT = 64 * 1024


class Recording:
    """A WSGI app that records the paths it was called for and the bytes it read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read()
        self.calls.append((environ["PATH_INFO"], len(body)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.fixture
def served() -> Iterator[tuple[Recording, str]]:
    app = Recording()
    with serving_production(app, "127.0.0.1", 0, threads=2, max_body=LIMIT) as url:
        yield app, url


def test_a_body_within_the_limit_reaches_the_app(served: tuple[Recording, str]) -> None:
    app, url = served
    response = httpx.post(f"{url}/webhooks/shopify/1", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.headers["server"] == SERVER_IDENT
    assert app.calls == [("/webhooks/shopify/1", LIMIT)]


def test_a_declared_oversized_body_is_413_and_never_reaches_the_app(
        served: tuple[Recording, str]) -> None:
    app, url = served
    response = httpx.post(f"{url}/webhooks/shopify/1", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert app.calls == []


def test_a_chunked_oversized_body_is_413_and_never_reaches_the_app(
        served: tuple[Recording, str]) -> None:
    app, url = served

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(64):
            yield b"x" * 4096

    response = httpx.post(f"{url}/webhooks/shopify/1", content=chunks())
    assert response.status_code == 413
    assert app.calls == []


def test_the_server_stops_and_frees_its_port() -> None:
    with serving_production(Recording(), "127.0.0.1", 0) as url:
        port = int(url.rsplit(":", 1)[1])
        assert httpx.get(url).status_code == 200
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_server_loop_waits_for_sockets_instead_of_spinning() -> None:
    # Waitress reads the loop timeout as an int: 0.2 became 0, a select() that never waited
    # and a thread burning most of a core while idle. What waitress makes of our settings:
    server = create_server(Recording(), host="127.0.0.1", port=0,
                           **server_options(threads=2, max_body=LIMIT))
    try:
        assert server.adj.asyncore_loop_timeout >= 1  # type: ignore[union-attr]
    finally:
        server.close()  # type: ignore[union-attr]


def test_run_serves_the_app_through_waitress(migrated_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, migrated_url)
    monkeypatch.setenv(SECRET_KEY_ENV, generate_key())
    with serving_everything("127.0.0.1", 0, threads=1) as url:
        health = httpx.get(f"{url}/healthz")
        too_big = httpx.post(f"{url}/webhooks/shopify/1", content=b"{" * (2 * 1024 * 1024))
    assert health.status_code == 200 and health.headers["server"] == SERVER_IDENT
    assert too_big.status_code == 413
