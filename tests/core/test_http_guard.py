"""The address guard at request time: a host that resolves to a private address when the
request is sent (DNS rebinding) is refused before anything is sent, and the address checked
is the address contacted; behind a proxy from the environment, each request is checked by
name and resolved address before it goes to the proxy. What counts as public is table-driven."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BlockedAddress, ConfigurationError
from shelfsync.core.http import (
    ALLOW_PRIVATE_ENV,
    check_public_url,
    is_public_address,
    make_client,
    shared_ssl_context,
)
from shelfsync.core.http_guard import PROXY_ENV, guarded_transport, refused_host_name
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


# --- what is public: table-driven, independent of what this Python's `is_global` says -------

NOT_PUBLIC = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "255.255.255.255", "192.0.0.8", "192.0.0.9", "192.0.0.170", "192.0.2.1",
    "192.88.99.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.1.1.1",
    "240.0.0.1",
    "::", "::1", "::127.0.0.1", "::808:808",  # IPv4-compatible, even of a public address
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:8.8.8.8",  # mapped
    "::ffff:0:7f00:1",  # SIIT-translated 127.0.0.1
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of private ones
    "64:ff9b:1::808:808",  # local-use NAT64
    "2002:7f00:1::", "2002:a00:1::1",  # 6to4 of private ones
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::a00:1",  # Teredo
    "fec0::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "ff0e::1",
    "100::1", "2001:db8::1", "3fff::1", "5f00::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111",
          "64:ff9b::808:808",  # NAT64 of 8.8.8.8: how an IPv6-only host reaches it
          "2002:808:808::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


REFUSED_HOSTS = ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "017700000001",
                 "10.1", "localhost", "LOCALHOST.", "api.localhost", "printer.local",
                 "metadata.google.internal", "router.home.arpa"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_numeric_and_local_host_names_are_refused_by_name(host: str) -> None:
    assert refused_host_name(host) is not None
    # httpx itself rejects some forms (`0177.0.0.1`) as an invalid URL: refused either way.
    with pytest.raises(ConfigurationError, match=r"non-public|not an http"):
        check_public_url(f"http://{host}/")


@pytest.mark.parametrize("url", [f"http://{host}:1/" for host in REFUSED_HOSTS]
                         + ["http://[::127.0.0.1]:1/", "http://[::ffff:7f00:1]:1/",
                            "http://[64:ff9b::7f00:1]:1/", "http://[fec0::1]:1/",
                            "http://192.0.0.8:1/"])
def test_the_client_refuses_them_before_anything_is_sent(url: str) -> None:
    with pytest.raises((BlockedAddress, httpx.InvalidURL)), \
            make_client(Connection("acme", url, {})) as client:
        client.get("/")


@pytest.mark.parametrize("host", ["shop.example.com", "8.8.8.8", "0x.example.com",
                                  "1password.com", "[2606:4700::1]"])
def test_ordinary_names_are_not_refused_by_name(host: str) -> None:
    assert refused_host_name(host.strip("[]")) is None


# --- behind a proxy: the guard stays on -----------------------------------------------------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """A recording HTTP proxy named by HTTP_PROXY / HTTPS_PROXY (httpx's trust_env)."""
    recorder = Recorder()
    with serving(recorder) as running:
        monkeypatch.setenv("HTTP_PROXY", running.base_url)
        monkeypatch.setenv("HTTPS_PROXY", running.base_url)
        yield recorder


def test_behind_a_proxy_a_rebound_host_is_refused_before_the_proxy_sees_it(
        proxy: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, {"shop.rebind.test": "127.0.0.1", "shop.meta.test": "169.254.169.254"})
    for url in ("http://shop.rebind.test/admin", "http://shop.meta.test/latest/meta-data",
                "http://2130706433/", "http://[::127.0.0.1]/"):
        with make_client(Connection("acme", url, {})) as client, \
                pytest.raises(BlockedAddress, match="non-public"):
            client.get("")
    assert proxy.hosts == []


def test_behind_a_proxy_a_public_host_still_goes_through_the_proxy(
        proxy: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, {"shop.public.test": "93.184.215.14"})
    with make_client(Connection("acme", "http://shop.public.test", {})) as client:
        assert client.get("/admin").json() == {"ok": True}
    assert proxy.hosts == ["shop.public.test"]


def test_behind_a_proxy_a_name_that_does_not_resolve_here_is_refused(
        proxy: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with make_client(Connection("acme", "http://split.horizon.test", {})) as client, \
            pytest.raises(httpx.ConnectError, match="cannot resolve"):
        client.get("/")
    assert proxy.hosts == []


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
def test_no_proxy_alone_keeps_the_guard(
        api: tuple[Recorder, RunningServer], monkeypatch: pytest.MonkeyPatch,
        variable: str) -> None:
    recorder, running = api
    monkeypatch.setenv(variable, "example.com")
    with make_client(Connection("acme", running.base_url, {})) as client, \
            pytest.raises(BlockedAddress):
        client.get("/anything")
    assert recorder.hosts == []


def test_no_proxy_exempt_host_behind_a_proxy_is_still_pinned(
        proxy: Recorder, api: tuple[Recorder, RunningServer],
        monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, running = api
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with make_client(Connection("acme", running.base_url, {})) as client, \
            pytest.raises(BlockedAddress):
        client.get("/anything")
    assert recorder.hosts == [] and proxy.hosts == []
