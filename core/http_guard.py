"""The SSRF guard at connection time: every API request goes to an address that was checked.

`check_public_url` refuses a private or loopback host when a merchant connects a store, but a
host's DNS can change afterwards (DNS rebinding: public when checked, 127.0.0.1 or a cloud
metadata address when used). So the transport resolves the host itself, refuses the request
if any address is not public, and connects to the address it checked: what is checked is what
is contacted. TLS still verifies the certificate against the host name, which httpcore passes
separately from the address.

Not installed when private URLs are allowed (the demo, tests) or when an HTTP proxy is set in
the environment (then the proxy is the egress control, and the address contacted is its own).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import typing

import httpcore
import httpx

from shelfsync.core.errors import BlockedAddress

#: Environment variables through which httpx would send requests via a proxy.
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def public_addresses(host: str, port: int,
                     is_public: typing.Callable[[typing.Any], bool]) -> list[str]:
    """The addresses of `host`, in the resolver's order, if every one of them is public.

    All of them are checked, not just the one dialled first: a resolver may rotate them
    between calls, and a dual-stack host is tried address by address.
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise httpcore.ConnectError(f"{host!r} resolves to no address")
    for address in addresses:
        if not is_public(ipaddress.ip_address(address)):
            raise BlockedAddress(
                f"{host!r} resolves to the non-public address {address}: request refused "
                "(set SHELFSYNC_ALLOW_PRIVATE_URLS=1 only for fakes and staging hosts)"
            )
    return list(dict.fromkeys(addresses))


class PublicOnlyBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only to checked public addresses."""

    def __init__(self, inner: httpcore.NetworkBackend,
                 is_public: typing.Callable[[typing.Any], bool]) -> None:
        self._inner = inner
        self._is_public = is_public

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in public_addresses(host, port, self._is_public):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address,
                                               socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # e.g. an IPv6 address on a host without IPv6: try the next
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("API requests over a unix socket are refused")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def proxy_configured() -> bool:
    """Whether httpx would route requests through a proxy from the environment."""
    return any(os.environ.get(name) for name in PROXY_ENV)


def guarded_transport(verify: ssl.SSLContext | bool | str,
                      is_public: typing.Callable[[typing.Any], bool]) -> httpx.HTTPTransport:
    """An httpx transport whose connections go only to checked public addresses."""
    transport = httpx.HTTPTransport(verify=verify)
    pool = transport._pool  # httpx keeps its httpcore pool here (httpx 0.2x, httpcore 1.x)
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version hides its network backend: the "
                           "address guard cannot be installed")
    pool._network_backend = PublicOnlyBackend(pool._network_backend, is_public)
    return transport
