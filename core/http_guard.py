"""The SSRF guard: which addresses and host names are public, and checking them at request time.

`check_public_url` refuses a private or loopback host when a merchant connects a store, but a
host's DNS can change afterwards (DNS rebinding: public when checked, 127.0.0.1 or a cloud
metadata address when used). So:

- Direct connections: the transport resolves the host itself, refuses the request if any
  address is not public, and connects to the address it checked: what is checked is what is
  contacted. TLS still verifies the certificate against the host name, which httpcore passes
  separately from the address.
- Through an HTTP proxy from the environment (`HTTPS_PROXY`, `ALL_PROXY` …): the proxy
  resolves and dials the host, so the address it uses cannot be pinned from here. Every
  request is checked before it goes to the proxy instead: the name, then every address it
  resolves to here. A name that does not resolve here is refused (fail closed). The proxy
  resolves the name again, so it should refuse private destinations too (docs/security.md).

"Public" is an allow-list decision: an address must be global per `ipaddress` AND outside
every range of `NON_PUBLIC_NETWORKS` (which spells out what some Python versions count as
global: `fec0::/10`, `192.0.0.0/24`, IPv4-compatible `::a.b.c.d`, NAT64 …), and an IPv4
address carried inside an IPv6 one (mapped, NAT64, 6to4, Teredo) must itself be public.

Not installed when private URLs are allowed (the demo, tests).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import typing

import httpcore
import httpx

from shelfsync.core.errors import BlockedAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Environment variables through which httpx would send requests via a proxy (the upper and
#: lower case forms; `proxy_configured` asks urllib, which httpx itself asks).
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
             "http_proxy", "https_proxy", "all_proxy", "no_proxy")
ALLOW_HINT = "set SHELFSYNC_ALLOW_PRIVATE_URLS=1 only for fakes and staging hosts"


def _networks(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


#: Never an API host, whatever `ipaddress.is_global` says on this Python version
#: (IANA special-purpose registries, plus deprecated forms still routed by some stacks).
NON_PUBLIC_NETWORKS = _networks(
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, NAT64 discovery …), all of it
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/96",  # IPv4-compatible (`::127.0.0.1`), deprecated; also :: and ::1
    "::ffff:0:0/96",  # IPv4-mapped: a socket option away from the IPv4 host
    "::ffff:0:0:0/96",  # SIIT IPv4-translated
    "64:ff9b:1::/48",  # local-use NAT64: reaches whatever network its translator serves
    "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
    "fc00::/7", "fe80::/10",
    "fec0::/10",  # site-local, deprecated but still routed inside some networks
    "ff00::/8",
)
#: NAT64's well-known prefix: on a NAT64 network it reaches the IPv4 address in its low 32 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: Names that only ever mean this machine or its local network (RFC 6761, 6762, 8375, ICANN's
#: `.internal`).
LOCAL_NAMES = ("localhost",)
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")
#: A host made only of numbers (decimal, octal `0177`, hex `0x7f`) in one to four parts: what
#: inet_aton reads as an IPv4 address (`2130706433`, `127.1`, `0x7f.1` are all 127.0.0.1).
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and may reach: mapped, IPv4-compatible,
    SIIT, NAT64 (well-known prefix), 6to4, and both ends of Teredo."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    for prefix in ("::/96", "::ffff:0:0:0/96"):
        if address in ipaddress.ip_network(prefix):
            found.append(low32)
    if address in NAT64:
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_public_address(address: IPAddress) -> bool:
    """Whether `address` is a globally routable unicast address, and so is any IPv4 address
    it carries (`::ffff:10.0.0.1`, `64:ff9b::a00:1`, `2002:a00:1::` are private)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        if any(not is_public_address(inner) for inner in embedded_ipv4(address)):
            return False
    if address.is_multicast or any(address in net for net in NON_PUBLIC_NETWORKS
                                   if net.version == address.version):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64:
        return True  # the embedded IPv4 address, checked above, is what it reaches
    return address.is_global


def refused_host_name(host: str) -> str | None:
    """Why `host` is refused by its name alone (before any lookup), or None.

    Catches what a resolver would quietly turn into a loopback or LAN address: IPv4 written
    in decimal, octal or hex, and local-only names.
    """
    name = host.strip().rstrip(".").lower()
    if not name:
        return "an empty host name is refused"
    try:
        ipaddress.ip_address(name)
        return None  # a canonical address literal: the address check decides
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(name):
        return (f"{host!r} is an IPv4 address in a non-standard (decimal, octal or hex) "
                "form: refused as a non-public address")
    if name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES):
        return f"{host!r} is a local-only, non-public host name"
    return None


def public_addresses(host: str, port: int,
                     is_public: typing.Callable[[typing.Any], bool]) -> list[str]:
    """The addresses of `host`, in the resolver's order, if its name and every one of its
    addresses are public; BlockedAddress otherwise.

    All of them are checked, not just the one dialled first: a resolver may rotate them
    between calls, and a dual-stack host is tried address by address.
    """
    reason = refused_host_name(host)
    if reason is not None:
        raise BlockedAddress(f"{reason}: request refused ({ALLOW_HINT})")
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
                f"({ALLOW_HINT})"
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


def environment_proxies() -> dict[str, str | None]:
    """httpx's reading of the proxy environment: URL pattern -> proxy URL (None: go direct)."""
    try:
        from httpx._utils import get_environment_proxies
    except ImportError as exc:  # pragma: no cover - httpx moved it
        raise RuntimeError("this httpx version hides its proxy settings: the address guard "
                           "cannot honour a proxy") from exc
    return get_environment_proxies()


def proxy_configured() -> bool:
    """Whether httpx (trusting the environment) would send some request through a proxy;
    `NO_PROXY` alone names no proxy, `NO_PROXY=*` turns them all off."""
    return any(proxy is not None for proxy in environment_proxies().values())


def proxy_mounts(verify: ssl.SSLContext | bool | str) -> dict[str, httpx.BaseTransport | None]:
    """The environment's proxies as httpx mounts, as httpx builds them itself.

    httpx ignores the environment once a client is given its own transport (the guarded
    one), so the proxies are mounted explicitly; hosts `NO_PROXY` exempts map to None, which
    httpx sends through the client's own (guarded) transport.
    """
    return {
        pattern: None if proxy is None else httpx.HTTPTransport(verify=verify, proxy=proxy)
        for pattern, proxy in environment_proxies().items()
    }


def target_check(is_public: typing.Callable[[typing.Any], bool]
                 ) -> typing.Callable[[httpx.Request], None]:
    """An httpx request hook refusing a request whose host is not public, checked by name and
    by every address it resolves to, before the request goes anywhere (a proxy included)."""

    def check(request: httpx.Request) -> None:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            public_addresses(url.host, port, is_public)
        except httpcore.ConnectError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    return check


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
