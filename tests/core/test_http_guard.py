"""The address guard at request time: a host that resolves to a private address when the
request is sent (DNS rebinding) is refused before anything is sent, and the address checked
is the address contacted."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BlockedAddress
from shelfsync.core.http import ALLOW_PRIVATE_ENV, make_client, shared_ssl_context
from shelfsync.core.http_guard import PROXY_ENV, guarded_transport
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import Connection


class Recorder:
    """A tiny API that remembers the Host header of every request it got."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.hosts.append(Request(environ).host)
        return Response('{"ok": true}', mimetype="application/json")(environ, start_response)


@pytest.fixture
def api() -> Iterator[tuple[Recorder, RunningServer]]:
    recorder = Recorder()
    with serving(recorder) as running:
        yield recorder, running


@pytest.fixture(autouse=True)
def no_private_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


def resolving(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Make the resolver answer `names` (host → address), the way a rebinding DNS would."""
    real = socket.getaddrinfo

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_loopback_api_is_refused_before_anything_is_sent(
        api: tuple[Recorder, RunningServer]) -> None:
    recorder, running = api
    with make_client(Connection("acme", running.base_url, {})) as client, \
            pytest.raises(BlockedAddress, match=r"non-public address 127\.0\.0\.1"):
        client.get("/anything")
    assert recorder.hosts == []


def test_a_host_rebound_to_loopback_is_refused(
        api: tuple[Recorder, RunningServer], monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, running = api
    port = running.base_url.rsplit(":", 1)[1]
    resolving(monkeypatch, {"shop.rebind.test": "127.0.0.1"})
    connection = Connection("acme", f"http://shop.rebind.test:{port}", {})
    with make_client(connection) as client, pytest.raises(BlockedAddress):
        client.get("/admin")
    assert recorder.hosts == []


def test_the_checked_address_is_the_one_contacted(
        api: tuple[Recorder, RunningServer], monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, running = api
    port = running.base_url.rsplit(":", 1)[1]
    # A rebinding resolver: the first answer is the one checked; any later lookup of the
    # name (by code that checked one answer and connected by name) gets an address where
    # nothing listens.
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "shop.pinned.test":
            return real(next(answers, "192.0.2.1"), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    loopback_is_fine = ipaddress.ip_address("127.0.0.1")

    def is_public(address: Any) -> bool:
        return bool(address == loopback_is_fine)

    transport = guarded_transport(shared_ssl_context(), is_public)
    with httpx.Client(base_url=f"http://shop.pinned.test:{port}", transport=transport) as client:
        assert client.get("/admin").json() == {"ok": True}
    # The request went to the address checked, and still named its host.
    assert recorder.hosts == [f"shop.pinned.test:{port}"]


def test_private_urls_allowed_turns_the_guard_off(
        api: tuple[Recorder, RunningServer], monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, running = api
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with make_client(Connection("acme", running.base_url, {})) as client:
        assert client.get("/x").status_code == 200
    assert len(recorder.hosts) == 1


def test_an_unresolvable_host_is_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with make_client(Connection("acme", "https://shop.nowhere.test", {})) as client, \
            pytest.raises(httpx.ConnectError, match="cannot resolve"):
        client.get("/")


def test_each_checked_address_is_tried_in_turn(
        api: tuple[Recorder, RunningServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """A dual-stack host whose first address does not answer (no IPv6 route, say): the next
    checked address is dialled, as a plain connection would."""
    recorder, running = api
    port = int(running.base_url.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def two_addresses(host: str, port_: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "shop.dual.test":
            # 127.0.0.2 is loopback too, but the test server listens on 127.0.0.1 only.
            return real("127.0.0.2", port_, *args, **kwargs) + real("127.0.0.1", port_,
                                                                       *args, **kwargs)
        return real(host, port_, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    transport = guarded_transport(shared_ssl_context(), lambda address: True)
    with httpx.Client(base_url=f"http://shop.dual.test:{port}", transport=transport) as client:
        assert client.get("/admin").json() == {"ok": True}
    assert recorder.hosts == [f"shop.dual.test:{port}"]
